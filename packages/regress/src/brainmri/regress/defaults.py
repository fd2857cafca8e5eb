"""The age task's training defaults, shared by ``brainmri-regress train`` and the Python API.

Chosen on the real IXI-HH cross-validation (vt1 at 4 mm, MSE). Batch: on fold 1 (26 held-out
subjects) batch 2 / 30 epochs gave 9.15 y MAE, batch 4 / 30 epochs 9.6 y, batch 8 / 20 epochs
12.7 y: with ~100 training scans the network needs the optimiser steps of small batches.
Epochs: on the mean of the five folds' inner validation splits (never a test fold), 45 epochs
reached MAE 8.30 y and loss 0.352 where 30 reached 8.46 y and 0.358 (the network still
underfits at 30). No early stopping: the cross-validated figures trained every epoch, and the
MAE of ~20 validation subjects is too noisy to stop on (it stopped a run at epoch 18, 12.0 y).
"""

#: TrainConfig values that differ from the engine's (``--epochs``, ``--batch-size``, ``--patience``).
TRAIN_DEFAULTS = {"epochs": 45, "batch_size": 2, "patience": 0}
