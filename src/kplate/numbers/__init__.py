"""Plate-number grammar: which strings are valid for each plate type, and random valid ones.

The renderer, the dataset generator and the CLI all go through this package, so a number
that renders is always a number that validates (spec §2 and §4).
"""

from kplate.numbers.grammar import (
    Inference,
    PlateNumber,
    candidates,
    explain,
    infer_type,
    is_orange_construction,
    normalize,
    sample,
    validate,
)

__all__ = [
    "Inference",
    "PlateNumber",
    "candidates",
    "explain",
    "infer_type",
    "is_orange_construction",
    "normalize",
    "sample",
    "validate",
]
