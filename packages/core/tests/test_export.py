"""``export``: a run as one ``.bmri`` file (safetensors, no pickle) and as ONNX.

A tiny phantom-sex run (1 epoch, 6 mm grid) is exported through the CLI every task gets
(:func:`~brainmri.core.training.cli_factory.add_task_commands`); the ``.bmri`` file must give
bit-identical predictions wherever the run folder is accepted, also from a URL on a local
HTTP server, and the ONNX model must agree with PyTorch on a real scan.
"""

from __future__ import annotations

import csv
import json

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from brainmri.core.errors import BrainmriError
from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing import real_scan
from brainmri.core.testing.httpserver import LocalServer
from brainmri.core.testing.task import register_test_task
from brainmri.core.training import TrainConfig, train
from brainmri.core.training.cli_factory import add_task_commands

pytest.importorskip("safetensors", reason="the export extra (brainmri-core[export]) is not installed")

TASK = register_test_task()


@click.group()
def cli() -> None:
    """The phantom-sex task's CLI, in this process (the commands every task package gets)."""


add_task_commands(cli, "phantom-sex", default_arch="vt1")


def _cli(*args, check=True):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if check:
        assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 1-epoch run on 8 phantoms, its .bmri export (through the CLI) and some scans."""
    root = tmp_path_factory.mktemp("export")
    table = write_phantom_table(root / "data", n=8, seed=5, spacing=6.0, orientation=None)
    config = TrainConfig(epochs=1, batch_size=4, lr=1e-3, augment=False, patience=0)
    run = train(
        TASK,
        root / "run",
        dataset="table",
        root=table,
        arch="vt1",
        train_config=config,
        model_options={"dropout": 0.0},
        device="cpu",
        progress=False,
        evaluate_after=False,
        spacing=6.0,
        shape=32,
    )
    result = _cli("export", run.path, "-o", root / "model.bmri")
    sha256 = result.stderr.split("sha256=")[1].split()[0]
    scans = sorted((root / "data" / "images").glob("*.nii.gz"))[:3]
    return {"root": root, "run": run.path, "bmri": root / "model.bmri", "sha256": sha256, "scans": scans}


def _predict_csv(exported, model, out, *extra) -> str:
    _cli("predict", *([] if model is None else [model]), *exported["scans"], "-o", out, *extra)
    return out.read_text()


def test_bmri_predictions_are_bit_identical(exported, tmp_path):
    from_run = _predict_csv(exported, exported["run"], tmp_path / "run.csv")
    from_file = _predict_csv(exported, exported["bmri"], tmp_path / "bmri.csv")
    rows = list(csv.DictReader(from_run.splitlines()))
    assert len(rows) == 3 and all(0.0 < float(r["prob"]) < 1.0 for r in rows)
    assert from_file == from_run  # every digit (the -o CSV is not rounded)


def test_bmri_holds_weights_and_json_only(exported):
    from brainmri.core.training.checkpoints import load_checkpoint

    data = exported["bmri"].read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    meta = header.pop("__metadata__")
    # nothing but the header and the raw tensor bytes: no room for a pickle
    assert len(data) - 8 - size == sum(end - start for start, end in (t["data_offsets"] for t in header.values()))
    weights = load_checkpoint(exported["run"] / "checkpoints" / "best.pt")["model"]
    assert set(header) == set(weights)
    config = json.loads((exported["run"] / "config.json").read_text())
    assert json.loads(meta["config"]) == config
    assert json.loads(meta["pipeline"]) == config["pipeline"]
    assert json.loads(meta["split"]) == json.loads((exported["run"] / "split.json").read_text())
    assert json.loads(meta["versions"])["trained"] == config["versions"]
    assert {"calibration", "metrics", "content_sha256"} <= set(meta)

    from safetensors.torch import load_file

    tensors = load_file(exported["bmri"])
    assert all(torch.equal(tensors[k], weights[k]) for k in weights)


def test_changed_bmri_is_refused_in_one_line(exported, tmp_path):
    data = bytearray(exported["bmri"].read_bytes())
    data[-5] ^= 0x01  # one bit of one weight
    bad = tmp_path / "bad.bmri"
    bad.write_bytes(bytes(data))
    result = _cli("predict", bad, exported["scans"][0], check=False)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "content hash mismatch" in lines[0] and "bad.bmri" in lines[0], result.stderr


def test_evaluate_accepts_bmri(exported, tmp_path, monkeypatch):
    from brainmri.core.training.workflow import evaluate

    monkeypatch.setenv("BRAINMRI_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "run"
    import shutil

    shutil.copytree(exported["run"], copy)
    a = evaluate(copy, splits=("test",), device="cpu", n_boot=10, progress=False)
    b = evaluate(exported["bmri"], splits=("test",), device="cpu", n_boot=10, progress=False)
    assert json.dumps(a) == json.dumps(b) and a["test"]["n"] >= 1  # (NaN AUC with one subject)
    unpacked = list((tmp_path / "cache" / "runs").iterdir())
    assert len(unpacked) == 1
    assert (unpacked[0] / "predictions.csv").read_text() == (copy / "predictions.csv").read_text()
    assert not (exported["run"] / "predictions.csv").exists()  # the exported run is not touched


def test_checkpoint_url_needs_and_checks_sha256(exported, tmp_path, monkeypatch):
    from brainmri.core.export import fetch_model

    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINMRI_CACHE_DIR", str(cache))
    with LocalServer({"model.bmri": exported["bmri"].read_bytes()}) as server:
        url = f"{server.url}model.bmri"
        via_url = _predict_csv(
            exported, None, tmp_path / "url.csv", "--checkpoint", f"{url}#sha256={exported['sha256']}"
        )
        assert via_url == _predict_csv(exported, exported["run"], tmp_path / "run.csv")
        assert [name for name, _ in server.requests] == ["model.bmri"]
        fetch_model(f"{url}#sha256={exported['sha256']}", progress=False)  # cached: not downloaded again
        assert len(server.requests) == 1

        with pytest.raises(BrainmriError, match="needs its sha256"):
            fetch_model(url, progress=False)
        wrong = "0" * 64
        with pytest.raises(BrainmriError, match="sha256 mismatch"):
            fetch_model(f"{url}#sha256={wrong}", progress=False)
        assert not list((cache / "models" / wrong).iterdir())  # nothing kept
    with pytest.raises(BrainmriError, match="must be https"):
        fetch_model(f"http://example.org/model.bmri#sha256={wrong}", progress=False)


def test_onnx_matches_pytorch_on_a_real_scan(exported, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the export extra (brainmri-core[export]) is not installed")
    pytest.importorskip("onnx", reason="the export extra (brainmri-core[export]) is not installed")
    from brainmri.core.io import load_volume
    from brainmri.core.tasks import load_run

    scan = real_scan("chris_t1.nii.gz")
    _cli("export", exported["bmri"], "-o", tmp_path / "model.onnx", "--format", "onnx")
    task, model, pipeline_config, config = load_run(exported["run"], "cpu")
    grid = task.predictor(model, pipeline_config, config["task_config"]).prepare(load_volume(scan)).image.float()
    with torch.inference_mode():
        expected = model(grid).numpy()
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": grid.numpy()})
    assert got.shape == expected.shape == (1, 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tmp_path / "model.onnx")).metadata_props}
    assert json.loads(props["brainmri.pipeline"]) == config["pipeline"]
