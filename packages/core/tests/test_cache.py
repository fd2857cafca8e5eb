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



def test_loader_memory_is_bounded_by_its_cache_not_the_dataset(tmp_path):
    """Two epochs over ten 1 MB scans through the loader: with a cache of two scans the arrays
    held afterwards stay within the cache bound; an unbounded cache holds the whole dataset."""
    import gc
    import tracemalloc

    from brainmri.core.datasets import Subject

    shape = (64, 64, 64)
    paths = _scans(tmp_path, 10, shape)
    subjects = [Subject(f"s{i}", p, sex=i % 2, age=30.0 + i) for i, p in enumerate(paths)]
    one = int(np.prod(shape)) * 4
    held = {}
    for name, bound in (("bounded", 2 * one + 1000), ("unbounded", 100 * one)):
        cache = ScanCache(ram_bytes=bound)
        loader = make_loader(SubjectDataset(subjects, cache=cache), batch_size=2, shuffle=True)
        gc.collect()
        tracemalloc.start()
        for _ in range(2):
            for batch in loader:
                assert len(batch["samples"]) == 2
            del batch
        gc.collect()
        held[name] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert cache.ram_used <= bound
    assert held["bounded"] <= 2 * one + one // 2, held  # the cache's two scans and change
    assert held["unbounded"] >= 9 * one, held  # the measure sees a dataset-sized cache


_FILL = """
import sys
from brainmri.core.cache import ScanCache
cache = ScanCache(ram_bytes=0, disk_dir=sys.argv[1], disk_bytes=int(sys.argv[2]))
while True:  # until killed: decode, write, evict, again (the files' mtimes change between rounds)
    for path in sys.argv[3:]:
        cache.load(path)
        print(path, flush=True)
"""


def test_sigkill_during_cache_writes_leaves_a_consistent_cache(tmp_path):
    """A writer SIGKILLed mid-write, three times: every committed entry is exact, leftovers are
    ignored by readers and removed by the next cache, and the bound still holds after it."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from brainmri.core.io import load_volume

    shape = (96, 96, 96)  # 3.5 MB arrays: a write takes long enough to be caught in the middle
    paths = _scans(tmp_path / "scans", 6, shape)
    disk = tmp_path / "cache"
    one = int(np.prod(shape)) * 4 + 128
    bound = 3 * one
    caught_mid_write = 0
    for round_ in range(3):
        for p in paths:  # new mtimes: every load is a miss, so the writer keeps writing
            os.utime(p, ns=(time.time_ns(), time.time_ns() + round_ + 1))
        proc = subprocess.Popen([sys.executable, "-c", _FILL, str(disk), str(bound), *map(str, paths)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        seen_entries = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if disk.is_dir():
                names = os.listdir(disk)
                seen_entries = sum(n.endswith(".json") for n in names)
                if seen_entries >= 2 + round_ and any(".part" in n for n in names):
                    break
            time.sleep(0.0005)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        names = os.listdir(disk)
        caught_mid_write += any(".part" in n for n in names) or any(
            n.endswith(".npy") and n[:-4] + ".json" not in names for n in names)

        # Every committed entry (its sidecar present) decodes to exactly its scan.
        for meta in disk.glob("[!.]*.json"):
            info = json.loads(meta.read_text())
            data = np.load(meta.with_suffix(".npy"), allow_pickle=False)
            np.testing.assert_array_equal(data, load_volume(info["path"]).data)
        # A reader ignores the leftovers and serves exact arrays.
        cache = ScanCache(ram_bytes=0, disk_dir=disk, disk_bytes=bound, stale_seconds=0)
        assert not [n for n in os.listdir(disk) if ".part" in n]
        assert {p.stem for p in disk.glob("*.npy")} == {p.stem for p in disk.glob("*.json")}  # no temporaries
        for p in paths:
            np.testing.assert_array_equal(np.asarray(cache.load(p).data), load_volume(p).data)
        assert sum(f.stat().st_size for f in disk.glob("*.npy")) <= bound
    assert caught_mid_write >= 1, "no kill landed during a write; the test proved nothing"
