"""The age task's training defaults, shared by ``brainmri-regress train`` and the Python API.

Chosen on the real IXI-HH cross-validation (fold 1, 26 held-out subjects, vt1 at 4 mm, MSE):
batch 2 / 30 epochs 9.15 y MAE, batch 4 / 30 epochs 9.6 y, batch 8 / 20 epochs 12.7 y. With
~100 training scans the network needs the optimiser steps of small batches. No early
stopping: the cross-validated figures trained all 30 epochs, and the MAE of ~20 validation
subjects is too noisy to stop on (it stopped a run at epoch 18, 12.0 y).
"""

#: TrainConfig values that differ from the engine's (``--epochs``, ``--batch-size``, ``--patience``).
TRAIN_DEFAULTS = {"epochs": 30, "batch_size": 2, "patience": 0}
