"""Stage 1: plate types as data: sizes, colours, character cells, holes and emblems."""

from kplate.spec.geometry import GEOMETRY, Cell, Emblem, GlyphKind, Hole, PlateGeometry, geometry
from kplate.spec.types import ALIASES, DESCRIPTIONS, PlateType, parse_plate_type, parse_plate_types

__all__ = [
    "ALIASES",
    "DESCRIPTIONS",
    "GEOMETRY",
    "Cell",
    "Emblem",
    "GlyphKind",
    "Hole",
    "PlateGeometry",
    "PlateType",
    "geometry",
    "parse_plate_type",
    "parse_plate_types",
]
