"""The age task's training defaults, shared by ``brainmri-regress train`` and the Python API.

Chosen on the real IXI-HH cross-validation (vt1 at 4 mm, MSE). Batch: on fold 1 (26 held-out
subjects) batch 2 / 30 epochs gave 9.15 y MAE, batch 4 / 30 epochs 9.6 y, batch 8 / 20 epochs
12.7 y: with ~100 training scans the network needs the optimiser steps of small batches.
Epochs: on the mean of the five folds' inner validation splits (never a test fold), 45 epochs
reached MAE 8.30 y and loss 0.352 where 30 reached 8.46 y and 0.358 (the network still
underfits at 30). Brain only at 70 epochs lowered the inner-validation loss (0.244 against
0.248) but not the MAE (6.84 y against 6.71 y; held out 7.36 y against 7.16 y), so it keeps 45.
No early stopping: the cross-validated figures trained every epoch, and the
MAE of ~20 validation subjects is too noisy to stop on (it stopped a run at epoch 18, 12.0 y).
"""

#: TrainConfig values that differ from the engine's (``--epochs``, ``--batch-size``, ``--patience``).
TRAIN_DEFAULTS = {"epochs": 45, "batch_size": 2, "patience": 0}

#: Brain-only input (``--mask-dir``) trains on a grid planned on the brain masks and centred on
#: each mask's bounding box (``Task.brain_grid``): on IXI-HH, 3 mm and 64x64x48 where the head's
#: field of view takes 4 mm and 48x64x64: the same 196,608 voxels, spent on the brain's box. Age
#: shows in fine detail (wider sulci and ventricles); sex, whose cue is size, gained nothing from
#: it (classify keeps the head's grid). On the five folds' inner validation (the rule fixed
#: before the run: lower loss and lower MAE) it reached loss 0.248 and MAE 6.71 y where the
#: head's grid reached 0.269 and 7.10 y; held out 7.16 y against 8.02 y
#: (paired -0.86 y, 95% CI -1.63 to -0.12). Full heads keep the head's grid.
BRAIN_GRID_REASON = (
    "brain only: the grid planned on the brain masks, centred on each brain's box (age atrophy is a fine cue; "
    "IXI-HH, five folds' inner validation MAE 6.71 y against 7.10 y on the head's grid)"
)
