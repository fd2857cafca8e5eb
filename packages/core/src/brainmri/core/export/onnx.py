"""A trained network as ONNX, for deployment without PyTorch.

The ONNX graph is the network only: input ``image``, ``(batch, 1, X, Y, Z)`` float32, exactly
what :meth:`~brainmri.core.predictor.Predictor.prepare` makes from a scan (the run's pipeline:
one resample onto the grid, intensity normalisation); output ``outputs``, the raw network
outputs that the task decodes (logits, ages, label logits). Preprocessing, decoding,
calibration and, for segmentation, the sliding window over the scan stay in Python: they
are stored as JSON in the model's ``metadata_props`` (``brainmri.config``,
``brainmri.pipeline``, ``brainmri.calibration``, ``brainmri.versions``) for a deployment to
reproduce. The batch axis is dynamic; the spatial shape is fixed
(:meth:`~brainmri.core.tasks.Task.network_input_shape`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

from ..errors import BrainmriError

INPUT = "image"
OUTPUT = "outputs"


def write_onnx(source, out: str | os.PathLike, opset: int = 18) -> dict:
    """Export the network of a run folder or ``.bmri`` file to ONNX (atomically).

    Args:
        source: Run folder, ``.bmri`` file or its URL (``load_run`` reads it).
        out: Destination ``.onnx`` file (one file: weights inside).
        opset: ONNX opset.

    Returns:
        ``{"path", "input_shape"}``.
    """
    try:
        import onnx
        import torch
    except ImportError as exc:
        raise BrainmriError(f"ONNX export needs onnx: pip install 'brainmri-core[export]' ({exc})") from None

    from ..atomic import atomic_path
    from ..tasks import load_run

    task, model, pipeline_config, config = load_run(source, "cpu")
    model = model.float().eval()
    shape = (1, 1, *task.network_input_shape(pipeline_config, config.get("task_config", {})))
    example = torch.zeros(shape, dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1, max=1024)
    out = Path(out)
    with atomic_path(out) as tmp:
        try:  # the exporter prints its steps on stdout, which is the CSV/JSON channel of the CLI
            with contextlib.redirect_stdout(io.StringIO()):
                program = torch.onnx.export(
                    model,
                    (example,),
                    input_names=[INPUT],
                    output_names=[OUTPUT],
                    opset_version=opset,
                    dynamo=True,
                    external_data=False,
                    dynamic_shapes=({0: batch},),
                )
            program.save(str(tmp), external_data=False)
        except Exception as exc:  # the exporter raises many types; one line for the user
            first = (str(exc).strip().splitlines() or [""])[0]
            raise BrainmriError(f"{source}: ONNX export failed ({type(exc).__name__}: {first})") from None
        proto = onnx.load(str(tmp))
        meta = {
            "brainmri.config": config,
            "brainmri.pipeline": config["pipeline"],
            "brainmri.calibration": config.get("calibration"),
            "brainmri.versions": config.get("versions", {}),
            "brainmri.input_shape": list(shape[1:]),
        }
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, json.dumps(value, sort_keys=True, default=str)
        onnx.save(proto, str(tmp))
    return {"path": out, "input_shape": list(shape)}
