"""Decode-once caching: RAM bound, disk entries, invalidation by mtime, no pickles, no half entries."""

from __future__ import annotations

import os

import numpy as np

from brainmri.core.cache import ScanCache
from brainmri.core.loading import SubjectDataset, make_loader
from brainmri.core.testing import blob_volume, write_nifti


def _scans(tmp_path, n=3, shape=(20, 22, 24)):
    paths = []
    for i in range(n):
        vol = blob_volume(shape, seed=i)
        paths.append(write_nifti(tmp_path / f"s{i}.nii.gz", vol.data, vol.affine))
    return paths


def test_decodes_once_and_again_after_the_file_changes(tmp_path):
    (path,) = _scans(tmp_path, 1)
    cache = ScanCache()
    first = cache.load(path)
    again = cache.load(path)
    assert cache.stats.decodes == 1 and cache.stats.ram_hits == 1
    np.testing.assert_array_equal(first.data, again.data)
    data = np.full((20, 22, 24), 7, np.float32)
    data[0, 0, 0] = 9
    write_nifti(path, data, first.affine)
    os.utime(path, ns=(1, 10**18))  # a different mtime even on coarse clocks
    assert cache.load(path).data.max() == 9
    assert cache.stats.decodes == 2


def test_ram_cache_stays_within_its_bound(tmp_path):
    paths = _scans(tmp_path, 5)
    one = 20 * 22 * 24 * 4
    cache = ScanCache(ram_bytes=2 * one + 10)
    for p in paths + paths:
        cache.load(p)
        assert cache.ram_used <= 2 * one + 10
    assert cache.stats.decodes == 10  # LRU of two cannot hold a cycle of five


def test_disk_cache_serves_another_process_without_decoding(tmp_path):
    paths = _scans(tmp_path / "scans", 2)
    disk = tmp_path / "cache"
    ScanCache(ram_bytes=0, disk_dir=disk).load(paths[0])
    fresh = ScanCache(ram_bytes=0, disk_dir=disk)
    vol = fresh.load(paths[0])
    assert fresh.stats.disk_hits == 1 and fresh.stats.decodes == 0
    assert isinstance(vol.data, np.memmap)
    files = sorted(p.suffix for p in disk.iterdir())
    assert files == [".json", ".npy"]
    raw = np.load(next(disk.glob("*.npy")), allow_pickle=False)  # plain arrays, never pickles
    assert raw.dtype != object


def test_a_half_written_disk_entry_is_ignored(tmp_path):
    (path,) = _scans(tmp_path / "scans", 1)
    disk = tmp_path / "cache"
    ScanCache(ram_bytes=0, disk_dir=disk).load(path)
    sidecar = next(disk.glob("*.json"))
    sidecar.unlink()  # as if killed between the array and its sidecar
    cache = ScanCache(ram_bytes=0, disk_dir=disk)
    cache.load(path)
    assert cache.stats.decodes == 1
    npy = next(disk.glob("*.npy"))
    npy.write_bytes(npy.read_bytes()[:100])  # truncated array
    cache = ScanCache(ram_bytes=0, disk_dir=disk)
    vol = cache.load(path)
    assert cache.stats.decodes == 1 and vol.data.shape == (20, 22, 24)


def test_disk_cache_bound_evicts_old_entries(tmp_path):
    paths = _scans(tmp_path / "scans", 4)
    disk = tmp_path / "cache"
    one = 20 * 22 * 24 * 4 + 128
    cache = ScanCache(ram_bytes=0, disk_dir=disk, disk_bytes=2 * one)
    for p in paths:
        cache.load(p)
    assert sum(f.stat().st_size for f in disk.glob("*.npy")) <= 2 * one
    assert len(list(disk.glob("*.json"))) == len(list(disk.glob("*.npy")))


def test_loader_batches_samples_of_different_shapes(tmp_path):
    from brainmri.core.datasets import Subject

    paths = _scans(tmp_path, 2) + [write_nifti(tmp_path / "big.nii.gz", blob_volume((30, 31, 32)).data)]
    subjects = [Subject(f"s{i}", p, sex=i % 2, age=30.0 + i) for i, p in enumerate(paths)]
    loader = make_loader(SubjectDataset(subjects), batch_size=3)
    batch = next(iter(loader))
    assert [s.shape for s in batch["samples"]] == [(20, 22, 24), (20, 22, 24), (30, 31, 32)]
    assert batch["targets"]["sex"].tolist() == [0, 1, 0]
    assert batch["targets"]["age"].tolist() == [30.0, 31.0, 32.0]
