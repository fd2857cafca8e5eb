"""Choosing the torch device (``auto`` picks CUDA when present) and its mixed precision.

Torch is imported inside the functions, so command lines can validate ``--device`` at parse
time without slowing ``--help``.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from .errors import BrainmriError

if TYPE_CHECKING:
    import torch

#: Accepted spellings of a device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def parse_device(text: str | None) -> str:
    """Check a device name given on a command line and return it normalised (lower case).

    Args:
        text: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (None means ``auto``).

    Returns:
        The name, lower case and stripped.

    Raises:
        BrainmriError: A name outside that grammar (``gpu``, ``cdua``), CUDA asked for on a
            machine without it, or ``cuda:N`` beyond the machine's GPUs. One line each.
    """
    name = (text or "auto").strip().lower()
    if not _DEVICE.match(name):
        raise BrainmriError(f"{text!r} is not a device: give auto, cpu, cuda or cuda:N")
    if name.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise BrainmriError(
                f"device {name!r} requested but CUDA is not available on this machine (use --device cpu or auto)"
            )
        index, count = int(name.partition(":")[2] or 0), torch.cuda.device_count()
        if index >= count:
            raise BrainmriError(
                f"device {name!r} requested but this machine has {count} CUDA "
                f"{'device' if count == 1 else 'devices'} (cuda:0 to cuda:{count - 1})"
            )
    return name


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N`` into a :class:`torch.device`.

    Raises:
        BrainmriError: A name :func:`parse_device` rejects (not a device, or CUDA asked for
            on a machine without it).
    """
    import torch

    if isinstance(device, torch.device):
        return device
    name = parse_device(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_context(device: torch.device, amp: str = "auto"):
    """bf16 autocast on CUDA (``auto`` or ``bf16``); nothing on CPU or with ``off``.

    Args:
        device: Where the forward pass runs.
        amp: ``auto`` (bf16 on CUDA only), ``bf16`` or ``off``.

    Raises:
        ValueError: Another ``amp``.
    """
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return contextlib.nullcontext()
    if amp not in ("auto", "bf16"):
        raise ValueError(f"amp must be auto, bf16 or off, got {amp!r}")
    import torch

    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX), as oneDNN uses it."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


#: Measured on a 2-core AVX512-BF16 CPU (2026-12-02): MSD fold 1 of the accuracy benchmark trained in
#: 430 s with ``--amp bf16`` against 653 s in fp32 (inner-validation Dice 0.822 against 0.827).
BF16_CPU_GAIN = "trained MSD 1.5x faster in the accuracy benchmark (inner-validation Dice 0.822 against 0.827)"
#: The same vt1 step with oneDNN limited to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``): 4.39 s in bf16 against 0.244 s in fp32.
BF16_EMULATED_COST = "18x slower than fp32 on a vt1 step with AVX2 only"


def precision_note(device: torch.device, amp: str, native_bf16: bool | None = None) -> str | None:
    """One line on the CPU's precision choice, or None when there is nothing to say.

    Args:
        device: Where training runs.
        amp: The ``--amp`` value.
        native_bf16: Whether the CPU has bf16 in hardware (default: :func:`cpu_has_native_bf16`).

    Returns:
        On a CPU with native bf16 left at fp32 (``auto``): that ``--amp bf16`` is faster, not yet a
        default. ``bf16`` on a CPU without it: that autocast then emulates bf16, much slower. Otherwise None.
    """
    if device.type != "cpu" or amp == "off":
        return None
    native = cpu_has_native_bf16() if native_bf16 is None else native_bf16
    if amp == "auto" and native:
        return (
            f"precision fp32 (auto on CPU); this CPU has native bf16 (AVX512-BF16/AMX): --amp bf16 {BF16_CPU_GAIN}, "
            "but is not cross-validated as a default"
        )
    if amp == "bf16" and not native:
        return (
            "precision bf16 (--amp bf16), but this CPU has no native bf16 (AVX512-BF16 or AMX): autocast emulates "
            f"it, {BF16_EMULATED_COST} (--amp auto trains in fp32)"
        )
    return None
