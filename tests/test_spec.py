"""Plate geometry is consistent: every cell lies on its plate and cells never overlap."""

import itertools

import pytest

from kplate.errors import KplateError
from kplate.spec import GEOMETRY, PlateType, parse_plate_type, parse_plate_types
from kplate.spec.types import DESCRIPTIONS, EXAMPLES


@pytest.mark.parametrize("plate_type", list(PlateType))
def test_cells_lie_on_the_plate_and_do_not_overlap(plate_type: PlateType) -> None:
    geo = GEOMETRY[plate_type]
    assert geo.layouts, "every type needs at least one layout"
    for length, cells in geo.layouts.items():
        assert len(cells) == length
        for cell in cells:
            assert cell.x >= 0 and cell.x + cell.w <= geo.width + 1e-6
            assert cell.y >= 0 and cell.y + cell.h <= geo.height + 1e-6
        for a, b in itertools.combinations(cells, 2):
            overlap_x = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
            overlap_y = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
            assert overlap_x <= 1e-6 or overlap_y <= 1e-6, (a, b)


def test_regulation_sizes() -> None:
    assert (
        GEOMETRY[PlateType.PRIVATE_2DIGIT].width,
        GEOMETRY[PlateType.PRIVATE_2DIGIT].height,
    ) == (520, 110)
    assert (GEOMETRY[PlateType.PRIVATE_SHORT].width, GEOMETRY[PlateType.PRIVATE_SHORT].height) == (
        335,
        155,
    )
    assert (
        GEOMETRY[PlateType.LARGE_COMMERCIAL].width,
        GEOMETRY[PlateType.LARGE_COMMERCIAL].height,
    ) == (440, 220)


def test_every_type_has_a_description_and_an_example() -> None:
    assert set(DESCRIPTIONS) == set(PlateType)
    assert set(EXAMPLES) == set(PlateType)
    for plate_type, text in EXAMPLES.items():
        assert len(text) in GEOMETRY[plate_type].layouts


def test_aliases_and_unknown_names() -> None:
    assert parse_plate_type("basic_north") is PlateType.PRIVATE_SHORT
    assert parse_plate_type("green_old") is PlateType.GREEN_REGIONAL
    assert parse_plate_types("all") == list(PlateType)
    with pytest.raises(KplateError, match="unknown plate type 'bogus'"):
        parse_plate_type("bogus")
