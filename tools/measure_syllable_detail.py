"""How much of each plate's use syllable survives its camera draw, in a kplate dataset.

    python tools/measure_syllable_detail.py FOLDER                 # a table by share kept
    python tools/measure_syllable_detail.py FOLDER --reader R.pt   # and what a reader missed

The legibility rule holds each character's height and contrast, but a syllable is told
from its neighbour (`머`/`버`, `바`/`마`) by one short stroke, and a draw can keep a
character's size and contrast while losing that stroke. For every plate whose use field
is one syllable, the plate is drawn again with that syllable swapped for its look-alike
(the valid syllable whose clean drawing is nearest in its box) and both go through the very
camera draw the image got (`Augmenter.apply` with the params in metadata.jsonl, the
renderer and augmentation that run.json names). The share kept is the RMS difference
of the two in the syllable's box after the draw over the same difference clean: 1 when the
draw keeps the stroke that tells them apart as the clean drawing shows it, 0 when the two
come out the same. docs/evaluate.md (session 47) has what it found on the scoreboard's
fitted set.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.augment import build_augmenter  # noqa: E402
from kplate.errors import KplateError  # noqa: E402
from kplate.numbers import validate  # noqa: E402
from kplate.pipeline.config import GenerateConfig  # noqa: E402
from kplate.render import Renderer, glyph_source  # noqa: E402
from kplate.spec.alphabet import grammar_alphabet  # noqa: E402
from kplate.spec.types import PlateType  # noqa: E402

#: Bins of the share kept for the printed table.
EDGES = (0.0, 0.10, 0.15, 0.25, 0.40, float("inf"))
SYLLABLES = sorted(c for c in grammar_alphabet() if "\uac00" <= c <= "\ud7a3")


@dataclass(frozen=True)
class Detail:
    """One plate: its file, type, use syllable, look-alike, effective height and share kept."""

    file: str
    type: str
    syllable: str
    look_alike: str
    height_px: float | None
    kept: float


class Redrawer:
    """Draws a dataset's plates again as its run drew them, from run.json."""

    def __init__(self, folder: Path) -> None:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))["config"]
        if not run.get("augment"):
            raise KplateError(f"{folder / 'run.json'}: the run has no augmentation to replay")
        self.height, self.width = run["height"], run["width"]
        self.renderer = Renderer(
            glyph_source(run.get("font"), run.get("glyph_dir")),
            emboss_depth_mm=run.get("emboss_depth_mm", GenerateConfig.emboss_depth_mm),
        )
        # a mix's apply reproduces a draw with the preset its params name
        self.augmenter = build_augmenter(run["augment"])

    def clean(self, text: str, plate_type: PlateType, shade: int | None) -> Any:
        number = validate(text, plate_type)
        return self.renderer.render_number(
            number, height=self.height, width=self.width, shade=shade
        )

    def drawn(self, plate: Any, params: dict) -> np.ndarray:
        """A clean plate put through the recorded camera draw `params`."""
        return self.augmenter.apply(plate.image, plate.record, params)[0]

    def look_alike(
        self, base: Any, text: str, plate_type: PlateType, syllable: str, shade: int | None
    ) -> tuple[str, float] | None:
        """The valid syllable whose clean drawing is nearest to `base`'s (the clean plate of
        `text`) in `syllable`'s box, and that RMS distance (grey levels); None when no other
        syllable is valid there."""
        box = box_of([(c.char, c.box) for c in base.record.chars], syllable)
        best = None
        for other in SYLLABLES:
            if other == syllable:
                continue
            try:
                image = self.clean(swapped(text, syllable, other), plate_type, shade).image
            except KplateError:
                continue
            distance = rms(grey(image, box) - grey(base.image, box))
            if best is None or distance < best[1]:
                best = (other, distance)
        return best


def swapped(text: str, syllable: str, other: str) -> str:
    """`text` with its use syllable (the last occurrence: regions come first) replaced."""
    k = text.rfind(syllable)
    return text[:k] + other + text[k + 1 :]


def last_index(chars: list[tuple[str, Any]], char: str) -> int:
    """Where `char` last occurs in (character, box) pairs: the use syllable, after any
    region name that shares it."""
    return max(k for k, (name, _) in enumerate(chars) if name == char)


def box_of(chars: list[tuple[str, Any]], char: str) -> tuple[int, int, int, int]:
    """The box of `char`'s last occurrence in (character, box) pairs."""
    x0, y0, x1, y1 = chars[last_index(chars, char)][1]
    return x0, y0, x1, y1


def grey(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    h, w = image.shape[:2]
    part = image[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)].astype(np.float64)
    return part.mean(axis=-1) if part.ndim == 3 else part


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0


def details(folder: Path) -> Iterator[Detail]:
    """The share kept for every plate of `folder` whose use field is one syllable."""
    redraw = Redrawer(folder)
    with open(folder / "metadata.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            syllable = (record.get("fields") or {}).get("use") or ""
            params = record.get("augment")
            if len(syllable) != 1 or not params:
                continue
            plate_type = PlateType(record["type"])
            shade = (record.get("colour") or {}).get("shade")
            base = redraw.clean(record["text"], plate_type, shade)
            near = redraw.look_alike(base, record["text"], plate_type, syllable, shade)
            if near is None or near[1] == 0:
                continue
            other = redraw.clean(swapped(record["text"], syllable, near[0]), plate_type, shade)
            a, b = redraw.drawn(base, params), redraw.drawn(other, params)
            chars = [(c["char"], c["box"]) for c in record["chars"]]
            box, index = box_of(chars, syllable), last_index(chars, syllable)
            heights = (params.get("legibility") or {}).get("char_height_px")
            yield Detail(
                Path(record["file_name"]).name,
                record["type"],
                syllable,
                near[0],
                heights[index] if heights else None,
                rms(grey(a, box) - grey(b, box)) / near[1],
            )


def missed_files(folder: Path, reader: Path) -> set[str]:
    """The images of `folder` that the recogniser saved at `reader` does not read right."""
    from kplate.evaluate import evaluate_recognition
    from kplate.evaluate.recogniser import Recogniser

    samples = evaluate_recognition(Recogniser.load(reader), folder)["samples"]
    return {Path(s["file"]).name for s in samples if s["label"] != s["predicted"]}


def table(found: list[Detail], missed: set[str] | None) -> str:
    head = "| share of the syllable's detail kept | plates |" + (
        " missed |" if missed is not None else ""
    )
    lines = [head, "|---|---|" + ("---|" if missed is not None else "")]
    for lo, hi in itertools.pairwise(EDGES):
        inside = [d for d in found if lo <= d.kept < hi]
        label = f"{lo:.2f}-{hi:.2f}" if hi != float("inf") else f"{lo:.2f} or more"
        row = f"| {label} | {len(inside)} |"
        if missed is not None:
            row += f" {sum(d.file in missed for d in inside)} |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a kplate dataset drawn with augmentation")
    parser.add_argument("--reader", type=Path, help="a saved recogniser: count its misses")
    args = parser.parse_args(argv)
    try:
        found = list(details(args.folder))
        missed = None if args.reader is None else missed_files(args.folder, args.reader)
    except (KplateError, OSError, KeyError, ValueError) as error:
        print(f"measure_syllable_detail: {args.folder}: {error}", file=sys.stderr)
        return 2
    kept = np.array([d.kept for d in found])
    print(f"{len(found)} plates with a one-syllable use field")
    if len(found):
        p5, p50 = np.percentile(kept, [5, 50])
        print(f"share kept: median {p50:.2f}, 5th percentile {p5:.2f}")
    print(table(found, missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
