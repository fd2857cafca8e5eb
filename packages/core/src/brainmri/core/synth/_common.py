"""Pieces the layout writers share: demographics, scan writing, manifests."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic, write_text_atomic
from ..errors import DatasetError
from ..io import save_volume, scan_stem
from .phantom import Phantom

MANIFEST_NAME = "synth_manifest.json"

#: Start of a macOS AppleDouble ("._name") file, as found in published archives.
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(16)

AGE_RANGE = (20.0, 86.0)


def prepare_root(root: str | os.PathLike, overwrite: bool) -> Path:
    """Create the output folder; refuse a non-empty one unless ``overwrite``."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DatasetError(root, "exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise DatasetError(root, "folder is not empty (use --overwrite to write into it anyway)")
    root.mkdir(parents=True, exist_ok=True)
    return root


def demographics(n: int, rng: np.random.Generator) -> list[tuple[int, float, int]]:
    """``n`` balanced ``(sex, age, phantom seed)`` triples (half male, half female; ages uniform)."""
    sexes = np.array([i % 2 for i in range(n)])
    rng.shuffle(sexes)
    ages = np.round(rng.uniform(*AGE_RANGE, size=n), 2)
    seeds = rng.integers(0, 2**31 - 1, size=n)
    return [(int(s), float(a), int(k)) for s, a, k in zip(sexes, ages, seeds)]


def write_scan(phantom: Phantom, path: Path, mask_dir: Path | None) -> dict:
    """Write a phantom's image (and its brain mask as ``<stem>_mask.nii.gz``); return its record."""
    save_volume(phantom.image, path)
    if mask_dir is not None:
        save_volume(phantom.brain_mask, mask_dir / f"{scan_stem(path)}_mask.nii.gz")
    return {
        "orientation": phantom.params["orientation"],
        "spacing": phantom.params["spacing"],
        "shape": phantom.params["shape"],
    }


def write_appledouble(path: Path) -> None:
    """A junk ``._name`` file like those macOS leaves in archives."""
    write_bytes_atomic(path, APPLEDOUBLE)


def finish(root: Path, manifest: dict) -> dict:
    """Write ``synth_manifest.json`` in ``root`` and return the manifest."""
    write_text_atomic(root / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
    return manifest


def progress(iterable, total: int, desc: str, enabled: bool):
    """A tqdm bar on stderr when enabled (and stderr is a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit="subject",
        file=sys.stderr,
        disable=not enabled or not sys.stderr.isatty(),
    )
