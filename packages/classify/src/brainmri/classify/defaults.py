"""The sex task's training defaults, shared by ``brainmri-classify train`` and the Python API.

Chosen on the real IXI-HH cross-validation (vt1 at 4 mm, 20 epochs, the mean over the five
folds' inner validation splits, never a test fold): batch 2 reached validation loss 0.248 and
balanced accuracy 0.93 where batch 8 reached 0.353 and 0.88. With ~100 training scans the
network needs the optimiser steps of small batches (4x as many in the same time). No early
stopping: the loss of ~16 validation subjects is too noisy to stop on, and real heads leave
chance late.
"""

#: TrainConfig values that differ from the engine's (``--batch-size``, ``--patience``).
TRAIN_DEFAULTS = {"batch_size": 2, "patience": 0}
