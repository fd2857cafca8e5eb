"""Precision on the CPU: ``train`` says when ``--amp bf16`` would be faster here, or slower, and
bf16 autocast really trains on the CPU.

Whether this CPU has bf16 in hardware is read independently of torch, from /proc/cpuinfo's flags.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from brainmri.core.devices import cpu_has_native_bf16, precision_note
from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing import read_log
from brainmri.core.testing.task import register_test_task
from brainmri.core.training import TrainConfig, train

TASK = register_test_task()
CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo_has_bf16() -> bool:
    flags = set()
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            flags |= set(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


@pytest.mark.skipif(not CPUINFO.is_file(), reason="no /proc/cpuinfo to read the CPU's flags from (not Linux)")
def test_native_bf16_agrees_with_the_cpu_flags():
    assert cpu_has_native_bf16() == _cpuinfo_has_bf16()


@pytest.mark.parametrize(
    ("device", "amp", "native", "says"),
    [
        ("cpu", "auto", True, "--amp bf16 trained MSD 1.5x faster"),
        ("cpu", "bf16", False, "autocast emulates it"),
        ("cpu", "auto", False, None),
        ("cpu", "bf16", True, None),
        ("cpu", "off", True, None),
        ("cpu", "off", False, None),
        ("cuda", "auto", True, None),
        ("cuda", "bf16", False, None),
    ],
)
def test_the_note_names_the_faster_choice_only_where_there_is_one(device, amp, native, says):
    note = precision_note(torch.device(device), amp, native_bf16=native)
    if says is None:
        assert note is None
    else:
        assert says in note and "\n" not in note


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_phantom_table(tmp_path_factory.mktemp("data"), n=8, seed=5, spacing=6.0, orientation=None)


@pytest.mark.skipif(not CPUINFO.is_file(), reason="no /proc/cpuinfo to read the CPU's flags from (not Linux)")
@pytest.mark.parametrize("amp", ["auto", "bf16"])
def test_train_says_the_precision_note_and_bf16_trains_on_the_cpu(table, tmp_path, capfd, amp):
    config = TrainConfig(epochs=2, batch_size=4, lr=1e-3, augment=False, patience=0, amp=amp)
    run = train(
        TASK,
        tmp_path / "run",
        dataset="table",
        root=table,
        arch="vt1",
        train_config=config,
        model_options={"dropout": 0.0},
        device="cpu",
        progress=True,
        evaluate_after=False,
        spacing=6.0,
        shape=32,
    )
    notes = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("plan: precision")]
    native = _cpuinfo_has_bf16()
    expected = (amp == "auto" and native) or (amp == "bf16" and not native)
    assert len(notes) == (1 if expected else 0), notes
    rows = read_log(run.path)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(math.isfinite(float(r["train_loss"])) and math.isfinite(float(r["val_loss"])) for r in rows)
