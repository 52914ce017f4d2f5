"""Stage 8: realism and recognition metrics for generated data.

The public API (imported lazily, so that importing kplate does not import torch):
`train_recogniser`, `Recogniser`, `evaluate_recognition`, `recognition_metrics`,
`run_recognition`, `run_realism`, `two_sample_test`, `repeated_two_sample_test`,
`run_preservation`, `compare_preservation`, `load_labelled`, `fit_augmentation` (with
`write_fit_config`) and `image_statistics`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Recogniser": "recogniser",
    "train_recogniser": "recogniser",
    "evaluate_recognition": "reading",
    "recognition_metrics": "metrics",
    "run_recognition": "recognition",
    "run_realism": "realism",
    "two_sample_test": "realism",
    "repeated_two_sample_test": "realism",
    "run_preservation": "preservation",
    "compare_preservation": "preservation",
    "load_labelled": "data",
    "LabelledImage": "data",
    "fit_augmentation": "fit",
    "add_critic": "fit",
    "FitResult": "fit",
    "write_fit_config": "fit_config",
    "image_statistics": "statistics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kplate.evaluate' has no attribute {name!r}")
    return getattr(import_module(f"kplate.evaluate.{_EXPORTS[name]}"), name)
