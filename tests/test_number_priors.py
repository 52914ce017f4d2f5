"""Number priors (issue #15 items 12-13): realistic numbers by default, uniform on request,
recorded in run.json, and electric plates without 3-digit van/truck codes."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from helpers import one_error_line
from kplate.cli import main
from kplate.errors import InvalidPlateError, KplateError
from kplate.io.manifest import read_metadata
from kplate.numbers import NumberPrior, PlateNumber, sample, validate
from kplate.numbers import priors as priors_module
from kplate.pipeline import GenerateConfig, WriteOptions, generate, write_dataset
from kplate.spec.types import PlateType

T = PlateType
N = 20_000

#: Types whose numbers end in a 4-digit car serial (spec §2.3: issued 0100-9999).
#: Construction has its own serial ranges (government 0001-0999) and diplomatic none.
CAR_SERIAL_TYPES = [t for t in PlateType if t not in (T.CONSTRUCTION, T.DIPLOMATIC)]


def draw(plate_type: PlateType, prior: NumberPrior, seed: int, n: int = N) -> list[PlateNumber]:
    rng = random.Random(seed)
    return [validate(sample(plate_type, rng, prior), plate_type) for _ in range(n)]


def share(numbers: list[PlateNumber], test) -> float:
    return sum(1 for n in numbers if test(n)) / len(numbers)


def code(number: PlateNumber) -> int:
    return int(number.class_code or "")


# --------------------------------------------------------------------------- serials


@pytest.mark.parametrize("plate_type", CAR_SERIAL_TYPES, ids=str)
def test_realistic_serials_are_0100_to_9999_and_uniform_reaches_below(plate_type) -> None:
    realistic = draw(plate_type, NumberPrior.REALISTIC, 1, 5000)
    uniform = draw(plate_type, NumberPrior.UNIFORM, 1, 5000)
    if priors_module.realistic_prior(plate_type) is not None:
        assert min(int(n.serial or "") for n in realistic) >= 100
        assert max(int(n.serial or "") for n in realistic) >= 9900
        # and spread over the range: every leading digit 0-9 occurs
        assert {(n.serial or "")[0] for n in realistic} == set("0123456789")
    # Uniform draws 0001-9999: about 1 % below 0100.
    assert any(int(n.serial or "") < 100 for n in uniform)


def test_the_default_prior_is_realistic() -> None:
    for plate_type in PlateType:
        assert [sample(plate_type, random.Random(3)) for _ in range(20)] == [
            sample(plate_type, random.Random(3), NumberPrior.REALISTIC) for _ in range(20)
        ]
    serials = [int(n.serial or "") for n in draw(T.PRIVATE_2DIGIT, NumberPrior.REALISTIC, 2)]
    assert min(serials) >= 100


# --------------------------------------------------------------------------- class codes


def test_three_digit_private_plates_are_mostly_passenger_codes() -> None:
    """Uniform gave a third of them van/truck codes 700-999; realistic gives 5 %."""
    for plate_type in (T.PRIVATE_3DIGIT, T.PRIVATE_3DIGIT_FILM):
        realistic = draw(plate_type, NumberPrior.REALISTIC, 4)
        assert 0.93 < share(realistic, lambda n: 100 <= code(n) <= 699) < 0.97
        assert share(realistic, lambda n: code(n) >= 998) == 0  # emergency: too rare to draw
        # issued from 100 upward since 2019: the low codes are the most common
        low = share(realistic, lambda n: code(n) < 400)
        assert 0.68 < low < 0.75  # 0.95 x 0.75 for a density falling linearly to 700
        hundreds = Counter(code(n) // 100 for n in realistic if code(n) < 700)
        assert [hundreds[h] for h in range(1, 7)] == sorted(hundreds.values(), reverse=True)
        uniform = draw(plate_type, NumberPrior.UNIFORM, 4)
        assert 0.31 < share(uniform, lambda n: code(n) >= 700) < 0.36


def test_corporate_codes_are_passenger_codes_in_issue_order() -> None:
    numbers = draw(T.CORPORATE, NumberPrior.REALISTIC, 5)
    assert all(100 <= code(n) <= 699 for n in numbers)
    assert 0.72 < share(numbers, lambda n: code(n) < 400) < 0.78


def test_two_digit_plates_follow_the_kind_shares() -> None:
    private = draw(T.PRIVATE_2DIGIT, NumberPrior.REALISTIC, 6)
    assert 0.78 < share(private, lambda n: code(n) <= 69) < 0.82
    assert 0.14 < share(private, lambda n: 80 <= code(n) <= 97) < 0.18
    commercial = draw(T.COMMERCIAL_TWO_ROW, NumberPrior.REALISTIC, 7)
    assert 0.43 < share(commercial, lambda n: 80 <= code(n) <= 97) < 0.47
    # 배 is for delivery vans only: 5 %, where uniform gave it a fifth
    assert 0.04 < share(commercial, lambda n: n.use == "배") < 0.06
    uniform = draw(T.COMMERCIAL_TWO_ROW, NumberPrior.UNIFORM, 7)
    assert share(uniform, lambda n: n.use == "배") > 0.18
    large = draw(T.LARGE_PRIVATE, NumberPrior.REALISTIC, 8, 2000)
    assert all(70 <= code(n) <= 99 for n in large)


@pytest.mark.parametrize(
    "plate_type",
    [T.CONSTRUCTION, T.CONSTRUCTION_REGIONAL, T.CONSTRUCTION_REGIONAL_TWO_ROW],
    ids=str,
)
def test_construction_codes_are_the_machines_on_the_road(plate_type) -> None:
    numbers = draw(plate_type, NumberPrior.REALISTIC, 13, 10_000)
    codes = Counter(code(n) for n in numbers)
    assert [c for c, _ in codes.most_common(2)] == [6, 14]  # dump and mixer trucks
    assert 0.48 < codes[6] / len(numbers) < 0.53
    assert 0.23 < codes[14] / len(numbers) < 0.28
    assert set(codes) <= set(range(1, 28)) and len(codes) == 27  # every kind still occurs
    # the national plate writes the code after a 0; the regional ones after a region
    assert all(
        len(n.class_code or "") == (3 if plate_type is T.CONSTRUCTION else 2) for n in numbers
    )
    serials = [int(n.serial or "") for n in numbers]
    assert 0.47 < sum(s >= 6000 for s in serials) / len(serials) < 0.53  # rental: orange
    assert 0.03 < sum(s < 1000 for s in serials) / len(serials) < 0.07  # government
    assert min(serials) >= 100
    # the uniform prior keeps every kind alike
    uniform = Counter(code(n) for n in draw(plate_type, NumberPrior.UNIFORM, 13, 10_000))
    assert max(uniform.values()) < 0.06 * 10_000


def test_electric_realistic_shares() -> None:
    numbers = draw(T.ELECTRIC, NumberPrior.REALISTIC, 9)
    assert 0.58 < share(numbers, lambda n: len(n.class_code or "") == 3) < 0.62
    assert 0.20 < share(numbers, lambda n: 80 <= code(n) <= 97) < 0.24
    assert all(code(n) <= 699 for n in numbers)


# --------------------------------------------------------------------------- electric grammar


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("933조1735", "truck code (800-979)"),
        ("700가1234", "van/bus code (700-799)"),
        ("799가1234", "van/bus code (700-799)"),
        ("980가1234", "special-vehicle code (980-997)"),
        ("997가1234", "special-vehicle code (980-997)"),
    ],
)
def test_electric_rejects_three_digit_van_and_truck_codes_saying_why(text, kind) -> None:
    with pytest.raises(InvalidPlateError) as raised:
        validate(text, "electric")
    message = str(raised.value)
    assert f"class code {text[:3]} out of range for electric" in message
    assert "passenger codes 100-699" in message
    assert kind in message
    assert "keep 2-digit codes 70-99" in message and "2021-202" in message


def test_electric_keeps_two_digit_codes_and_three_digit_passenger_codes() -> None:
    for text in ("47하1693", "84루4739", "97가1234", "01가1234", "100가1234", "699가1234"):
        assert validate(text, "electric").text == text
    with pytest.raises(InvalidPlateError, match="998 is a 3-digit emergency-vehicle code"):
        validate("998가1234", "electric")
    with pytest.raises(InvalidPlateError, match=r"2 digits \(01-99\) or 3 \(100-699\)"):
        validate("1가1234", "electric")


def test_electric_samples_never_hold_van_or_truck_three_digit_codes() -> None:
    for prior in NumberPrior:
        numbers = draw(T.ELECTRIC, prior, 10)
        three = [code(n) for n in numbers if len(n.class_code or "") == 3]
        assert three and max(three) <= 699
        assert any(70 <= code(n) <= 97 for n in numbers if len(n.class_code or "") == 2)


def test_the_cli_validate_reports_the_electric_reason(capsys) -> None:
    assert main(["validate", "933조1735", "--type", "electric"]) == 2
    output = capsys.readouterr()
    assert "933 is a 3-digit truck code" in output.out + output.err


# --------------------------------------------------------------------------- fallback


def test_types_without_a_realistic_rule_are_drawn_uniformly(monkeypatch) -> None:
    without = [t for t in PlateType if priors_module.realistic_prior(t) is None]
    assert T.DIPLOMATIC in without
    for plate_type in without:
        realistic = [sample(plate_type, random.Random(11)) for _ in range(50)]
        uniform = [sample(plate_type, random.Random(11), "uniform") for _ in range(50)]
        assert realistic == uniform
    # A type the table loses (as a newly added type has no entry) still samples, uniformly.
    table = dict(priors_module._REALISTIC)
    del table[T.PRIVATE_3DIGIT]
    monkeypatch.setattr(priors_module, "_REALISTIC", table)
    rng1, rng2 = random.Random(12), random.Random(12)
    assert [sample(T.PRIVATE_3DIGIT, rng1) for _ in range(50)] == [
        sample(T.PRIVATE_3DIGIT, rng2, NumberPrior.UNIFORM) for _ in range(50)
    ]


def test_unknown_prior_names_the_choices() -> None:
    with pytest.raises(KplateError, match="prior must be one of realistic, uniform, got 'flat'"):
        sample(T.PRIVATE_2DIGIT, random.Random(1), "flat")
    with pytest.raises(KplateError, match="number_prior must be one of realistic, uniform"):
        GenerateConfig(count=1, number_prior="flat")  # type: ignore[arg-type]
    assert GenerateConfig(count=1, number_prior="Uniform").number_prior is NumberPrior.UNIFORM  # type: ignore[arg-type]


# --------------------------------------------------------------------------- generate


def texts(config: GenerateConfig) -> list[str]:
    return [entry["text"] for _, entry in generate(config)]


def test_generate_is_deterministic_per_seed_and_prior() -> None:
    types = (T.PRIVATE_3DIGIT, T.ELECTRIC, T.COMMERCIAL_LONG)
    realistic = GenerateConfig(count=40, seed=21, types=types, height=24)
    uniform = GenerateConfig(
        count=40, seed=21, types=types, height=24, number_prior=NumberPrior.UNIFORM
    )
    first = texts(realistic)
    assert first == texts(realistic)
    assert texts(uniform) == texts(uniform)
    assert first != texts(uniform)
    for text in first:
        serial = int(text[-4:])
        assert serial >= 100


def test_run_json_records_the_prior(tmp_path: Path) -> None:
    def recorded(out: Path) -> object:
        return json.loads((out / "run.json").read_text(encoding="utf-8"))["config"]["number_prior"]

    options = {"progress": False}
    write_dataset(GenerateConfig(count=2, height=24), WriteOptions(out=tmp_path / "a", **options))
    assert recorded(tmp_path / "a") == "realistic"
    uniform = GenerateConfig(count=2, height=24, number_prior=NumberPrior.UNIFORM)
    write_dataset(uniform, WriteOptions(out=tmp_path / "b", **options))
    assert recorded(tmp_path / "b") == "uniform"
    # A CSV run's numbers are its rows: no prior is recorded, whatever the config holds.
    rows = (("12가3456", "private_2digit"),)
    csv_run = GenerateConfig(plates=rows, height=24, number_prior=NumberPrior.UNIFORM)
    write_dataset(csv_run, WriteOptions(out=tmp_path / "c", **options))
    assert recorded(tmp_path / "c") is None


def test_resume_with_another_prior_is_refused(tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "out")
    base = ["generate", "--count", "4", "--height", "24", "--out", out, "--progress=False"]
    assert main([*base, "--prior", "uniform"]) == 0
    written = read_metadata(tmp_path / "out" / "metadata.jsonl")
    assert main([*base, "--prior", "uniform"]) == 0  # the same run: resumed (complete)
    capsys.readouterr()
    assert main(base) == 2  # the default, realistic, is another run
    line = one_error_line(capsys, "generate")
    assert "holds a different kplate run" in line
    assert 'config.number_prior: "uniform" there, "realistic" now' in line
    assert main([*base, "--prior", "realistic"]) == 2
    capsys.readouterr()
    assert read_metadata(tmp_path / "out" / "metadata.jsonl") == written  # untouched
    assert main([*base, "--prior", "realistic", "--overwrite"]) == 0
    assert [e["text"] for e in read_metadata(tmp_path / "out" / "metadata.jsonl")] != [
        e["text"] for e in written
    ]


def test_prior_flag_with_csv_is_refused_and_old_aliases_keep_their_meaning(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "plates.csv"
    path.write_text("plate\n12가3456\n", encoding="utf-8")
    out = tmp_path / "csv"
    assert main(["generate", "--csv", str(path), "--prior", "uniform", "--out", str(out)]) == 2
    assert "--prior does not apply to --csv" in one_error_line(capsys, "generate")
    assert not out.exists()
    # The earlier project's --number_of_plates, spelled in full, as -np and abbreviated
    # to --number (argparse takes a unique prefix: hence the flag is not --numbers).
    for flag in ("--number_of_plates", "-np", "--number"):
        out = tmp_path / flag.strip("-")
        args = ["generate", flag, "3", "--save_path", str(out), "--height", "24"]
        assert main([*args, "--progress=False"]) == 0
        assert len(read_metadata(out / "metadata.jsonl")) == 3
        config = json.loads((out / "run.json").read_text(encoding="utf-8"))["config"]
        assert config["count"] == 3 and config["number_prior"] == "realistic"
