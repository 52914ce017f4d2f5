"""Plate-number grammar: which strings are valid for each plate type, and random valid ones.

The renderer, the dataset generator and the CLI all go through this package, so a number
that renders is always a number that validates (spec §2 and §4). `sample` draws with a
`NumberPrior`: REALISTIC (the default, what is issued) or UNIFORM (every legal number
alike); docs/numbers.md gives the rules and their sources.
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
from kplate.numbers.priors import NumberPrior, parse_number_prior

__all__ = [
    "Inference",
    "NumberPrior",
    "PlateNumber",
    "candidates",
    "explain",
    "infer_type",
    "is_orange_construction",
    "normalize",
    "parse_number_prior",
    "sample",
    "validate",
]
