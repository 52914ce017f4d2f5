"""Import albumentations without what kplate does not use: its PyTorch helpers, its
Hugging Face Hub mixin and its update check.

`import albumentations` also imports `albumentations.pytorch`, and so torch (1.4 of its
2.4 s on a 2-core machine, more than an augmented run of 1,000 plates takes), and
`huggingface_hub` when installed (0.25 s). It then asks PyPI for a newer version, which
kplate must never do (no network at run time). All three are skipped here, and only when
nothing in the process has loaded torch or huggingface_hub already.
`import albumentations.pytorch` still works afterwards, as the block is lifted once the
package is in; albumentations' own Hub upload/download (`from_pretrained`) is the one
thing that stays off in a process whose first albumentations import came through kplate.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

_HELPERS = "albumentations.pytorch"
_HUB = "huggingface_hub"


def import_albumentations() -> ModuleType:
    """The albumentations package, imported lean on first use."""
    loaded = sys.modules.get("albumentations")
    if loaded is not None:
        return loaded
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    # A None entry makes an import raise ImportError, which albumentations catches.
    blocked = []
    if _HELPERS not in sys.modules and "torch" not in sys.modules:
        blocked.append(_HELPERS)
    if _HUB not in sys.modules:
        blocked.append(_HUB)
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import albumentations
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return albumentations
