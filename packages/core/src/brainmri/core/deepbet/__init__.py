"""deepbet brain extraction: its two published networks, brainmri's geometry, HD-BET's QC.

Needs the ``deepbet`` extra (``pip install 'brainmri-core[deepbet]'``); the networks ship inside
the ``deepbet`` wheel (MIT licence) and nothing is downloaded. Used through
``brainmri-core skullstrip --backend deepbet`` or directly:

>>> from brainmri.core import load_volume
>>> from brainmri.core.deepbet import DeepBetExtractor
>>> extractor = DeepBetExtractor(device="cpu")                      # networks loaded once
>>> result = extractor.extract(load_volume("sub-01_T1w.nii.gz"))    # doctest: +SKIP
>>> result.mask, result.qc.brain_cm3, result.qc.flags                 # doctest: +SKIP
"""

from .predict import DeepBetExtractor
from .weights import MissingDeepBetError

__all__ = ["DeepBetExtractor", "MissingDeepBetError"]
