"""Every run writes MODEL_CARD.md and methods.md from its own files; evaluate writes them again."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing.task import register_test_task
from brainmri.core.training import TrainConfig, evaluate, train

TASK = register_test_task()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 1-epoch run on 12 phantoms with brain masks, evaluated (val, test) at the end."""
    root = tmp_path_factory.mktemp("card")
    table = write_phantom_table(root / "data", n=12, seed=5, spacing=6.0)
    masks = root / "masks"
    shutil.copytree(table.parent / "masks", masks)
    config = TrainConfig(epochs=1, batch_size=4, augment=False, patience=0)
    options = {"arch": "vt1", "train_config": config, "device": "cpu", "progress": False, "spacing": 6.0, "shape": 24}
    return train(TASK, root / "run", dataset="table", root=table, mask_dir=masks, **options).path


def _read(run, name):
    return (run / name).read_text(encoding="utf-8")


def _interval(metric: dict) -> str:
    low, high = metric["ci95"]
    return f"{metric['value']:.3g} (95% CI {low:.3g} to {high:.3g})"


def test_both_documents_give_the_real_counts_and_metrics(run):
    card, methods = _read(run, "MODEL_CARD.md"), _read(run, "methods.md")
    split = json.loads(_read(run, "split.json"))
    counts = {part: len(split[part]) for part in ("train", "val", "test")}
    assert sum(counts.values()) == 12
    phrase = f"train {counts['train']}, val {counts['val']}, test {counts['test']}"
    assert phrase in card and phrase in methods
    for part, n in counts.items():
        assert f"| {part} | {n} | {n} |" in card  # scans and subjects of the cohort table
    metrics = json.loads(_read(run, "metrics.json"))
    assert set(metrics) == {"val", "test"}
    for part, values in metrics.items():
        for name in ("accuracy", "balanced_accuracy", "roc_auc"):
            assert f"| {part} | {name} | {_interval(values[name])} |" in card
    assert f"n = {metrics['test']['n']}" in methods
    assert _interval(metrics["test"]["balanced_accuracy"]) in methods
    assert "1 epoch" in methods and "AdamW" in methods and "6 mm grid of 24 x 24 x 24 voxels" in methods
    assert "No augmentation was used." in methods


def test_the_card_holds_the_checkpoints_sha256(run):
    card = _read(run, "MODEL_CARD.md")
    for name in ("best.pt", "last.pt"):
        digest = hashlib.sha256((run / "checkpoints" / name).read_bytes()).hexdigest()
        assert f"`checkpoints/{name}` " in card and digest in card


def test_methods_numbers_and_lists_the_references_it_cites(run):
    methods = _read(run, "methods.md")
    text, refs = methods.split("## References")
    listed = [line for line in refs.strip().splitlines() if line]
    assert [line.split(".")[0] for line in listed] == [str(i) for i in range(1, len(listed) + 1)]
    assert all(f"[{i}]" in text for i in range(1, len(listed) + 1))
    assert any("Paszke" in line for line in listed) and any("Loshchilov" in line for line in listed)
    assert not any("Pérez-García" in line for line in listed)  # no TorchIO artifacts in this run
    assert not any("Isensee" in line for line in listed)  # masks of unknown origin: HD-BET not claimed


def test_evaluate_writes_them_again_from_the_new_metrics(run):
    config = json.loads(_read(run, "config.json"))
    # The masks turn out to be brainmri-core skullstrip's (HD-BET): its report sits beside them.
    (run.parent / "masks" / "skullstrip.csv").write_text("file,mode\nsub-000_T1w.nii.gz,accurate\n")
    assert config["data"]["mask_dir"] == str(run.parent / "masks")
    evaluate(run, splits=("train",), n_boot=50, progress=False)
    metrics = json.loads(_read(run, "metrics.json"))
    card, methods = _read(run, "MODEL_CARD.md"), _read(run, "methods.md")
    assert f"| train | balanced_accuracy | {_interval(metrics['train']['balanced_accuracy'])} |" in card
    assert "HD-BET" in methods and "Isensee F" in methods
    assert not list(run.rglob("*.part*"))  # written atomically
