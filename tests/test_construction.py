"""Construction machinery plates (issue #15 items 7 and 12): the two pre-2022 regional forms
draw light characters on a green or orange plate, the two-row form puts the region on its
own top row, ambiguous texts list every type they fit, a CSV's type (or style) column
chooses, and every real_dev label renders as its real type."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import tool
from kplate.cli import main
from kplate.errors import InvalidPlateError
from kplate.io.manifest import read_metadata
from kplate.io.plate_csv import read_plate_csv
from kplate.numbers import candidates, explain, is_orange_construction, validate
from kplate.render.plate import Renderer
from kplate.spec import colors
from kplate.spec.geometry import GEOMETRY
from kplate.spec.types import STYLE_NAMES, PlateType

T = PlateType
REGIONAL = (T.CONSTRUCTION_REGIONAL, T.CONSTRUCTION_REGIONAL_TWO_ROW)
REAL_DEV = next(
    (
        p / "data" / "real_dev"
        for p in (Path("/work/shared"), Path(__file__).resolve().parents[2] / "shared")
        if (p / "data" / "real_dev" / "labels.csv").is_file()
    ),
    None,
)
#: real_dev's two-row regional construction crops (looked at one by one); the style
#: column does not tell the forms apart, so these are listed by file name.
TWO_ROW_CROPS = frozenset(
    f"images/ksy_{n}.png"
    for n in (
        "0022", "0094", "0097", "0315", "0317", "0321", "0323",
        "0403", "0524", "0542", "0545", "0561", "0580", "0643",
    )
)  # fmt: skip


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _luma(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize("plate_type", REGIONAL, ids=str)
@pytest.mark.parametrize(
    ("serial", "body"),
    [("4568", colors.CONSTRUCTION_REGIONAL_GREEN), ("7425", colors.CONSTRUCTION_REGIONAL_ORANGE)],
)
def test_regional_characters_are_lighter_than_the_plate(
    renderer: Renderer, plate_type: PlateType, serial: str, body: tuple[int, int, int]
) -> None:
    plate = renderer.render(f"경기06조{serial}", plate_type, height=220, with_ink_mask=True)
    assert plate.ink_mask is not None
    ink = plate.image[plate.ink_mask > 0.99]
    h, w = plate.image.shape[:2]
    inside = np.zeros((h, w), bool)
    inside[int(h * 0.1) : int(h * 0.9), int(w * 0.05) : int(w * 0.95)] = True
    plain = plate.image[inside & (plate.ink_mask == 0)]
    plate_colour = np.median(plain, axis=0)
    assert np.abs(plate_colour - np.asarray(body)).max() <= 6
    # On every real regional crop the characters are lighter than the plate.
    assert np.median(_luma(ink)) > np.median(_luma(plain)) + 80
    assert np.abs(np.median(ink, axis=0) - np.asarray(colors.CONSTRUCTION_REGIONAL_INK)).max() <= 8


def test_national_construction_keeps_black_on_white_or_orange(renderer: Renderer) -> None:
    for text in ("012가4568", "012가7568"):
        plate = renderer.render(text, T.CONSTRUCTION, height=110, with_ink_mask=True)
        assert plate.ink_mask is not None
        ink = plate.image[plate.ink_mask > 0.99]
        assert np.median(_luma(ink)) < 60


def test_two_row_form_has_the_region_on_its_own_top_row(renderer: Renderer) -> None:
    plate = renderer.render("전남14나3323", T.CONSTRUCTION_REGIONAL_TWO_ROW, height=220)
    assert plate.image.shape[:2] == (220, 400)  # 400x220 mm at 1 px/mm
    chars = plate.record.chars
    assert "".join(c.char for c in chars) == "전남14나3323"
    region, rest = chars[:2], chars[2:]
    assert max(c.box[3] for c in region) < min(c.box[1] for c in rest)
    # Spaced apart ("전 남"): the gap between the syllables is wider than either of them.
    (a, b) = (c.box for c in region)
    assert b[0] - a[2] > max(a[2] - a[0], b[2] - b[0])
    # Measured on real_dev's nine non-rental two-row crops (spec/geometry.py, CR2): region ink
    # 0.23-0.44 of the height at 0.34 and 0.66 of the width; class, syllable and serial
    # share the bottom row, digit ink 0.51-0.79 of the height and 37 mm (0.093) wide.
    assert 0.2 < region[0].box[1] / 220 < 0.26 and 0.41 < region[0].box[3] / 220 < 0.47
    for box, centre in zip((a, b), (0.34, 0.66), strict=True):
        assert abs((box[0] + box[2]) / 2 / 400 - centre) < 0.01
    bottoms = [c.box[3] for c in rest]
    assert max(bottoms) - min(bottoms) <= 8
    assert all(c.box[1] / 220 > 0.5 and c.box[3] / 220 < 0.81 for c in rest)
    xs = [c.box[0] for c in rest]
    assert xs == sorted(xs)
    assert abs((rest[0].box[0] + rest[0].box[2]) / 2 / 400 - 0.16) < 0.015
    assert abs((rest[-1].box[0] + rest[-1].box[2]) / 2 / 400 - 0.84) < 0.01
    assert all(abs(c.box[2] - c.box[0] - 37.0) < 2.0 for c in rest if c.char in "4323")
    # The use syllable is smaller than the digits beside it, as on the real plates.
    syllable, digit = rest[2].box, rest[1].box
    assert syllable[3] - syllable[1] < 0.85 * (digit[3] - digit[1])
    assert syllable[2] - syllable[0] < 0.9 * (digit[2] - digit[0])


def test_two_row_form_has_a_light_line_inside_a_dark_rim(renderer: Renderer) -> None:
    """The old two-row plates' face: a dark rim, then a 3.5 mm light line 15 mm in at the
    sides and 20 mm in at top and bottom (real_dev's crops), not the notice's 2 mm line
    2 mm in."""
    plate = renderer.render("전남14나3323", T.CONSTRUCTION_REGIONAL_TWO_ROW, height=220)
    luma = _luma(plate.image.reshape(-1, 3)).reshape(220, 400)
    body = np.median(luma[60:100, 180:220])  # between the region syllables
    line = [luma[110, 16:18].mean(), luma[110, 382:384].mean(), luma[21:23, 200].mean()]
    rim = [luma[110, 6:10].mean(), luma[110, 390:394].mean(), luma[8:12, 200].mean()]
    assert min(line) > body + 60, (line, body)
    assert max(abs(r - body) for r in rim) < 15, (rim, body)


def test_rental_two_row_plates_carry_the_business_mark_and_large_digits(
    renderer: Renderer,
) -> None:
    """Rental serials (6000-9999) are another face: the circled 영 left of the region, the
    line near the edge and large digits (all five rental two-row crops of real_dev; none
    of the nine others has the mark)."""
    rental = renderer.render("대구06나6699", T.CONSTRUCTION_REGIONAL_TWO_ROW, height=220)
    private = renderer.render("대구06나5699", T.CONSTRUCTION_REGIONAL_TWO_ROW, height=220)
    for plate in (rental, private):
        assert plate.image.shape[:2] == (220, 400)
    rental_luma = _luma(rental.image.reshape(-1, 3)).reshape(220, 400)
    private_luma = _luma(private.image.reshape(-1, 3)).reshape(220, 400)
    # The ring's left and right edges (centre 44, 59; 36 mm) are ink on the rental plate.
    ring = [rental_luma[59, 27:29].mean(), rental_luma[59, 60:62].mean()]
    assert min(ring) > np.median(rental_luma[150:160, 10:16]) + 40, ring
    assert np.ptp(private_luma[45:75, 30:58]) < 20  # nothing drawn there without the mark
    # The mark is not a character: the labels are the number's.
    assert "".join(c.char for c in rental.record.chars) == "대구06나6699"
    rental_digit, private_digit = rental.record.chars[-1].box, private.record.chars[-1].box
    assert rental_digit[3] - rental_digit[1] > 75 > 65 > private_digit[3] - private_digit[1]


def test_one_row_form_stacks_the_region_at_the_left(renderer: Renderer) -> None:
    plate = renderer.render("경기06조7425", T.CONSTRUCTION_REGIONAL, height=110)
    assert plate.image.shape[:2] == (110, 520)
    first, second, *rest = plate.record.chars
    assert first.box[3] <= second.box[1] + 1  # 경 above 기
    assert max(first.box[2], second.box[2]) <= min(c.box[0] for c in rest)


def test_rental_serials_are_orange_on_every_construction_form() -> None:
    for plate_type in REGIONAL:
        assert is_orange_construction(validate("경북06모6000", plate_type))
        assert not is_orange_construction(validate("경북06모5999", plate_type))
    assert GEOMETRY[T.CONSTRUCTION_REGIONAL].ink == colors.CONSTRUCTION_REGIONAL_INK


def test_machine_type_codes_are_01_to_27() -> None:
    assert validate("027가1234").class_code == "027"
    assert validate("경기27조1234", T.CONSTRUCTION_REGIONAL).class_code == "27"
    for text, plate_type in (("028가1234", None), ("경기28조1234", T.CONSTRUCTION_REGIONAL)):
        with pytest.raises(InvalidPlateError, match="machine-type code 28 out of range"):
            validate(text, plate_type)


def test_construction_refuses_a_regional_text_naming_the_regional_types() -> None:
    with pytest.raises(InvalidPlateError) as info:
        validate("경기06조7425", T.CONSTRUCTION)
    assert "construction_regional" in info.value.reason
    assert "construction_regional_two_row" in info.value.reason


def test_candidates_list_every_type_a_text_fits() -> None:
    assert candidates("경기06조7425") == [T.GREEN_REGIONAL, *REGIONAL]
    assert candidates("인천06바2696") == [
        T.COMMERCIAL_LONG,
        T.COMMERCIAL_TWO_ROW,
        T.LARGE_COMMERCIAL,
        *REGIONAL,
    ]
    assert candidates("012가4568") == [T.CONSTRUCTION]
    assert candidates("12A3456") == []
    inference = explain("경기06조7425")
    assert inference.picked is T.GREEN_REGIONAL
    assert "1973-2003 green plate" in inference.reason
    assert inference.candidates == (T.GREEN_REGIONAL, *REGIONAL)


def test_validate_lists_candidates_and_why_it_picked(capsys) -> None:
    assert main(["validate", "경기06조7425"]) == 0
    fields = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert fields["type"] == "green_regional"
    assert fields["candidates"] == (
        "green_regional, construction_regional, construction_regional_two_row"
    )
    assert "private syllable '조'" in fields["picked"]
    assert (
        "also valid for construction_regional, construction_regional_two_row" in (fields["picked"])
    )
    assert main(["validate", "경기06조7425", "--type", "construction_regional", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["type"] == "construction_regional"
    assert record["candidates"] == [
        "green_regional",
        "construction_regional",
        "construction_regional_two_row",
    ]
    assert record["picked"] == "given by --type"
    assert main(["validate", "경기06조7425", "--type", "construction"]) == 2
    assert "construction_regional_two_row" in capsys.readouterr().err


def test_csv_type_or_style_column_chooses_the_type(tmp_path: Path) -> None:
    typed = tmp_path / "typed.csv"
    typed.write_text(
        "plate,type\n경기06조7425,construction_regional\n전남14나3323,"
        "construction_regional_two_row\n경기06조7425,\n",
        encoding="utf-8",
    )
    good, bad = read_plate_csv(typed)
    assert not bad
    assert [r.number.type for r in good] == [*REGIONAL, T.GREEN_REGIONAL]
    styled = tmp_path / "styled.csv"
    styled.write_text(
        "file,text,source,style\na.png,경기06조7425,x,region_construction_machinery(06/14 code)\n"
        "b.png,경남82마1555,x,region_old_private\n",
        encoding="utf-8",
    )
    good, bad = read_plate_csv(styled)
    assert not bad
    assert [r.number.type for r in good] == [T.CONSTRUCTION_REGIONAL, T.GREEN_REGIONAL]
    out = tmp_path / "out"
    argv = ["generate", "--csv", str(typed), "--out", str(out), "--progress", "False"]
    assert main([*argv, "--format", "png"]) == 0
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["type"] for e in entries] == [
        "construction_regional",
        "construction_regional_two_row",
        "green_regional",
    ]


@pytest.mark.skipif(REAL_DEV is None, reason="shared/data/real_dev is not available")
def test_every_real_dev_label_renders_as_its_real_type(renderer: Renderer) -> None:
    assert REAL_DEV is not None
    with open(REAL_DEV / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 835
    assert {r["style"] for r in rows} <= set(STYLE_NAMES)
    two_row = 0
    for row in rows:
        plate_type = STYLE_NAMES[row["style"]]
        if row["file"] in TWO_ROW_CROPS:
            assert plate_type is T.CONSTRUCTION_REGIONAL
            plate_type, two_row = T.CONSTRUCTION_REGIONAL_TWO_ROW, two_row + 1
        assert validate(row["text"], row["style"]).type is STYLE_NAMES[row["style"]]
        number = validate(row["text"], plate_type)
        plate = renderer.render_number(number, height=32)
        assert plate.record.plate_type == plate_type.value
        assert plate.record.text == row["text"]
    assert two_row == len(TWO_ROW_CROPS)


def test_the_measuring_tool_finds_the_use_syllable_that_kplate_draws() -> None:
    """tools/measure_construction_two_row.py's use syllable (docs/plate-types.md, session
    31) is the drawn one on kplate's clean plate: its box within 1 % of the plate."""
    from kplate.render import render_plate

    measure = tool("measure_construction_two_row")
    _components, digits, use_syllable = measure._components, measure.digits, measure.use_syllable

    plate = render_plate("전남14나3323", T.CONSTRUCTION_REGIONAL_TWO_ROW, height=220)
    boxes = _components(plate.image, whole=True)
    found = use_syllable(boxes, digits(boxes))
    x0, y0, x1, y1 = plate.record.chars[4].box
    assert plate.record.chars[4].char == "나" and found is not None
    drawn = (x0 / 400, x1 / 400, y0 / 220, y1 / 220)
    assert found == pytest.approx(drawn, abs=0.01)
