"""kplate: labelled synthetic South Korean licence plates for plate recognisers.

The pipeline stages are sub-packages, each importing only the stages before it:
spec -> numbers -> render -> augment -> io -> dataset -> gan -> pipeline -> evaluate
(and `cli` on top; `pipeline` is the generate stage). `errors` and `extras` sit below them all.

The names a user needs first are importable from here, lazily, so that `import kplate`
stays cheap and pulls in no optional package:

    from kplate import render_plate, generate, GenerateConfig, build_augmenter
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "PlateType": "kplate.spec.types",
    "NumberPrior": "kplate.numbers",
    "validate": "kplate.numbers",
    "sample": "kplate.numbers",
    "render_plate": "kplate.render.plate",
    "Renderer": "kplate.render",
    "build_augmenter": "kplate.augment.pipeline",
    "GenerateConfig": "kplate.pipeline",
    "WriteOptions": "kplate.pipeline",
    "generate": "kplate.pipeline",
    "Sample": "kplate.pipeline",
    "write_dataset": "kplate.pipeline",
    "KplateError": "kplate.errors",
}

__all__ = [
    "GenerateConfig",
    "KplateError",
    "NumberPrior",
    "PlateType",
    "Renderer",
    "Sample",
    "WriteOptions",
    "__version__",
    "build_augmenter",
    "generate",
    "render_plate",
    "sample",
    "validate",
    "write_dataset",
]

if TYPE_CHECKING:
    from kplate.augment.pipeline import build_augmenter
    from kplate.errors import KplateError
    from kplate.numbers import NumberPrior, sample, validate
    from kplate.pipeline import GenerateConfig, Sample, WriteOptions, generate, write_dataset
    from kplate.render import Renderer
    from kplate.render.plate import render_plate
    from kplate.spec.types import PlateType


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kplate' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
