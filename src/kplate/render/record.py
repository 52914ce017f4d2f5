"""What a render returns besides pixels: the label, the parsed fields and per-character boxes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Box = tuple[int, int, int, int]
Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class CharBox:
    """One character and its ink box [x0, y0, x1, y1) in output pixels (x1, y1 exclusive).

    `quad` holds the box's four corners (top-left, top-right, bottom-right, bottom-left)
    once a geometric augmentation has warped it; for a clean render it is None.
    """

    char: str
    box: Box
    quad: Quad | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"char": self.char, "box": list(self.box)}
        if self.quad is not None:
            data["quad"] = [[round(x, 2), round(y, 2)] for x, y in self.quad]
        return data


@dataclass(frozen=True)
class PlateRecord:
    """The label of one image: text, type, fields and boxes, all in output pixels."""

    text: str
    plate_type: str
    width: int
    height: int
    fields: dict[str, str | None]
    chars: tuple[CharBox, ...]
    plate_quad: Quad
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "type": self.plate_type,
            "width": self.width,
            "height": self.height,
            "fields": dict(self.fields),
            "chars": [c.to_dict() for c in self.chars],
            "quad": [[round(x, 2), round(y, 2)] for x, y in self.plate_quad],
            **self.extra,
        }
