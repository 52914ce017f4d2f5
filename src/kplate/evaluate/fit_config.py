"""The YAML file `kplate fit` writes: the fitted config, with what it was fitted to as comments.

Comments, because a config holds only groups of effects (and `preset`), which is what
`--augment-config` validates; nothing of the real crops goes in but counts and numbers
measured on them. The first line is `MARKER`: a file without it was not written by
`kplate fit` and is never overwritten. The text is read back with `load_spec` before it
replaces anything, so a written file always loads.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from kplate.augment.presets import GROUPS, SCHEMA, load_spec
from kplate.errors import KplateError
from kplate.evaluate import statistics
from kplate.evaluate.fit import MARKER, WITH_CRITIC, FitResult, describe_share
from kplate.io.files import file_mode
from kplate.limits import YAML_SUFFIXES


def check_out(out: str | Path) -> Path:
    """`--out` as a path that may be (over)written, or a one-line error; touches nothing."""
    path = Path(out)
    if path.suffix.lower() not in YAML_SUFFIXES:
        raise KplateError(f"--out {path}: must end in .yaml or .yml")
    parent = path.parent
    if not parent.is_dir():
        raise KplateError(f"--out {path}: folder {parent} does not exist")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise KplateError(f"--out {path}: exists and is not a regular file")
    if path.exists() and not _written_by_fit(path):
        raise KplateError(
            f"--out {path}: exists and was not written by kplate fit; remove it or choose "
            "another name"
        )
    return path


def _written_by_fit(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MARKER)) == MARKER.encode()
    except OSError:
        return False


def _number(value: float | int, kind: str) -> str:
    return str(int(value)) if kind == "int" else repr(float(value))


def _effect_line(group: str, effect: str, entry: dict[str, Any]) -> str:
    parts = [f"p: {entry['p']!r}"]
    for name, param in SCHEMA[group][effect].items():
        value = entry[name]
        if param.kind == "choice":
            parts.append(f"{name}: [{', '.join(value)}]")
        else:
            lo, hi = (_number(v, param.kind) for v in value)
            parts.append(f"{name}: [{lo}, {hi}]")
    return f"  {effect}: {{{', '.join(parts)}}}"


def critic_line(section: dict[str, Any], folder: Path | None) -> str:
    """A config's `critic` line; its file by name when it lies in `folder` (else as
    given)."""
    path = Path(section["file"])
    name = path.name if folder is not None and path.parent == folder.resolve() else str(path)
    return (
        f"critic: {{file: {name}, candidates: {section['candidates']}, "
        f"temper: {section['temper']!r}}}"
    )


def spec_text(spec: dict[str, Any], folder: Path | None = None) -> str:
    """The spec as YAML, one flow mapping per effect, in the pipeline's group order; a
    critic's file by its name when it lies in `folder` (the config's own)."""
    lines = []
    for group in GROUPS:
        effects = spec.get(group)
        if not effects:
            continue
        lines.append(f"{group}:")
        lines.extend(
            _effect_line(group, effect, effects[effect])
            for effect in SCHEMA[group]
            if effect in effects
        )
    if "critic" in spec:
        lines.append(critic_line(spec["critic"], folder))
    return "\n".join(lines) + "\n"


def header(result: FitResult, out_name: str) -> list[str]:
    """The comment lines: what the config was fitted to and how well it matches."""
    real = result.real
    search = f"{result.evaluations} evaluations (at most {result.planned}), {result.knobs} knobs"
    if result.cut_by_budget:
        search += f"; cut by the budget: --evaluations {result.evaluations} repeats it"
    auto = ""
    if result.preset_scores:
        shown = ", ".join(f"{n} {v:.3f}" for n, v in result.preset_scores.items())
        swept = ", ".join(f"{n} {v:.3f}" for n, v in result.first_sweep.items())
        auto = f" (--base auto: presets {shown}; after one sweep {swept})"
    lines = [
        f"{MARKER} augmentation fitted to real crops "
        "(kplate generate --augment-config FILE); kplate overwrites only files with this line",
        f"# fitted to: {real.name} ({real.files} images, {len(real.arrays)} measured, "
        f"{real.skipped} unreadable; labels not read)",
        f"# base: {result.base_name}{auto}; plate types: {result.types}; height: {result.height}; "
        f"seed: {result.seed}; {result.sample} plates per candidate",
        f"# search: {search}",
        f"# {describe_share(result.infrared)}",
        "# objective: mean distance of the fitted statistics to the real crops' (Wasserstein,",
        "#   in real standard deviations; 0 = same distributions):",
        f"#   search sample: base {result.objective['base']:.3f} -> fitted "
        f"{result.objective['fitted']:.3f}",
    ]
    if result.check:
        lines.append(
            f"#   {result.check} unseen plates: base {result.check_objective['base']:.3f} -> "
            f"fitted {result.check_objective['fitted']:.3f}"
        )
    # The fitted config as `kplate generate` draws it, through its critic, where it has one.
    sides = tuple(side for side in ("base", "fitted", WITH_CRITIC) if side in result.summaries)
    if result.realism:
        base, fitted = result.realism["base"], result.realism["fitted"]
        chosen = result.realism.get(WITH_CRITIC)
        through = "" if chosen is None else f" -> with its critic {chosen['accuracy']:.3f}"
        lines.append(
            "# two-sample accuracy against the real crops (0.5 = cannot be told apart): "
            f"base {base['accuracy']:.3f} -> fitted {fitted['accuracy']:.3f}{through} "
            f"({fitted['test_images']} held out)"
        )
    lines.append(
        "# statistic: real median | base median (distance) | fitted median (distance)"
        + (" | with its critic median (distance)" if WITH_CRITIC in sides else "")
    )
    for name in statistics.STATS:
        real_median = result.summaries["real"][name]
        value = "mean" if name == "grey" else "median"  # grey: the greyscale share
        cells = [f"{real_median[value]:.4f}"]
        for side in sides:
            cells.append(
                f"{result.summaries[side][name][value]:.4f} ({result.distances[side][name]:.2f})"
            )
        label = "grey share" if name == "grey" else name
        if name not in statistics.FITTED:
            label += " (shown, not fitted)"
        lines.append(f"#   {label}: " + " | ".join(cells))
    for side in ("real", "generated"):
        aspect, height = result.shapes[side]["aspect"], result.shapes[side]["height"]
        lines.append(
            f"#   {side} crop shape (not fitted): aspect {aspect['median']:.2f} "
            f"({aspect['p5']:.2f}-{aspect['p95']:.2f}), height {height['median']:.0f} px "
            f"({height['p5']:.0f}-{height['p95']:.0f}); median (5th-95th percentile)"
        )
    if result.guide:
        guide = result.guide
        lines.append(
            f"# guide: {guide['evaluations']} more evaluations scored by the statistics plus "
            f"{guide['weight']:g} x a first critic's odds that a draw is drawn: statistics "
            f"{guide['statistics'][0]:.3f} -> {guide['statistics'][1]:.3f}, odds "
            f"{guide['drawn'][0]:.3f} -> {guide['drawn'][1]:.3f}"
        )
    if result.critic:
        done = result.critic
        lines.append(
            f"# critic: of {done['candidates']} camera draws per plate, one is kept by the odds "
            f"of a CNN trained {done['steps']} steps on the {done['real']} real crops against "
            f"{done['draws']} draws (its accuracy on them: {done['train_accuracy']:.3f})"
        )
    types = "" if result.types == "all" else f" --types {result.types}"
    lines.append(
        f"# use: kplate generate --augment-config {out_name} --height {result.height}{types}"
    )
    return lines


#: What `header` records of the draw a config was fitted at: its plate types and height.
_FITTED_AT = re.compile(r"; plate types: ([^;]+); height: ([^;]+);")
#: The header lines searched for it (it is on the third).
_HEAD_LINES = 5


def fitted_at(path: str | Path) -> tuple[str, str] | None:
    """The `--types` and `--height` a config that `kplate fit` wrote was fitted at, from its
    header; None for any other file, or one that is not a readable regular file (loading
    it as a config reports that)."""
    path = Path(path)
    try:
        if not path.is_file():
            return None
        with open(path, encoding="utf-8") as handle:
            head = [handle.readline() for _ in range(_HEAD_LINES)]
    except (OSError, UnicodeDecodeError):
        return None
    if not head[0].startswith(MARKER):
        return None
    found = next((m for m in map(_FITTED_AT.search, head) if m), None)
    return None if found is None else (found.group(1).strip(), found.group(2).strip())


def _type_set(types: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in types.split(",") if part.strip())


def drawing_note(path: str | Path, types: str, height: int | None) -> str | None:
    """One line when a config that `kplate fit` wrote is drawn at other plate types or
    another height than it was fitted at, else None. Why: its probabilities and ranges
    match the real crops for the images of its own types and height (the same config drawn
    at realistic shares instead of the even types it was fitted at reads 0.885 in the
    two-sample test against real_dev, not 0.833: docs/fit.md)."""
    fitted = fitted_at(path)
    if fitted is None:
        return None
    fitted_types, fitted_height = fitted
    differs = []
    if _type_set(types) != _type_set(fitted_types):
        differs.append(f"--types {types.strip()} (fitted at {fitted_types})")
    if height is not None and fitted_height != "None" and str(height) != fitted_height:
        differs.append(f"--height {height} (fitted at {fitted_height})")
    if not differs:
        return None
    return (
        f"note: {path}: drawn at {' and '.join(differs)}; it matches the real crops at the "
        "types and height it was fitted at (docs/fit.md)"
    )


def config_text(result: FitResult, out_name: str, folder: Path | None = None) -> str:
    return "\n".join(header(result, out_name)) + "\n" + spec_text(result.spec, folder)


def write_fit_config(result: FitResult, out: str | Path) -> Path:
    """Write the fitted config to `out` through a temporary beside it, read back with
    load_spec (it must give the fitted spec) before it replaces anything."""
    path = check_out(out)
    text = config_text(result, path.name, path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise KplateError(f"--out {path}: cannot write here ({error.strerror})") from None
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        _, loaded = load_spec(tmp)
        if loaded != result.spec:
            raise KplateError(f"--out {path}: the written config does not read back as fitted")
        check_out(path)  # still ours (or absent) just before it is replaced
        os.replace(tmp, path)
    except OSError as error:
        raise KplateError(f"--out {path}: write failed ({error.strerror or error})") from None
    finally:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
    return path
