"""Checkpoints written atomically and read back with ``weights_only=True``."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path
from ..errors import BrainmriError


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a checkpoint atomically: a reader (or a killed writer) never leaves half a file.

    Args:
        state: Plain data only (tensors, numbers, strings, lists, dicts), so it loads with
            ``weights_only=True``.
        path: Destination ``.pt`` file.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``), raising a one-line error when unreadable."""
    path = Path(path)
    if not path.is_file():
        raise BrainmriError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only=True refuses any pickled Python object: loading it could run code.
        lines = str(exc).strip().splitlines()
        detail = next((line.strip() for line in lines if "GLOBAL" in line or "Unsupported" in line), "")
        raise BrainmriError(
            f"{path}: refused: holds pickled Python objects, not only weights (loading it could run code)"
            + (f" [{detail}]" if detail else "")
        ) from None
    except Exception as exc:  # torch raises many types for broken files
        first = (str(exc).strip().splitlines() or [""])[0]
        raise BrainmriError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {first})") from None


def model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of a model, unwrapped from DistributedDataParallel, on the CPU."""
    inner = getattr(model, "module", model)
    return {k: v.detach().cpu().clone() for k, v in inner.state_dict().items()}
