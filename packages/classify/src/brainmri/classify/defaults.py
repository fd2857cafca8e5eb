"""The sex task's training defaults, shared by ``brainmri-classify train`` and the Python API.

The cross-validated figures (README accuracy table, ``benchmarks/accuracy/recipes.py``) trained
all their 20 epochs, batch 8: the loss of ~20 validation subjects is too noisy to stop on, and
real heads leave chance late.
"""

#: TrainConfig values that differ from the engine's (``--batch-size``, ``--patience``).
TRAIN_DEFAULTS = {"batch_size": 8, "patience": 0}
