"""Stage 3: regulation-accurate clean plates at any resolution, with per-character boxes."""

from kplate.render.glyphs import (
    BuiltinGlyphs,
    FontGlyphs,
    GlyphDirGlyphs,
    GlyphSource,
    glyph_source,
)
from kplate.render.plate import RenderedPlate, Renderer, output_size, render_plate
from kplate.render.record import CharBox, PlateRecord

__all__ = [
    "BuiltinGlyphs",
    "CharBox",
    "FontGlyphs",
    "GlyphDirGlyphs",
    "GlyphSource",
    "PlateRecord",
    "RenderedPlate",
    "Renderer",
    "glyph_source",
    "output_size",
    "render_plate",
]
