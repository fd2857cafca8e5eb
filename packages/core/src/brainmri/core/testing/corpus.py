"""A corpus of bad input, written by code: broken scans, broken labels, broken dataset folders.

:func:`write_bad_input_corpus` fills a folder with one file (or folder) per way input goes
wrong in practice, plus a few good scans that must keep working beside them (one in a
non-ASCII path, one in a path with spaces). Every command's tests run over it and check
the contract of ``docs/reliability.md``: one ``error: <path>: <problem>`` line per bad
input, ``--on-error skip`` finishes the good ones, no half-written outputs, inputs untouched.

Layout under the folder::

    scans/                    every scan case (good and bad), flat, plus two sub-folders:
      données_été/            ... the non-ASCII good scan
      with spaces/            ... the good scan whose path has spaces
    pair/                     a good scan and masks/ with its brain mask on another grid
    ixi_missing_column/       IXI-T1/ scans and an IXI.csv without SEX_ID
    harp_label_no_image/      HarP: good subjects + a label pair whose subject has no scan
    harp_two_images/          HarP: good subjects + a subject with two scans of one image id
    harp_bad_labels/          HarP: good subjects + a label with unexpected values and a
                              label on another grid than its scan
    empty/                    nothing
"""

from __future__ import annotations

import gzip
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import (
    case_argument,
    check_clean_outputs,
    check_reported,
    digests,
    error_lines,
    partial_files,
    permission_prefix,
    reading_is_blocked,
    sweep,
)

#: Voxel size (mm) and field of view (mm) of the corpus' good scans: small, head-like phantoms.
GOOD_SPACING = 4.0
GOOD_FOV_MM = (150.0, 180.0, 150.0)

#: Names of the good scans in ``scans/`` (relative paths).
GOOD_SCANS = {
    "good": "good.nii.gz",
    "non_ascii_path": "données_été/süjet_ñandú.nii.gz",
    "path_with_spaces": "with spaces/scan with spaces.nii.gz",
}


@dataclass(frozen=True)
class Case:
    """One entry of the corpus.

    Attributes:
        path: The file or folder.
        problem: A short phrase the one-line error must contain; None for a good scan,
            which must work.
        kind: What it is: ``scan`` (given as a scan), ``mask`` (a brain mask beside its scan),
            ``label`` (a reference label in a HarP folder), ``dataset`` (a dataset folder) or
            ``folder`` (a folder given where scans are expected).
        skip: Why this case could not be made here (then ``path`` does not exist), else None.
        about: For ``mask``/``label``/``dataset`` cases, the scan or folder it belongs to.
    """

    path: Path
    problem: str | None
    kind: str = "scan"
    skip: str | None = None
    about: Path | None = None

    @property
    def good(self) -> bool:
        """A good input that must keep working beside the bad ones."""
        return self.problem is None


def _phantom(seed: int, sex: int = 0, age: float = 40.0):
    from ..synth.phantom import make_phantom

    return make_phantom(sex, age, seed=seed, spacing=GOOD_SPACING, orientation="RAS", fov_mm=GOOD_FOV_MM)


def _save(volume_or_data, path: Path, affine=None) -> Path:
    from ..io import save_volume

    path.parent.mkdir(parents=True, exist_ok=True)
    return save_volume(volume_or_data, path, affine=affine)


def _raw_nifti(path: Path, data: np.ndarray, *, pixdim=(1.0, 1.0, 1.0), sform=None, header=None) -> Path:
    """A NIfTI written byte by byte, so nibabel cannot tidy a broken header on the way out."""
    import nibabel as nib

    hdr = header if header is not None else nib.Nifti1Header()
    hdr.set_data_shape(data.shape)
    hdr.set_data_dtype(data.dtype)
    hdr["pixdim"][1:4] = pixdim
    hdr["qform_code"] = 0
    hdr["sform_code"] = 0 if sform is None else 2
    if sform is not None:
        hdr["srow_x"], hdr["srow_y"], hdr["srow_z"] = sform[0], sform[1], sform[2]
    hdr["vox_offset"] = len(hdr.binaryblock) + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        fh.write(hdr.binaryblock + b"\x00" * 4 + np.asarray(data).tobytes(order="F"))
    return path


def _bad_scans(scans: Path, good) -> dict[str, Case]:
    """The broken scan files, made from the good phantom ``good``."""
    import nibabel as nib

    data = np.asarray(good.data)
    cases: dict[str, Case] = {}

    def case(name, path, problem):
        cases[name] = Case(Path(path), problem)

    full = _save(good, scans / "truncated.nii.gz")
    raw = full.read_bytes()
    full.write_bytes(raw[: len(raw) // 2])
    case("truncated", full, "voxel data cannot be read")

    text = scans / "not_nifti.nii.gz"
    text.write_text("This is a text file, not a NIfTI image.\n" * 40, encoding="utf-8")
    case("not_nifti", text, "not a readable image")

    case("zero_voxel_size", _raw_nifti(scans / "zero_voxel_size.nii.gz", data, pixdim=(4.0, 0.0, 4.0)),
         "zero or negative")
    case("negative_voxel_size",
         _raw_nifti(scans / "negative_voxel_size.nii.gz", data, pixdim=(4.0, -4.0, 4.0)), "zero or negative")
    singular = np.diag([4.0, 4.0, 4.0, 1.0])
    singular[:3, 1] = singular[:3, 0]  # voxel axis j runs along axis i: no inverse
    case("singular_affine",
         _raw_nifti(scans / "singular_affine.nii.gz", data, pixdim=(4.0, 4.0, 4.0), sform=singular), "singular")

    nan = data.astype(np.float32)
    nan[5:7, 5:7, 5:7] = np.nan
    case("nan_voxels", _save(nan, scans / "nan_voxels.nii.gz", affine=good.affine), "NaN or Inf")
    inf = data.astype(np.float32)
    inf[3, 4, 5] = np.inf
    inf[6, 7, 8] = -np.inf
    case("inf_voxels", _save(inf, scans / "inf_voxels.nii.gz", affine=good.affine), "NaN or Inf")
    case("constant", _save(np.full(data.shape, 100, np.int16), scans / "constant.nii.gz", affine=good.affine),
         "constant")

    four = np.stack([data + k for k in range(4)], axis=-1).astype(np.int16)  # a real 4D series
    path = scans / "four_d.nii.gz"
    nib.save(nib.Nifti1Image(four, good.affine), str(path))
    case("four_d", path, "4D")
    path = scans / "two_d.nii.gz"
    nib.save(nib.Nifti1Image(data[:, :, data.shape[2] // 2].copy(), good.affine), str(path))
    case("two_d", path, "2D")

    # 40000^3 float32 voxels (256 TB) declared in a NIfTI-2 header over 1 kB of data.
    hdr = nib.Nifti2Header()
    hdr.set_data_shape((40000, 40000, 40000))
    hdr.set_data_dtype(np.float32)
    hdr["pixdim"][1:4] = 1.0
    hdr["vox_offset"] = len(hdr.binaryblock) + 4
    path = scans / "enormous_dimensions.nii.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(hdr.binaryblock + b"\x00" * 4 + b"\x00" * 1024)
    case("enormous_dimensions", path, "more than")

    path = scans / "unreadable.nii.gz"
    _save(good, path)
    os.chmod(path, 0)
    if reading_is_blocked(path):  # for commands run with permission_prefix(), root included
        case("unreadable", path, "permission denied")
    else:  # root without setpriv (or a file system without permissions) reads it anyway
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
        cases["unreadable"] = Case(path, "permission denied", skip=(
            f"chmod 000 does not block reading here (uid {os.geteuid()}, no setpriv to drop the capability "
            "to read any file), so an unreadable file cannot be made"))
    return cases


def _harp(root: Path, subjects: list[tuple[str, int]], seed: int, split_of=None) -> dict[str, dict]:
    """A small HarP folder: one phantom scan and its _L/_R labels per (subject id, image id)."""
    from ..volume import Volume

    out = {}
    for n, (sid, image_id) in enumerate(subjects):
        ph = _phantom(seed + n, sex=n % 2, age=30.0 + 10 * n)
        image = _save(ph.image, root / "ADNI" / sid / "MPRAGE" / f"S{image_id}" / f"ADNI_{sid}_MR_I{image_id}.nii.gz")
        split = (split_of or (lambda k: "test" if k == len(subjects) - 1 else "train"))(n)
        folder = root / ("Labels_35_NIFTI" if split == "test" else "Labels_100_NIFTI")
        labels = {}
        for side, value in (("L", 1), ("R", 2)):
            part = Volume((ph.hippocampus.data == value).astype(np.uint8), ph.image.affine)
            labels[side] = _save(part, folder / f"ADNI_{sid}_{image_id}_{side}.nii.gz")
        out[sid] = {"image": image, "image_id": image_id, "labels": labels, "phantom": ph, "split": split}
    return out


_HARP_GOOD = [("002_S_0101", 101001), ("005_S_0202", 202002), ("007_S_0303", 303003)]


def write_bad_input_corpus(folder: str | os.PathLike) -> dict[str, Case]:
    """Write the bad-input corpus (and its good scans) into ``folder``.

    Args:
        folder: An empty or new folder.

    Returns:
        ``{case name: Case}``: each case's path, the phrase its error must contain (None for
        good scans) and its kind. Cases that cannot be made on this machine (an unreadable
        file when running as root) carry ``skip`` with the reason.
    """
    from ..volume import Volume

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    scans = root / "scans"
    cases: dict[str, Case] = {}

    good = _phantom(1).image
    for n, (name, rel) in enumerate(GOOD_SCANS.items()):
        volume = good if n == 0 else _phantom(1 + n, sex=n % 2, age=40.0 + 10 * n).image
        cases[name] = Case(_save(volume, scans / rel), None)
    cases.update(_bad_scans(scans, good))

    # A good scan whose brain mask lies on another grid (one voxel less along z).
    pair_scan = _save(_phantom(7).image, root / "pair" / "mask_elsewhere.nii.gz")
    ph = _phantom(7)
    mask = Volume(ph.brain_mask.data[:, :, :-1].copy(), ph.brain_mask.affine)
    mask_path = _save(mask, root / "pair" / "masks" / "mask_elsewhere_mask.nii.gz")
    cases["mask_on_another_grid"] = Case(mask_path, "does not match the image", kind="mask", about=pair_scan)

    # IXI: scans and a sheet without the SEX_ID column.
    ixi = root / "ixi_missing_column"
    for n, sid in enumerate((12, 13)):
        _save(_phantom(20 + n).image, ixi / "IXI-T1" / f"IXI{sid:03d}-Guys-{1000 + sid}-T1.nii.gz")
    (ixi / "IXI.csv").write_text("IXI_ID,AGE\n12,31.5\n13,44.0\n", encoding="utf-8")
    cases["ixi_missing_column"] = Case(ixi / "IXI.csv", "missing required column", kind="dataset", about=ixi)

    # HarP: a label pair whose subject has no scan.
    harp = root / "harp_label_no_image"
    made = _harp(harp, _HARP_GOOD, seed=30)
    lonely = made["002_S_0101"]["labels"]
    for side, src in lonely.items():
        target = harp / "Labels_100_NIFTI" / f"ADNI_099_S_0999_909009_{side}.nii.gz"
        target.write_bytes(src.read_bytes())
    cases["harp_label_without_image"] = Case(harp / "Labels_100_NIFTI" / "ADNI_099_S_0999_909009_L.nii.gz",
                                             "label has no scan", kind="dataset", about=harp)

    # HarP: two scans of one subject, both named with the labelled image id.
    harp = root / "harp_two_images"
    made = _harp(harp, _HARP_GOOD, seed=40)
    first = made["005_S_0202"]["image"]
    second = harp / "ADNI" / "005_S_0202" / "MPRAGE_repeat" / "S202002" / first.name.replace(".nii.gz", ".nii")
    second.parent.mkdir(parents=True)
    import nibabel as nib

    nib.save(nib.load(str(first)), str(second))
    cases["harp_two_images"] = Case(second, "2 scans in ADNI/005_S_0202", kind="dataset", about=harp)

    # HarP: a left label with values other than 0/1, and a right label on another grid than its scan.
    harp = root / "harp_bad_labels"
    made = _harp(harp, [*_HARP_GOOD, ("011_S_0404", 404004), ("013_S_0505", 505005)], seed=50,
                 split_of=lambda k: "test")
    left = made["011_S_0404"]["labels"]["L"]
    values = nib.load(str(left)).get_fdata().astype(np.uint8)
    values[values > 0] = 1
    values[::3, ::4, ::5] += 5  # a scatter of 5s and 6s
    _save(Volume(values, made["011_S_0404"]["phantom"].image.affine), left)
    cases["label_unexpected_values"] = Case(left, "distinct values", kind="label",
                                            about=made["011_S_0404"]["image"])
    right = made["013_S_0505"]["labels"]["R"]
    ph = made["013_S_0505"]["phantom"]
    shifted = ph.image.affine.copy()
    shifted[:3, 3] += 8.0
    _save(Volume((ph.hippocampus.data == 2).astype(np.uint8), shifted), right)
    cases["label_mismatched_geometry"] = Case(right, "does not match", kind="label",
                                              about=made["013_S_0505"]["image"])

    empty = root / "empty"
    empty.mkdir()
    cases["empty_folder"] = Case(empty, "no scan files", kind="folder")
    return cases


def harp_reference(root: str | os.PathLike, subject_id: str) -> Path:
    """The scan of ``subject_id`` in a corpus HarP folder."""
    return next((Path(root) / "ADNI" / subject_id).rglob("*.nii.gz"))


def scan_cases(cases: dict[str, Case], *, good: bool | None = None) -> dict[str, Case]:
    """The ``scan`` cases that exist here (``good=True``/``False``: only good/bad ones)."""
    return {k: c for k, c in cases.items()
            if c.kind == "scan" and c.skip is None and (good is None or c.good == good)}


def with_mask_folder(cases: dict[str, Case], folder: str | os.PathLike) -> dict[str, Case]:
    """Cases for a brain-only model given ``--mask-dir folder``: write the masks there.

    Writes ``<stem>_mask.nii.gz`` (the head: voxels above the scan's minimum) for every good
    scan and a copy of the corpus' mask on another grid; returns the scan cases plus that
    ``mask_on_another_grid`` case, pointing at its copy.
    """
    from ..io import load_volume, scan_stem
    from ..volume import Volume

    folder = Path(folder)
    out = scan_cases(cases)
    for case in out.values():
        if case.good:
            scan = load_volume(case.path)
            _save(Volume((scan.data > scan.data.min()).astype(np.uint8), scan.affine),
                  folder / f"{scan_stem(case.path)}_mask.nii.gz")
    mask = cases["mask_on_another_grid"]
    (folder / mask.path.name).write_bytes(mask.path.read_bytes())
    out["mask_on_another_grid"] = Case(folder / mask.path.name, mask.problem, mask.kind, about=mask.about)
    return out


__all__ = [
    "GOOD_SCANS",
    "Case",
    "case_argument",
    "check_clean_outputs",
    "check_reported",
    "digests",
    "error_lines",
    "harp_reference",
    "partial_files",
    "permission_prefix",
    "scan_cases",
    "sweep",
    "with_mask_folder",
    "write_bad_input_corpus",
]
