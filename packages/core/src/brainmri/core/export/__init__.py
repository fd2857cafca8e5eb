"""Trained runs as single files: ``.bmri`` (safetensors, no pickle) and ONNX for deployment."""

from .bmri import BmriModel, is_bmri, unpack_bmri, write_bmri
from .source import cache_dir, fetch_model, is_url, resolve_model

__all__ = [
    "BmriModel",
    "cache_dir",
    "fetch_model",
    "is_bmri",
    "is_url",
    "resolve_model",
    "unpack_bmri",
    "write_bmri",
]
