"""The fused one-resample preprocessing pipeline (see DESIGN.md, "The way a voxel travels")."""

from .batch import GridBatch, Sample
from .config import PRESETS, AugmentConfig, PipelineConfig
from .pipeline import Pipeline

__all__ = ["PRESETS", "AugmentConfig", "GridBatch", "Pipeline", "PipelineConfig", "Sample"]
