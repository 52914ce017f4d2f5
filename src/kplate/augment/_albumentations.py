"""Import albumentations without what kplate does not use: its PyTorch helpers and its
update check.

`import albumentations` also imports `albumentations.pytorch`, and so torch: 1.4 of its
2.4 s on a 2-core machine, more than an augmented run of 1,000 plates takes. It then asks
PyPI for a newer version, which kplate must never do (no network at run time). Both are
skipped here; `import albumentations.pytorch` still works afterwards for anyone who
wants it, because the block is lifted as soon as the package is in.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

_HELPERS = "albumentations.pytorch"


def import_albumentations() -> ModuleType:
    """The albumentations package, imported lean on first use."""
    loaded = sys.modules.get("albumentations")
    if loaded is not None:
        return loaded
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    # A None entry makes `from .pytorch import *` raise ImportError, which albumentations
    # suppresses. Not worth it once torch is loaded anyway.
    block = _HELPERS not in sys.modules and "torch" not in sys.modules
    if block:
        sys.modules[_HELPERS] = None  # type: ignore[assignment]
    try:
        import albumentations
    finally:
        if block and sys.modules.get(_HELPERS, 0) is None:
            del sys.modules[_HELPERS]
    return albumentations
