"""`kplate evaluate preservation`: does translating synthetic plates keep their text?

A recogniser that reads clean synthetic plates (trained on the source folder, or loaded
with --recogniser) reads each source image and its translated counterpart, matched by
file name (relative path). The accuracy drop and the list of images whose reading
changed show where translation rewrote the characters instead of only the style.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from kplate.errors import KplateError, option_error
from kplate.evaluate import report
from kplate.evaluate.data import LabelledImage, load_labelled, open_image
from kplate.evaluate.recogniser import DEFAULT_STEPS, Recogniser, train_recogniser

CHUNK = 256
MAX_CHANGED_SHOWN = 100


class Reader(Protocol):
    """Anything with `read(images) -> texts`; a `Recogniser` is one."""

    def read(self, images: Sequence[Image.Image]) -> list[str]: ...


def _read_all(reader: Reader, items: Sequence[LabelledImage]) -> dict[str, str]:
    """key -> reading for every decodable image; unreadable ones are left out."""
    readings: dict[str, str] = {}
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        loaded = [(item.key, open_image(item.path)) for item in chunk]
        kept = [(key, image) for key, image in loaded if image is not None]
        texts = reader.read([image for _, image in kept]) if kept else []
        readings.update(zip([key for key, _ in kept], texts, strict=True))
    return readings


def compare_preservation(
    reader: Reader, source: Sequence[LabelledImage], translated: Sequence[LabelledImage]
) -> dict[str, Any]:
    """Accuracy on each side (against the source label), the drop, and the changed readings."""
    by_key = {item.key: item for item in translated}
    pairs = [(item, by_key[item.key]) for item in source if item.key in by_key]
    if not pairs:
        raise option_error(
            "no file names in common between {source} and {translated}",
            source="source",
            translated="translated",
        )
    source_reads = _read_all(reader, [s for s, _ in pairs])
    translated_reads = _read_all(reader, [t for _, t in pairs])
    both = [(s, t) for s, t in pairs if s.key in source_reads and t.key in translated_reads]
    if not both:
        raise KplateError("no readable image pairs")
    changed = []
    source_hits = translated_hits = lost = 0
    for s, t in both:
        a, b = source_reads[s.key], translated_reads[t.key]
        source_hits += a == s.text
        translated_hits += b == s.text
        lost += a == s.text and b != s.text
        if a != b:
            changed.append(
                {"key": s.key, "label": s.text, "source_read": a, "translated_read": b,
                 "source_file": str(s.path), "translated_file": str(t.path)}
            )  # fmt: skip
    n = len(both)
    return {
        "pairs": n,
        "source_accuracy": source_hits / n,
        "translated_accuracy": translated_hits / n,
        "drop": (source_hits - translated_hits) / n,
        "lost": lost,
        "changed_count": len(changed),
        "changed": changed,
        "unmatched_source": len(source) - len(pairs),
        "unmatched_translated": len(translated) - len(pairs),
        "unreadable_pairs": len(pairs) - n,
        "label_mismatches": sum(s.text != t.text for s, t in pairs),
    }


def run_preservation(
    source_dir: str | Path,
    translated_dir: str | Path,
    out: str | Path,
    *,
    recogniser_path: str | Path | None = None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole command: returns what preservation.json holds."""
    inputs = [("source", source_dir), ("translated", translated_dir)]
    report.check_report_folder(out, [*inputs, ("recogniser", recogniser_path)])
    source = load_labelled(source_dir)
    translated = load_labelled(translated_dir)
    recogniser = Recogniser.load(recogniser_path) if recogniser_path is not None else None
    out = report.make_out(out)
    started = time.monotonic()
    if recogniser is None:
        recogniser = train_recogniser([source], steps, seed, progress=progress)
        recogniser.save(out / "recogniser.pt")
    result = {
        "source": str(source_dir),
        "translated": str(translated_dir),
        "recogniser": str(recogniser_path) if recogniser_path else "trained on --source",
        "recipe": recogniser.recipe,
        **compare_preservation(recogniser, source, translated),
    }
    result["seconds"] = round(time.monotonic() - started, 1)
    report.write_json(out / "preservation.json", result)
    write_preservation_page(out, result)
    if progress is not None and result["label_mismatches"]:
        progress(mismatch_warning(result))
    return result


def mismatch_warning(result: dict[str, Any]) -> str:
    """The line that says the two folders do not hold the same plates under the same names:
    "0 readings changed" alone would read as perfect preservation."""
    pairs = result["pairs"] + result["unreadable_pairs"]
    return (
        f"warning: {result['label_mismatches']} of {pairs} matched file names have different "
        "labels in --source and --translated: these are not the same plates, so the "
        "readings say nothing about preservation"
    )


def write_preservation_page(out: Path, result: dict[str, Any]) -> Path:
    rows = []
    for k, item in enumerate(result["changed"][:MAX_CHANGED_SHOWN]):
        a = report.save_thumbnail(Path(item["source_file"]), out, f"src_{k:03d}")
        b = report.save_thumbnail(Path(item["translated_file"]), out, f"trn_{k:03d}")
        rows.append(
            [report.img(a, "source", "thumb"), report.img(b, "translated", "thumb"),
             f"<code>{report.esc(item['label'])}</code>",
             f"<code>{report.esc(item['source_read']) or '&empty;'}</code>",
             f'<code class="bad">{report.esc(item["translated_read"]) or "&empty;"}</code>',
             report.esc(item["key"])]
        )  # fmt: skip
    summary = report.table(
        ["", "value"],
        [
            ["image pairs", result["pairs"]],
            ["accuracy on source", result["source_accuracy"]],
            ["accuracy on translated", result["translated_accuracy"]],
            ["drop", result["drop"]],
            ["readings changed", result["changed_count"]],
            ["read right on source, wrong on translated", result["lost"]],
            ["label mismatches between manifests", result["label_mismatches"]],
            ["unmatched (source / translated)",
             f"{result['unmatched_source']} / {result['unmatched_translated']}"],
            ["unreadable pairs", result["unreadable_pairs"]],
        ],
    )  # fmt: skip
    shown = min(len(result["changed"]), MAX_CHANGED_SHOWN)
    return report.write_page(
        out,
        "kplate label preservation report",
        [
            ("", f"<p>Source: {report.esc(result['source'])}; translated: "
                 f"{report.esc(result['translated'])}; recogniser: "
                 f"{report.esc(result['recogniser'])}.</p>"),
            ("Summary", summary),
            ("Changed readings", f"<p>{shown} of {result['changed_count']} shown.</p>"
             + report.table(["source", "translated", "label", "source read", "translated read",
                             "file"], rows, raw=True)),
        ],
    )  # fmt: skip
