"""deepbet's two TorchScript networks, read from the installed ``deepbet`` wheel (never downloaded).

The wheel (MIT licence) installs them as ``data/models/{bbox_model,model}.pt`` beside the
``deepbet`` package. They are located through the distribution's file list, without importing
``deepbet`` (whose import pulls in its GUI toolkit and pandas).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BrainmriError

#: Byte sizes of the files in deepbet 1.0.2; another size is a broken or different install.
SIZES = {"bbox_model": 8701922, "model": 8698000}

INSTALL_HINT = "install it with: pip install 'brainmri-core[deepbet]'"


class MissingDeepBetError(BrainmriError, ImportError):
    """``deepbet`` (the ``brainmri-core[deepbet]`` extra) is not installed."""


def model_path(name: str) -> Path:
    """Path of ``bbox_model`` or ``model`` inside the installed deepbet wheel, size-checked.

    Raises:
        MissingDeepBetError: deepbet is not installed.
        BrainmriError: The file is missing or has another size.
    """
    from importlib import metadata

    if name not in SIZES:
        raise ValueError(f"deepbet has the networks {sorted(SIZES)}, not {name!r}")
    try:
        dist = metadata.distribution("deepbet")
    except metadata.PackageNotFoundError:
        raise MissingDeepBetError(f"deepbet brain extraction needs the deepbet package; {INSTALL_HINT}") from None
    from ..hdbet.weights import checked_size

    path = Path(str(dist.locate_file(f"data/models/{name}.pt")))
    return checked_size(path, SIZES[name], f"deepbet network {name!r}", INSTALL_HINT)


def load_model(name: str, device):
    """One TorchScript network, in eval mode on ``device``."""
    import warnings

    import torch

    path = str(model_path(name))
    with warnings.catch_warnings():  # torch's deprecation notice of TorchScript, not the user's concern
        warnings.simplefilter("ignore", FutureWarning)
        model = torch.jit.load(path, map_location=device)
    return model.eval()
