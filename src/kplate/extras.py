"""Optional parts of kplate and the extra that installs each.

`pip install kplate` draws, augments and writes datasets (folders and webdataset tars);
the GAN, evaluation, LMDB, ONNX, Parquet and Dask parts need packages that weigh tens to
hundreds of megabytes (torch above all), so they come as extras. A command that reaches for a missing one says, in one line, what to install.
"""

from __future__ import annotations

import importlib.util

from kplate.errors import KplateError

#: The extra that provides each optional top-level package.
EXTRA_OF = {
    "torch": "gan",
    "tensorboard": "gan",
    "matplotlib": "gan",
    "lmdb": "lmdb",
    "onnx": "onnx",
    "onnxscript": "onnx",
    "onnxruntime": "onnx",
    "pyarrow": "parquet",
    "dask": "dask",
    "distributed": "dask",
}


class MissingExtraError(KplateError):
    """An optional package that this use of kplate needs is not installed."""

    def __init__(self, module: str, needed_for: str = "this") -> None:
        extra = EXTRA_OF[module]
        super().__init__(
            f"{needed_for} needs the '{module}' package: pip install 'kplate[{extra}]'"
        )


def missing_extra(error: ModuleNotFoundError) -> MissingExtraError | None:
    """The one-line error for an import of an optional package that failed, else None."""
    root = (error.name or "").split(".")[0]
    return MissingExtraError(root) if root in EXTRA_OF else None


def require(*modules: str, needed_for: str) -> None:
    """Fail early, before any work or any write, when an optional package is missing."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingExtraError(module, needed_for)
