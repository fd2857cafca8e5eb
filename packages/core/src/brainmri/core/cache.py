"""Decode each scan once: a bounded RAM cache and an optional disk cache of raw arrays.

Entries are keyed by the file's absolute path, size and modification time, so an edited
file is decoded again. Disk entries are plain ``.npy`` arrays plus a JSON sidecar (never
pickles), written atomically: a killed writer leaves no entry, never a half one. What a killed
writer does leave (a temporary file, an array whose sidecar was never written) is ignored by
readers and removed by the next cache opened on the folder once it is older than
``stale_seconds`` (so writers still running in other processes keep theirs).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path, remove_stale_parts, write_text_atomic
from .io import load_volume
from .volume import Volume


@dataclass
class CacheStats:
    """Counters: RAM hits, disk hits, decodes and seconds spent decoding."""

    ram_hits: int = 0
    disk_hits: int = 0
    decodes: int = 0
    decode_seconds: float = 0.0


def file_key(*paths: str | os.PathLike) -> str:
    """Cache key of one or more files: absolute path + size + mtime of each."""
    parts = []
    for p in paths:
        st = os.stat(p)
        parts.append(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


class ScanCache:
    """Bounded cache of decoded scans.

    Args:
        ram_bytes: Most bytes of arrays kept in memory (least recently used evicted first).
            0 disables the RAM cache.
        disk_dir: Folder for uncompressed arrays (memory-mapped on read); None disables it.
        disk_bytes: Most bytes kept in ``disk_dir`` (oldest entries evicted); None: no bound.
        stale_seconds: Leftovers of killed writers in ``disk_dir`` older than this are
            removed when the cache is opened.
    """

    def __init__(self, ram_bytes: int = 2**30, disk_dir: str | os.PathLike | None = None,
                 disk_bytes: int | None = None, stale_seconds: float = 3600.0):
        self.ram_bytes = int(ram_bytes)
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.disk_bytes = disk_bytes
        self.stats = CacheStats()
        self._ram: OrderedDict[str, Volume] = OrderedDict()
        self._ram_used = 0
        self._lock = threading.Lock()
        if self.disk_dir is not None:
            self.disk_dir.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers(stale_seconds)

    def _committed(self, suffix: str) -> list[Path]:
        """Entry files ``<key><suffix>`` (not the hidden temporaries of writers in progress)."""
        assert self.disk_dir is not None
        return [p for p in self.disk_dir.glob(f"*{suffix}") if not p.name.startswith(".")]

    def _remove_leftovers(self, older_than: float) -> None:
        """Delete what killed writers left: temporaries and arrays without their sidecar."""
        assert self.disk_dir is not None
        remove_stale_parts(self.disk_dir, older_than=older_than)
        now = time.time()
        for npy in self._committed(".npy"):
            try:
                if not npy.with_suffix(".json").exists() and now - npy.stat().st_mtime >= older_than:
                    npy.unlink()
            except FileNotFoundError:
                pass

    @property
    def ram_used(self) -> int:
        """Bytes of arrays currently held in RAM."""
        return self._ram_used

    def load(self, path: str | os.PathLike) -> Volume:
        """The scan at ``path`` as a Volume (without its header), decoding at most once."""
        return self.get((path,), lambda: load_volume(path))

    def get(self, paths: tuple, decode: Callable[[], Volume]) -> Volume:
        """A Volume derived from ``paths`` (e.g. merged label files), decoded by ``decode``."""
        key = file_key(*paths)
        with self._lock:
            if key in self._ram:
                self._ram.move_to_end(key)
                self.stats.ram_hits += 1
                return self._ram[key]
        vol = self._disk_get(key)
        if vol is not None:
            self.stats.disk_hits += 1
        else:
            start = time.perf_counter()
            vol = decode()
            vol = Volume(vol.data, vol.affine, vol.path)  # no header: arrays only
            self.stats.decodes += 1
            self.stats.decode_seconds += time.perf_counter() - start
            self._disk_put(key, vol)
        self._ram_put(key, vol)
        return vol

    def _ram_put(self, key: str, vol: Volume) -> None:
        size = int(vol.data.nbytes)
        if size > self.ram_bytes:
            return
        with self._lock:
            if key in self._ram:
                return
            self._ram[key] = vol
            self._ram_used += size
            while self._ram_used > self.ram_bytes:
                _, old = self._ram.popitem(last=False)
                self._ram_used -= int(old.data.nbytes)

    def _disk_paths(self, key: str) -> tuple[Path, Path]:
        assert self.disk_dir is not None
        return self.disk_dir / f"{key}.npy", self.disk_dir / f"{key}.json"

    def _disk_get(self, key: str) -> Volume | None:
        if self.disk_dir is None:
            return None
        npy, meta = self._disk_paths(key)
        if not (npy.exists() and meta.exists()):  # the sidecar is written last: its presence commits
            return None
        try:
            info = json.loads(meta.read_text())
            data = np.load(npy, mmap_mode="r", allow_pickle=False)
            if list(data.shape) != info["shape"] or str(data.dtype) != info["dtype"]:
                return None
        except (OSError, ValueError, KeyError):
            return None
        os.utime(meta)  # recency for eviction
        return Volume(data, np.asarray(info["affine"]), info.get("path"))

    def _disk_put(self, key: str, vol: Volume) -> None:
        if self.disk_dir is None:
            return
        npy, meta = self._disk_paths(key)
        with atomic_path(npy) as tmp:
            np.save(tmp, np.asarray(vol.data), allow_pickle=False)
        info = {"shape": list(vol.data.shape), "dtype": str(vol.data.dtype), "affine": vol.affine.tolist(),
                "path": vol.path}
        write_text_atomic(meta, json.dumps(info))
        self._evict_disk()

    def _evict_disk(self) -> None:
        if self.disk_bytes is None or self.disk_dir is None:
            return
        metas, sizes = [], {}
        for m in self._committed(".json"):
            try:
                metas.append((m.stat().st_mtime, m))
                npy = m.with_suffix(".npy")
                sizes[m] = npy.stat().st_size if npy.exists() else 0
            except FileNotFoundError:  # evicted meanwhile by another process
                pass
        metas = [m for _, m in sorted(metas)]
        total = sum(sizes.values())
        for m in metas[:-1]:  # never evict the entry just written
            if total <= self.disk_bytes:
                break
            m.unlink(missing_ok=True)  # sidecar first: the entry stops being valid at once
            m.with_suffix(".npy").unlink(missing_ok=True)
            total -= sizes[m]
