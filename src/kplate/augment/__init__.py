"""Stage 4: camera and wear effects that keep labels and boxes exact.

`build_augmenter("heavy")` (or a YAML path) returns an `Augmenter`; calling it with an
image, its record and a numpy Generator returns the new image, the record with every
box and corner transformed, and the sampled params (plain JSON data) that reproduce it.
"""

from kplate.augment.geometry import apply_geometry, homography
from kplate.augment.pipeline import Augmenter, build_augmenter
from kplate.augment.presets import PRESETS, SCHEMA, load_spec, validate_spec

__all__ = [
    "PRESETS",
    "SCHEMA",
    "Augmenter",
    "apply_geometry",
    "build_augmenter",
    "homography",
    "load_spec",
    "validate_spec",
]
