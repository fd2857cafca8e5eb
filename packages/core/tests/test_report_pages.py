"""QC pages in a real browser (headless Chromium, network off) and their mosaics checked from pixels.

The page-level test builds a page from known rows; the command tests (skullstrip, segment
predict, explain gradcam) load the pages their batches write. The mosaic test reads the PNG a
skull-strip page shows: a marker at the patient's left must appear on the side of the panel
whose letter is L, for scans stored in any orientation.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PIL import Image

from brainmri.core.orientation import reorient
from brainmri.core.plotting import overlay_png
from brainmri.core.report import Column, Row, write_batch_page
from brainmri.core.testing.browser import MISSING, Browser, find_chromium, marker_runs, read_batch_page
from brainmri.core.volume import Volume

needs_chromium = pytest.mark.skipif(find_chromium() is None, reason=MISSING)


def _picture(path, colour) -> None:
    Image.new("RGB", (400, 40), colour).save(path)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """25 scans, 5 flagged, 10 per page, a picture each; ``b``-numbers descending with the name."""
    root = tmp_path_factory.mktemp("page")
    (root / "report_files").mkdir()
    rows = []
    for i in range(25):
        picture = root / "report_files" / f"s{i:02d}.png"
        _picture(picture, (i * 10, 0, 0))
        rows.append(
            Row(
                f"s{i:02d}.nii.gz",
                f"/data/s{i:02d}.nii.gz",
                {"a": i * 1.25, "b": 100.0 - i, "t": "yes" if i % 2 else "no"},
                ["asymmetry"] if i % 5 == 3 else [],
                picture,
            )
        )
    rows[0].values["a"] = float("nan")  # blank, sorted last
    rows[23].flags = ["asymmetry", "</script><!-- not markup"]  # text, whatever it holds
    columns = [Column("a", "a", digits=2), Column("b", "b", digits=0), Column("t", "t", kind="text")]
    return write_batch_page(
        root / "report.html", "Test QC", columns, rows, note="a </script> in a note", page_size=10
    ), rows


@needs_chromium
def test_page_sorts_flagged_first_filters_pages_and_exports_ratings(page):
    path, rows = page
    html = path.read_text()
    assert "http://" not in html and "https://" not in html
    seen = read_batch_page(path, {"s04.nii.gz": ("bad", 'motion, "ghosts"'), "s13.nii.gz": ("good", "")})
    assert seen["errors"] == [] and seen["remote"] == [] and seen["pictures_loaded"]
    flagged = [r.scan for r in rows if r.flags]
    assert [r["scan"] for r in seen["rows"]][:5] == flagged  # flagged first, then by name
    assert len(seen["rows"]) == 10 and seen["markers"] == ["flagged"] * 5 + ["ok"] * 5
    by_scan = {r.scan: r for r in rows}
    for shown in seen["rows"]:
        expected = by_scan[shown["scan"]].values
        assert shown["cells"]["b"] == f"{expected['b']:.0f}" and shown["cells"]["t"] == expected["t"]
    exported = list(csv.DictReader(io.StringIO(seen["exported"])))
    assert [(r["scan"], r["rating"], r["comment"]) for r in exported] == [
        ("s13.nii.gz", "good", ""),
        ("s04.nii.gz", "bad", 'motion, "ghosts"'),
    ]  # s13 is flagged: first
    assert exported[0]["flags"] == "asymmetry" and exported[1]["file"] == "/data/s04.nii.gz"


@needs_chromium
def test_sorting_a_column_keeps_flagged_first_and_filtering_narrows(page):
    path, rows = page
    with Browser(1200, 900) as browser:
        tab = browser.open(path, ready="document.body.dataset.ready")
        names = "[...document.querySelectorAll('#rows tr')].map(tr => tr.dataset.scan)"
        tab.evaluate("document.querySelector('th[data-col=\"0\"]').click()")  # a ascending
        tab.evaluate("document.querySelector('th[data-col=\"0\"]').click()")  # a descending
        shown = tab.evaluate(names)
        flags = tab.evaluate("document.querySelector('tr[data-scan=\"s23.nii.gz\"] .flags').textContent")
        assert flags == "asymmetry, </script><!-- not markup"
        assert shown[:5] == ["s23.nii.gz", "s18.nii.gz", "s13.nii.gz", "s08.nii.gz", "s03.nii.gz"]
        assert shown[5:] == [f"s{i:02d}.nii.gz" for i in (24, 22, 21, 20, 19)]
        tab.evaluate("document.getElementById('next').click(); document.getElementById('next').click()")
        last = tab.evaluate(names)
        assert last[-1] == "s00.nii.gz" and len(last) == 5  # NaN is blank and sorts last; 25 = 10 + 10 + 5
        tab.evaluate("const f = document.getElementById('filter'); f.value = 's1'; f.dispatchEvent(new Event('input'))")
        assert sorted(tab.evaluate(names)) == [f"s{i}.nii.gz" for i in range(10, 20)]
        tab.evaluate(
            "const o = document.getElementById('flagged-only'); o.checked = true; o.dispatchEvent(new Event('change'))"
        )
        assert tab.evaluate(names) == ["s18.nii.gz", "s13.nii.gz"]
        assert marker_runs(tab.screenshot(), 20) == ["flagged", "flagged"]
        assert tab.errors == []


def _head_with_left_marker() -> tuple[Volume, np.ndarray]:
    """A 2 mm RAS head (ellipsoid) with a marker at world x = -35 mm: the patient's left."""
    shape = (64, 72, 60)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -2.0 * (np.asarray(shape) - 1) / 2.0
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1)
    world = grid @ affine[:3, :3].T + affine[:3, 3]
    head = ((world / np.array([55.0, 65.0, 50.0])) ** 2).sum(-1) < 1
    marker = np.linalg.norm(world - np.array([-35.0, 10.0, 5.0]), axis=-1) < 8
    return Volume(np.where(head, 60.0, 0.0).astype(np.float32), affine), marker.astype(np.uint8)


def _panels(pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes ``(top, bottom, left, right)`` of the image panels of an orthoview PNG, left to right."""
    dark = pixels.max(axis=-1) < 200  # the scan's background is black; the figure is white
    columns = np.flatnonzero(dark.sum(axis=0) > 20)
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 20) + 1)  # panels lie 50+ pixels apart
    boxes = []
    for run in runs:
        rows = np.flatnonzero(dark[:, run].sum(axis=1) > 0.3 * len(run))
        boxes.append((int(rows[0]), int(rows[-1]), int(run[0]), int(run[-1])))
    assert len(boxes) == 3, f"found {len(boxes)} panels"
    return boxes


def _ink(pixels: np.ndarray) -> int:
    """White pixels: the letters (white on a dark box, in the black margin)."""
    return int((pixels.min(axis=-1) > 230).sum())


def _mask_colour(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the mask's outline colour (``plotting.PALETTE["mask"]``)."""
    from brainmri.core.plotting import PALETTE

    target = np.array([int(PALETTE["mask"][i : i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(pixels.astype(int) - target) < 40).all(axis=-1)


@pytest.mark.parametrize("orientation", ["LAS", "PIL"])
def test_mosaic_shows_a_left_marker_on_the_side_lettered_l(tmp_path, orientation):
    volume, marker = _head_with_left_marker()
    stored = reorient(volume, orientation)
    stored_marker = reorient(volume.with_data(marker), orientation).data
    pixels = np.asarray(Image.open(overlay_png(stored, stored_marker, tmp_path / "m.png")).convert("RGB"))
    red = _mask_colour(pixels)
    for name, (top, bottom, left, right) in zip(("axial", "coronal", "sagittal"), _panels(pixels)):
        panel_red = np.argwhere(red[top : bottom + 1, left : right + 1])
        assert len(panel_red) > 20, f"{name}: the marker is not in the slice"
        if name == "sagittal":
            continue
        height, width = bottom - top + 1, right - left + 1
        middle = slice(top + height // 3, top + 2 * height // 3)
        edge = 14  # the letters sit in the black margin, inside the panel edge; the head does not reach it
        left_letter = _ink(pixels[middle, left : left + edge])
        right_letter = _ink(pixels[middle, right - edge + 1 : right + 1])
        assert left_letter > 0 and right_letter > 0, f"{name}: letters not found"
        marker_side = "left" if panel_red[:, 1].mean() < width / 2 else "right"
        l_side = "left" if left_letter < right_letter else "right"  # "L" has less ink than "R"
        assert marker_side == l_side, f"{name} ({orientation}): marker on the {marker_side}, L on the {l_side}"


@needs_chromium
def test_viewer_opens_a_scan_with_its_overlay_from_disk_without_network(tmp_path):
    from brainmri.core.report import scan_files
    from brainmri.core.report.viewer import write_viewer_data

    volume, marker = _head_with_left_marker()
    stored = reorient(volume, "PIL")
    folder = tmp_path / "report_files"
    write_viewer_data(folder, "head.nii.gz", stored, reorient(volume.with_data(marker), "PIL").data, "mask")
    overlay_png(stored, reorient(volume.with_data(marker), "PIL").data, folder / "head.png")
    row = Row("head.nii.gz", "head.nii.gz", {"x": 1.0}, [], **scan_files(folder, "head.nii.gz"))
    page = write_batch_page(tmp_path / "report.html", "Viewer", [Column("x", "x")], [row])
    assert (folder / "niivue.umd.js").is_file() and "BSD" in (folder / "LICENSE").read_text()
    assert "https://" not in page.read_text() and "http://" not in page.read_text()
    with Browser(900, 700) as browser:
        tab = browser.open(page, ready="document.body.dataset.ready")
        tab.evaluate("document.querySelector('a.viewer-link').click()")
        tab.wait_for("document.getElementById('viewer').dataset.loaded === 'head.nii.gz'", timeout=60)
        dims = tab.evaluate("window.brainmriViewer.niivue.volumes.map(v => [...v.hdr.dims.slice(1, 4)])")
        assert stored.shape == (72, 60, 64) and dims == [[64, 72, 60]] * 2  # RAS order (exact), 2 mm kept
        shot = tab.screenshot()
        assert tab.errors == []
        assert all(u.startswith(("file:", "data:")) for u in tab.requests)
    red = (shot[..., 0] > 150) & (shot[..., 1] < 100) & (shot[..., 2] < 100)
    grey = (np.abs(shot[..., 0].astype(int) - shot[..., 1]) < 8) & (shot[..., 0] > 100)
    assert red.sum() > 100 and grey.sum() > 1000  # the overlay over the head, drawn by WebGL


@needs_chromium
def test_a_page_of_1000_scans_shows_one_page_of_rows_with_lazy_pictures(tmp_path):
    picture = tmp_path / "report_files" / "one.png"
    picture.parent.mkdir()
    _picture(picture, (90, 90, 90))
    rows = [
        Row(
            f"scan{i:04d}.nii.gz",
            f"/data/scan{i:04d}.nii.gz",
            {"a": float(i)},
            ["volume"] if i % 97 == 0 else [],
            picture,
        )
        for i in range(1000)
    ]
    page = write_batch_page(tmp_path / "report.html", "Big", [Column("a", "a", digits=0)], rows)
    with Browser(1200, 900) as browser:
        tab = browser.open(page, ready="document.body.dataset.ready")
        assert tab.evaluate("document.querySelectorAll('#rows tr').length") == 50
        assert tab.evaluate("document.getElementById('page').textContent") == "page 1 of 20 (1000 of 1000 scans)"
        assert tab.evaluate("[...document.images].every(i => i.loading === 'lazy')")
        assert tab.evaluate("document.querySelectorAll('#rows tr.flagged').length") == 11  # 0, 97, ..., 970 first
        tab.evaluate(
            "document.getElementById('filter').value = 'scan0999'; "
            "document.getElementById('filter').dispatchEvent(new Event('input'))"
        )
        assert tab.evaluate("[...document.querySelectorAll('#rows tr')].map(tr => tr.dataset.scan)") == [
            "scan0999.nii.gz"
        ]
        assert tab.errors == [] and tab.remote == []
