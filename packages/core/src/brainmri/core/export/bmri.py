"""A trained run as one ``.bmri`` file: a safetensors file, no pickle anywhere.

Layout: the network's weights are the safetensors tensors (the state dict's own names); the
safetensors ``__metadata__`` (string to string) holds, each as JSON text:

- ``format`` (``brainmri-model``) and ``format_version``;
- ``config``: the run's config.json (task, architecture, model, pipeline, task config, data,
  the versions it was trained with);
- ``pipeline``: the pipeline config (also inside ``config``; here for readers that want only it);
- ``calibration``: calibration.json (``null`` when the run has none);
- ``metrics``: metrics.json; ``split``: split.json (what ``evaluate`` needs);
- ``versions``: ``trained`` (from config.json) and ``exported`` (brainmri, torch, safetensors);
- ``checkpoint``: which checkpoint of the run (``best``/``last``);
- ``content_sha256``: SHA-256 over every other metadata entry and every tensor (name, dtype,
  shape, bytes), checked on each load: a changed or damaged file is refused.

``load_run`` (:mod:`brainmri.core.tasks`) reads a ``.bmri`` wherever it reads a run folder.
Commands that write into the run folder (``evaluate``) get an unpacked copy of it
(:func:`unpack_bmri`, in the user cache, keyed by the content hash).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import BrainmriError

FORMAT = "brainmri-model"
FORMAT_VERSION = "1"
JSON_KEYS = ("config", "pipeline", "calibration", "metrics", "split", "versions")
MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


def _need_safetensors():
    try:
        import safetensors.torch  # noqa: F401
    except ImportError as exc:
        raise BrainmriError(f".bmri files need safetensors: pip install 'brainmri-core[export]' ({exc})") from None


def content_hash(tensors: dict, metadata: dict[str, str]) -> str:
    """SHA-256 over the metadata entries (sorted, except the hash itself) and the tensors (sorted by name)."""
    import torch

    digest = hashlib.sha256()
    meta = {k: v for k, v in metadata.items() if k != "content_sha256"}
    digest.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"\0{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def is_bmri(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file in this format (its safetensors header says so)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 2 <= size <= MAX_HEADER:
                return False
            header = json.loads(fh.read(size))
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and (header.get("__metadata__") or {}).get("format") == FORMAT


def write_bmri(run_dir: str | os.PathLike, out: str | os.PathLike, checkpoint: str = "best") -> dict:
    """Write the run folder ``run_dir`` as one ``.bmri`` file ``out`` (atomically).

    Args:
        run_dir: A run folder written by ``train``.
        out: Destination file.
        checkpoint: ``best`` (``last`` when the run has no best) or ``last``.

    Returns:
        ``{"path", "sha256" (of the file, for --checkpoint URL#sha256=...), "content_sha256", "tensors"}``.
    """
    _need_safetensors()
    from safetensors.torch import save_file

    from ..atomic import atomic_path
    from ..download import file_digest
    from ..tasks import get_task
    from ..training.checkpoints import load_checkpoint
    from ..training.rundir import RunDir
    from ..training.workflow import _versions

    run = RunDir(run_dir).require()
    config = run.read_config()
    path = run.best_checkpoint if checkpoint == "best" and run.best_checkpoint.is_file() else run.last_checkpoint
    state = load_checkpoint(path)
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, dict):
        raise BrainmriError(f"{path}: no model weights in this checkpoint")
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in weights.items()}
    try:
        import safetensors

        exported = {**_versions(get_task(config["task"])), "safetensors": safetensors.__version__}
    except BrainmriError:  # the task's package is not installed here: export what we know
        import torch

        from .._version import __version__

        exported = {"brainmri-core": __version__, "torch": torch.__version__}
    split = json.loads(run.split_path.read_text(encoding="utf-8")) if run.split_path.is_file() else None
    values: dict[str, Any] = {
        "config": config,
        "pipeline": config.get("pipeline"),
        "calibration": run.read_calibration(),
        "metrics": run.read_metrics(),
        "split": split,
        "versions": {"trained": config.get("versions", {}), "exported": exported},
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "checkpoint": "best" if path == run.best_checkpoint else "last",
    }
    metadata.update({k: json.dumps(values[k], sort_keys=True, default=_json_default) for k in JSON_KEYS})
    metadata["content_sha256"] = content_hash(tensors, metadata)
    out = Path(out)
    with atomic_path(out) as tmp:
        mode = tmp.stat().st_mode
        save_file(tensors, str(tmp), metadata=metadata)  # replaces tmp: keep atomic_path's permissions
        os.chmod(tmp, mode)
    return {
        "path": out,
        "sha256": file_digest(out),
        "content_sha256": metadata["content_sha256"],
        "tensors": len(tensors),
    }


def _json_default(value):
    from ..training.rundir import _json_default as default

    return default(value)


class BmriModel:
    """The contents of a ``.bmri`` file, checked against its content hash.

    Attributes:
        path: The file.
        tensors: The network's state dict (CPU tensors).
        config, pipeline, calibration, metrics, split, versions: As stored.
        checkpoint: ``best`` or ``last``.
        content_sha256: The verified content hash.
    """

    def __init__(self, path: str | os.PathLike):
        _need_safetensors()
        from safetensors import safe_open

        self.path = Path(path)
        if not self.path.is_file():
            raise BrainmriError(f"{self.path}: model file not found")
        if not is_bmri(self.path):
            raise BrainmriError(f"{self.path}: not a .bmri model file (no brainmri-model safetensors header)")
        try:
            with safe_open(str(self.path), framework="pt") as fh:
                metadata = dict(fh.metadata() or {})
                self.tensors = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118
        except Exception as exc:  # safetensors raises its own types for damaged files
            first = (str(exc).strip().splitlines() or [""])[0]
            raise BrainmriError(f"{self.path}: unreadable .bmri file ({type(exc).__name__}: {first})") from None
        if metadata.get("format_version") != FORMAT_VERSION:
            raise BrainmriError(
                f"{self.path}: .bmri format version {metadata.get('format_version')!r}; "
                f"this brainmri reads version {FORMAT_VERSION}"
            )
        expected = metadata.get("content_sha256", "")
        if content_hash(self.tensors, metadata) != expected:
            raise BrainmriError(f"{self.path}: content hash mismatch: the file was changed or damaged; refused")
        try:
            values = {k: json.loads(metadata[k]) for k in JSON_KEYS}
        except (KeyError, ValueError) as exc:
            raise BrainmriError(f"{self.path}: metadata entry missing or not JSON ({exc})") from None
        self.config: dict = values["config"]
        self.pipeline: dict = values["pipeline"]
        self.calibration: dict | None = values["calibration"]
        self.metrics: dict = values["metrics"]
        self.split: dict | None = values["split"]
        self.versions: dict = values["versions"]
        self.checkpoint: str = metadata.get("checkpoint", "best")
        self.content_sha256 = expected

    def build(self, device="cpu"):
        """``(task, model, pipeline_config, config)`` exactly as :func:`brainmri.core.tasks.load_run` returns."""
        from ..devices import resolve_device
        from ..pipeline import PipelineConfig
        from ..tasks import get_task

        task = get_task(self.config["task"])
        model = task.build_model(self.config["model"])
        try:
            model.load_state_dict(self.tensors, strict=True)
        except RuntimeError as exc:
            raise BrainmriError(f"{self.path}: weights do not match the model ({str(exc).splitlines()[0]})") from None
        model.to(resolve_device(device)).eval()
        config = dict(self.config)
        config["calibration"] = self.calibration
        return task, model, PipelineConfig.from_dict(config["pipeline"]), config


def unpack_bmri(path: str | os.PathLike, dest: str | os.PathLike | None = None) -> Path:
    """A run folder with the contents of a ``.bmri`` file (for commands that write into a run).

    Args:
        path: The ``.bmri`` file.
        dest: Where to write the run folder; default ``<cache>/runs/<content hash>``
            (:func:`~brainmri.core.export.source.cache_dir`), reused when already there.

    Returns:
        The run folder (``checkpoints/best.pt`` holds the weights as plain tensors).
    """
    from ..training.checkpoints import save_checkpoint
    from ..training.rundir import RunDir
    from .source import cache_dir

    model = BmriModel(path)
    run = RunDir(dest if dest is not None else cache_dir() / "runs" / model.content_sha256[:32])
    if (
        run.exists()
        and (run.path / ".bmri-content").is_file()
        and (run.path / ".bmri-content").read_text().strip() == model.content_sha256
    ):
        return run.path
    save_checkpoint({"model": model.tensors}, run.best_checkpoint)
    if model.split is not None:
        run.write_json("split.json", model.split)
    run.write_calibration(model.calibration)
    run.write_json("metrics.json", model.metrics)
    run.write_config(model.config)  # last: a folder without config.json is not a run
    (run.path / ".bmri-content").write_text(model.content_sha256 + "\n")
    return run.path
