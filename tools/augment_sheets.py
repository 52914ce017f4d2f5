"""Remake docs/images/augment/<preset>.png and the ranges table in docs/augment.md.

python tools/augment_sheets.py            # the committed docs: synthetic plates only
python tools/augment_sheets.py --compare /tmp/augment-vs-real
    # also write sheets with real crops beside them, from ../shared when present;
    # those are for looking only and must never be committed (real images).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.augment.presets import PRESETS, ranges_table  # noqa: E402
from kplate.io.files import atomic_save_image  # noqa: E402
from kplate.pipeline.preview import preview_sheet, real_crops  # noqa: E402

DOC = REPO / "docs" / "augment.md"
IMAGES = REPO / "docs" / "images" / "augment"
BEGIN, END = "<!-- ranges:begin -->", "<!-- ranges:end -->"
HEADER = ["| preset | effect | p | parameter | range |", "|---|---|---|---|---|"]
TEXTS = {"light": "12가3456", "heavy": "123가4567", "cctv": "12가3456", "night": "서울12가3456"}


def update_table(doc: Path = DOC) -> None:
    """Rewrite the table between the markers from the preset definitions."""
    rows = [*HEADER]
    for name, spec in PRESETS.items():
        rows.extend(ranges_table(name, spec))
    text = doc.read_text(encoding="utf-8")
    block = f"{BEGIN}\n" + "\n".join(rows) + f"\n{END}"
    text, n = re.subn(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{doc}: expected one {BEGIN} ... {END} block")
    doc.write_text(text, encoding="utf-8")
    print(f"updated {doc}")


def shared_real() -> Path | None:
    for root in (REPO.parent / "shared", Path("/work/shared")):
        folder = root / "data" / "real_dev" / "images"
        if folder.is_dir():
            return folder
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="also write sheets with real crops here")
    parser.add_argument("--count", type=int, default=11)
    args = parser.parse_args()
    update_table()
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in PRESETS:
        sheet = preview_sheet(name, TEXTS[name], None, count=args.count, seed=0, height=110)
        atomic_save_image(sheet, IMAGES / f"{name}.png")
        print(f"wrote {IMAGES / name}.png")
    if args.compare:
        real_dir = shared_real()
        if real_dir is None:
            raise SystemExit("no ../shared real crops here; --compare needs them")
        if args.compare.resolve().is_relative_to(REPO):
            raise SystemExit("--compare must point outside the repository (real images)")
        args.compare.mkdir(parents=True, exist_ok=True)
        for name in PRESETS:
            real = real_crops(real_dir, args.count, seed=1)
            sheet = preview_sheet(
                name, TEXTS[name], None, count=args.count, seed=0, height=110, real=real
            )
            atomic_save_image(sheet, args.compare / f"{name}.png")
            print(f"wrote {args.compare / name}.png")


if __name__ == "__main__":
    main()
