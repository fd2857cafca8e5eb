"""``brainmri-core download`` against a real HTTP server on 127.0.0.1 (never the internet).

The server serves small archives in the published formats: a flat ``IXI-T1.tar`` of
``IXI<ID>-<Site>-<NNNN>-T1.nii.gz`` files plus ``IXI.xls`` (Excel 97), and
``Task04_Hippocampus.tar`` with its top folder, ``dataset.json`` and macOS ``._*`` files.
It honours ``Range`` (206 Partial Content); one variant cuts the connection mid-transfer,
another serves a corrupted archive.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from brainmri.core.datasets import load_dataset
from brainmri.core.testing import synthetic_dataset, write_nifti
from brainmri.core.testing.httpserver import LocalServer, refused_url

IXI_ROWS = [(12, 1, 35.5), (13, 2, 61.25), (14, 1, 48.0)]
IXI_NAMES = {12: "IXI012-HH-1211-T1.nii.gz", 13: "IXI013-HH-1212-T1.nii.gz", 14: "IXI014-HH-1236-T1.nii.gz"}


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _ixi_files(folder: Path) -> dict[str, bytes]:
    import xlwt

    rng = np.random.default_rng(0)
    scans = {}
    for name in IXI_NAMES.values():
        path = write_nifti(
            folder / name, rng.integers(0, 200, (10, 12, 9)).astype(np.uint8), np.diag([2.0, 2.0, 2.0, 1.0])
        )
        scans[name] = path.read_bytes()
    book = xlwt.Workbook()
    sheet = book.add_sheet("Table")
    for col, title in enumerate(["IXI_ID", "SEX_ID (1=m, 2=f)", "AGE"]):
        sheet.write(0, col, title)
    for row, values in enumerate(IXI_ROWS, start=1):
        for col, value in enumerate(values):
            sheet.write(row, col, value)
    book.save(str(folder / "IXI.xls"))
    return {"IXI-T1.tar": _tar(scans), "IXI.xls": (folder / "IXI.xls").read_bytes()}


def _msd_files(folder: Path) -> tuple[dict[str, bytes], dict]:
    manifest = synthetic_dataset(folder, "msd", subjects=3, seed=1)
    files = {
        f"Task04_Hippocampus/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "synth_manifest.json"
    }
    return {"Task04_Hippocampus.tar": _tar(files)}, manifest


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    ixi = _ixi_files(tmp_path_factory.mktemp("ixi-src"))
    msd, manifest = _msd_files(tmp_path_factory.mktemp("msd-src"))
    return {**ixi, **msd}, manifest


@pytest.fixture
def server(archives):
    with LocalServer(archives[0]) as srv:
        yield srv


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _download(dataset: str, dest: Path, server: LocalServer, *md5: str):
    args = [sys.executable, "-m", "brainmri.core.cli", "download", dataset, str(dest), "--base-url", server.url]
    for value in md5:
        args += ["--md5", value]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_ixi_download_is_read_by_the_ixi_reader(server, archives, tmp_path):
    dest = tmp_path / "IXI"
    result = _download("ixi", dest, server, f"IXI-T1.tar={_md5(archives[0]['IXI-T1.tar'])}")
    assert result.returncode == 0, result.stderr
    index = load_dataset("ixi", dest)
    got = {s.extra["ixi_id"]: (s.image.name, s.sex, s.age) for s in index.subjects}
    # the sheet's 1=m/2=f becomes 0 male / 1 female
    assert got == {i: (IXI_NAMES[i], sex - 1, age) for i, sex, age in IXI_ROWS}
    assert not list(tmp_path.glob(".*download*")), "staging folder left behind"


def test_msd_download_is_read_by_the_msd_reader(server, archives, tmp_path):
    dest = tmp_path / "Task04"
    result = _download(
        "msd-hippocampus", dest, server, f"Task04_Hippocampus.tar={_md5(archives[0]['Task04_Hippocampus.tar'])}"
    )
    assert result.returncode == 0, result.stderr
    assert (dest / "dataset.json").is_file()  # the top folder of the tar is the dataset root
    index = load_dataset("msd", dest)
    assert len(index.subjects) == archives[1]["expected"]["subjects"]
    assert all(s.label.is_file() for s in index.subjects)
    assert not list(dest.rglob("._*")), "macOS AppleDouble files extracted"
    requests = len(server.requests)
    again = _download("msd-hippocampus", dest, server)  # already there: nothing downloaded, no checksum needed
    assert again.returncode == 0 and len(server.requests) == requests, again.stderr


def test_interrupted_transfer_resumes_with_range(server, archives, tmp_path):
    dest = tmp_path / "Task04"
    tar = archives[0]["Task04_Hippocampus.tar"]
    cut = len(tar) // 3
    server.cut_after["Task04_Hippocampus.tar"] = cut
    checksum = f"Task04_Hippocampus.tar={_md5(tar)}"
    first = _download("msd-hippocampus", dest, server, checksum)
    assert first.returncode == 1
    lines = _error_lines(first.stderr)
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0], first.stderr
    assert not dest.exists(), "a half dataset is visible after an interrupted download"

    second = _download("msd-hippocampus", dest, server, checksum)
    assert second.returncode == 0, second.stderr
    ranges = [r for name, r in server.requests if name == "Task04_Hippocampus.tar"]
    assert ranges == [None, f"bytes={cut}-"]  # the second request asked only for the rest
    assert len(load_dataset("msd", dest).subjects) == archives[1]["expected"]["subjects"]


def test_corrupted_archive_is_one_line_and_leaves_nothing(server, archives, tmp_path):
    good = archives[0]["IXI-T1.tar"]
    server.files["IXI-T1.tar"] = good[:2000] + bytes([good[2000] ^ 0xFF]) + good[2001:]
    dest = tmp_path / "IXI"
    result = _download("ixi", dest, server, f"IXI-T1.tar={_md5(good)}")
    assert result.returncode == 1
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "md5 mismatch" in lines[0] and "IXI-T1.tar" in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "files left behind"


def test_published_checksum_is_checked_without_override(server, tmp_path):
    # The small test archive is not the published IXI-T1.tar: its published md5 must refuse it.
    result = _download("ixi", tmp_path / "IXI", server)
    assert result.returncode == 1
    assert "34901a0593b41dd19c1a1f746eac2d58" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_offline_is_one_line(tmp_path):
    args = ["download", "msd-hippocampus", str(tmp_path / "d"), "--base-url", refused_url()]
    result = subprocess.run(
        [sys.executable, "-m", "brainmri.core.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "cannot connect" in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []
