"""Scan I/O on real files: geometry read exactly, written back exactly, bad input refused in one line."""

from __future__ import annotations

import gzip
import os
import stat

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import ScanError, Volume, load_volume, save_volume
from brainmri.core.testing import real_scan, write_nifti


@pytest.mark.parametrize(
    "name, orientation, spacing, shape",
    [
        ("chris_t1.nii.gz", "RAS", (0.88, 0.88, 0.88), (188, 256, 190)),
        ("t1_lia.nii.gz", "LIA", (1.0, 1.0, 1.0), (256, 256, 256)),
        ("chris_pd.nii.gz", "RAS", (0.86, 0.86, 2.4), (191, 256, 54)),
    ],
)
def test_real_scans_read_with_their_geometry(name, orientation, spacing, shape):
    path = real_scan(name)
    vol = load_volume(path)
    ref = nib.load(str(path))
    assert vol.shape == shape
    assert vol.orientation == orientation
    np.testing.assert_allclose(vol.spacing, spacing, atol=0.01)
    np.testing.assert_array_equal(vol.affine, ref.affine)
    np.testing.assert_array_equal(vol.data, np.asanyarray(ref.dataobj))


def test_save_keeps_header_geometry_and_codes(tmp_path):
    path = real_scan("t1_lia.nii.gz")
    vol = load_volume(path)
    src = nib.load(str(path))
    out = save_volume((vol.data > 100).astype(np.uint8), tmp_path / "mask.nii.gz", like=vol)
    img = nib.load(str(out))
    np.testing.assert_array_equal(img.affine, src.affine)
    assert img.header.get_qform(coded=True)[1] == src.header.get_qform(coded=True)[1]
    assert img.header.get_sform(coded=True)[1] == src.header.get_sform(coded=True)[1]
    np.testing.assert_allclose(img.header.get_qform(), src.header.get_qform(), atol=1e-5)
    assert img.get_data_dtype() == np.uint8
    assert img.shape == vol.shape
    assert [p.name for p in tmp_path.iterdir()] == ["mask.nii.gz"]  # no temporary left behind
    mode = stat.S_IMODE(os.stat(out).st_mode)
    assert mode & stat.S_IROTH, "outputs are readable like any file the user writes"


def test_save_on_another_grid_uses_that_affine(tmp_path):
    vol = load_volume(real_scan("chris_t1.nii.gz"))
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    out = save_volume(np.zeros((4, 5, 6), np.float32), tmp_path / "x.nii.gz", affine=affine, like=vol)
    img = nib.load(str(out))
    np.testing.assert_array_equal(img.affine, affine)
    assert img.header.get_sform(coded=True)[1] == 1


def test_trailing_singleton_4d_is_squeezed(tmp_path):
    data = np.random.default_rng(0).random((5, 6, 7, 1)).astype(np.float32)
    vol = load_volume(write_nifti(tmp_path / "a.nii.gz", data))
    assert vol.shape == (5, 6, 7)
    np.testing.assert_array_equal(vol.data, data[..., 0])


def _write_raw_nifti(path, data, sform):
    """A NIfTI written byte by byte, so nibabel cannot tidy the broken header on the way out."""
    hdr = nib.Nifti1Header()
    hdr.set_data_shape(data.shape)
    hdr.set_data_dtype(data.dtype)
    hdr["vox_offset"] = 352
    hdr["qform_code"] = 0
    hdr["sform_code"] = 2
    hdr["srow_x"], hdr["srow_y"], hdr["srow_z"] = sform[0], sform[1], sform[2]
    with gzip.open(path, "wb") as fh:
        fh.write(hdr.binaryblock + b"\x00" * 4 + data.tobytes(order="F"))


def _bad_files(tmp_path):
    rng = np.random.default_rng(0)
    good = rng.random((6, 7, 8)).astype(np.float32)
    files = {}
    full = write_nifti(tmp_path / "good.nii.gz", good)
    raw = full.read_bytes()
    (tmp_path / "truncated.nii.gz").write_bytes(raw[: len(raw) // 2])
    files["truncated.nii.gz"] = "not a readable image|cannot be read"
    (tmp_path / "text.nii").write_text("this is not a NIfTI file\n" * 20)
    files["text.nii"] = "not a readable image"
    nan = good.copy()
    nan[1, 2, 3] = np.nan
    nan[2, 2, 2] = np.inf
    write_nifti(tmp_path / "nan.nii.gz", nan)
    files["nan.nii.gz"] = "2 NaN or Inf"
    write_nifti(tmp_path / "constant.nii.gz", np.full((6, 7, 8), 3, np.int16))
    files["constant.nii.gz"] = "constant"
    write_nifti(tmp_path / "four_d.nii.gz", rng.random((6, 7, 8, 3)).astype(np.float32))
    files["four_d.nii.gz"] = "4D"
    write_nifti(tmp_path / "two_d.nii.gz", rng.random((6, 7)).astype(np.float32))
    files["two_d.nii.gz"] = "2D"
    singular = np.eye(4)
    singular[:3, :3] = [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    _write_raw_nifti(tmp_path / "singular.nii.gz", good, sform=singular)
    files["singular.nii.gz"] = "singular|zero voxel size"
    img = nib.Nifti1Image(good, np.eye(4))
    img.header["pixdim"][2] = 0.0
    img.set_sform(None, code=0)
    img.header.set_qform(None, code=0)
    nib.save(img, str(tmp_path / "zero_voxel.nii.gz"))
    files["zero_voxel.nii.gz"] = "zero|singular"
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((4000, 4000, 4000))
    hdr.set_data_dtype(np.float32)
    with gzip.open(tmp_path / "huge.nii.gz", "wb") as fh:
        fh.write(hdr.binaryblock + b"\x00" * 4 + b"\x00" * 1000)
    files["huge.nii.gz"] = "more than"
    return files


def test_bad_input_gives_one_line_naming_the_file(tmp_path):
    for name, problem in _bad_files(tmp_path).items():
        path = tmp_path / name
        before = path.read_bytes()
        with pytest.raises(ScanError) as info:
            load_volume(path)
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(str(path)), message
        assert any(p in message for p in problem.split("|")), (name, message)
        assert path.read_bytes() == before, "inputs are never modified"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScanError, match="not found"):
        load_volume(tmp_path / "nope.nii.gz")
    with pytest.raises(ScanError, match="folder"):
        load_volume(tmp_path)


def test_mgz_is_read_with_its_affine(tmp_path):
    data = np.random.default_rng(1).random((8, 9, 10)).astype(np.float32)
    affine = np.array([[-1.0, 0, 0, 10], [0, 0, 1, -5], [0, -1, 0, 7], [0, 0, 0, 1]])
    nib.save(nib.MGHImage(data, affine), str(tmp_path / "a.mgz"))
    vol = load_volume(tmp_path / "a.mgz")
    np.testing.assert_allclose(vol.affine, affine, atol=1e-6)
    assert vol.orientation == "LIA"
    assert isinstance(vol, Volume)
