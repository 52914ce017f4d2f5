"""`kplate fit`: search an augmentation config whose images look like a folder of real crops.

The objective is cheap on purpose (a 2-core CPU scores hundreds of candidates): draw a
fixed sample of clean plates once, augment them with a candidate config (each plate with
its own seed, as `kplate generate` does), squeeze them to the realism test's 48x160, and
take the mean over the image statistics of `statistics.distances` against the real
crops. The same plates and seeds serve every candidate (common random numbers), and the
augmenter draws every effect's values whether it fires or not, so two candidates differ
only by their parameters, not by luck.

The search space is read from the base config and SCHEMA, never a fixed list: every
effect of the base, plus every other effect some preset uses (starting switched off,
with the widest range the presets give it). Per effect three kinds of knob: its
probability, the position of each parameter's range (shifted toward the parameter's
lower or upper hard limit) and the width of its ranges (scaled). Hard limits are
SCHEMA's, so every candidate is a valid config. One probability is not searched but
counted (COUNT): the share of plates drawn by an infrared camera, from the real crops'
share of greyscale images.

The search is a seeded coordinate search with successive halving: a sweep tries each
knob one step up, then down, and keeps any step that lowers the objective; after each
sweep the steps halve and only the more telling half of the knobs (those whose steps
moved the objective most) stays in the search. The plan is fixed by the seed; the time
budget can only cut it short, and the result records after how many evaluations, so
`evaluations=N` repeats a cut run exactly.

At the end, base and fitted are compared on plates the search never saw: the same
statistics, and the classifier two-sample test of `kplate evaluate realism`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kplate.augment.pipeline import Augmenter
from kplate.augment.presets import GROUPS, PRESETS, SCHEMA, load_spec, validate_spec
from kplate.errors import KplateError
from kplate.evaluate import statistics
from kplate.evaluate.defaults import (
    CRITIC_DRAWS,
    CRITIC_GUIDE,
    CRITIC_GUIDE_EVALUATIONS,
    CRITIC_STEPS,
    FIT_BASE,
    FIT_BUDGET_MINUTES,
    FIT_CHECK,
    FIT_SAMPLE,
)
from kplate.io.images import is_image_name
from kplate.numbers.type_shares import NAMED_MIXES, types_and_weights
from kplate.pipeline import GenerateConfig, PlateFactory
from kplate.spec.types import PlateType, parse_plate_types

#: Of geometry, the search moves where the plate sits in its crop (its size, shift and
#: margins), which the layout statistics measure (statistics.LAYOUT); the plate's pose
#: (rotation, shear, perspective) and the background kinds stay as the base has them, as
#: no statistic measures them apart from noise.
SEARCHED_EFFECTS: dict[str, tuple[str, ...]] = {
    group: ("scale", "translate", "margin") if group == "geometry" else tuple(SCHEMA[group])
    for group in GROUPS
}
DEFAULT_BASE = FIT_BASE
#: `--base auto`: start from the preset whose images are already closest to the real crops.
AUTO = "auto"
DEFAULT_BUDGET_MINUTES = FIT_BUDGET_MINUTES
MAX_BUDGET_MINUTES = 24 * 60.0
DEFAULT_SAMPLE = FIT_SAMPLE  # plates per candidate
DEFAULT_CHECK = FIT_CHECK  # plates per config in the final check (at most the real count)
MAX_REAL = 1000  # real crops measured at most (a seeded subsample of larger folders)
MIN_REAL = 8
SWEEPS = 5
EXTRA_STEPS = 3  # after a step that helps, up to this many more the same way
MIN_KNOBS = 8  # successive halving never keeps fewer knobs than this
#: A step must lower the objective by more than this to be kept (not noise-level gains).
TOLERANCE = 1e-4
#: The search's pull toward the base: this much objective per knob moved across its
#: whole range (so an effect is not turned to an extreme for a sliver of a better match).
PRIOR_WEIGHT = 0.02
#: Initial step per knob kind: probability (absolute), range position (fraction of the way
#: to a hard limit), range width (log2 of the scale factor).
STEPS = {"p": 0.25, "shift": 0.3, "width": 1.0}
BOUNDS = {"shift": (-1.0, 1.0), "width": (-3.0, 1.0)}  # width: 1/8 to 2 times the base's
DIGITS = 4
#: The first line of every file `kplate fit` writes; a file without it is never overwritten.
MARKER = "# kplate fit:"
#: The critic's guide (`add_critic`, off at 0): after the statistics search, a first
#: critic is trained against the fitted config's draws, and the search goes on for
#: GUIDE_EVALUATIONS candidates with the objective plus the guide's weight x that critic's
#: mean odds that a candidate's draws are drawn, not real; the kept critic then learns the
#: guided config's draws. Why: the statistics' marginals match while the two-sample test
#: still tells the sets apart by what no statistic measures. At a weight of 3 the search
#: turned to what fooled that one critic (its odds 0.90 -> 0.08, statistics 0.23 -> 0.60)
#: and the test read higher, not lower; why it is off: evaluate/defaults.py, docs/fit.md.
GUIDE_WEIGHT = CRITIC_GUIDE
GUIDE_EVALUATIONS = CRITIC_GUIDE_EVALUATIONS
#: `--infrared-share`: how often the fitted config's camera is an infrared one. COUNT (the
#: default): counted from the real crops, the share at which the draws come out greyscale
#: as often as they do; the search then leaves it alone. SEARCH: a knob of the search like
#: any other. Or a number from 0 to 1. Why counted: the objective is a mean of thirteen
#: distances, and on real_dev the grey-share distance (0.49 -> 0.10 real spreads at 75 %
#: infrared) was outweighed by brightness and layout moving the other way, so the search
#: kept infrared on every plate of a folder a fifth of whose crops are colour
#: (docs/fit.md, "The infrared share").
COUNT = "count"
SEARCH = "search"
INFRARED = ("camera", "infrared")


@dataclass(frozen=True)
class Knob:
    """One coordinate of the search: an effect's `p`, one parameter's range position, or
    the width of all of the effect's ranges."""

    group: str
    effect: str
    kind: str  # "p", "shift" or "width"
    param: str | None = None
    low: float = 0.0  # bounds of the knob's value
    high: float = 0.0

    @property
    def name(self) -> str:
        where = f"{self.group}.{self.effect}"
        return f"{where}.{self.param}.{self.kind}" if self.param else f"{where}.{self.kind}"


class SearchSpace:
    """Maps a vector of knob values (all 0 = the base config) to a config spec."""

    def __init__(
        self, base: dict[str, Any], pinned: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        """`pinned`: (group, effect) pairs whose probability the search leaves as the base
        has it (their ranges are still searched)."""
        self.base = copy.deepcopy(base)
        self.pinned = pinned
        self.start: dict[str, dict[str, dict[str, Any]]] = {}
        self.knobs: list[Knob] = []
        self.skipped: list[str] = []
        for group, effects in SEARCHED_EFFECTS.items():
            for effect in effects:
                params = SCHEMA[group][effect]
                entry = base.get(group, {}).get(effect) or _hull(group, effect)
                if entry is None:
                    self.skipped.append(f"{group}.{effect}")  # no preset gives it a range
                    continue
                if effect not in base.get(group, {}):
                    entry = {**entry, "p": 0.0}
                self.start.setdefault(group, {})[effect] = entry
                self._add_knobs(group, effect, params, entry)

    def _add_knobs(self, group: str, effect: str, params: dict, entry: dict[str, Any]) -> None:
        p = float(entry["p"])
        if (group, effect) not in self.pinned:
            self.knobs.append(Knob(group, effect, "p", None, -p, 1.0 - p))
        wide = False
        for name, param in params.items():
            if param.kind == "choice":
                continue
            lo, hi = entry[name]
            if param.lo < lo or hi < param.hi:  # a range at both limits cannot move
                self.knobs.append(Knob(group, effect, "shift", name, *BOUNDS["shift"]))
            wide = wide or hi > lo
        if wide:
            self.knobs.append(Knob(group, effect, "width", None, *BOUNDS["width"]))

    def spec(self, x: Sequence[float], *, keep_off: bool = True) -> dict[str, Any]:
        """The config at knob values `x`. With `keep_off`, effects at p = 0 stay in it (so
        the augmenter's random stream, and so every other effect's draws, stay put);
        without, only the base's own effects are kept at p = 0 (they say "switched off")."""
        values = dict(zip(self.knobs, x, strict=True))
        by_effect: dict[tuple[str, str], dict[tuple[str, str | None], float]] = {}
        for knob, value in values.items():
            by_effect.setdefault((knob.group, knob.effect), {})[(knob.kind, knob.param)] = value
        spec: dict[str, Any] = {g: dict(e) for g, e in self.base.items()}
        for group, effects in self.start.items():
            for effect, entry in effects.items():
                moves = by_effect.get((group, effect), {})
                out = _moved(group, effect, entry, moves)
                in_base = effect in self.base.get(group, {})
                if out["p"] == 0 and not keep_off:
                    if not in_base:
                        continue
                    # Switched off: its ranges mean nothing, so show the base's.
                    out = {**self.base[group][effect], "p": 0.0}
                spec.setdefault(group, {})[effect] = out
        return validate_spec(spec, "fitted config")


def _hull(group: str, effect: str) -> dict[str, Any] | None:
    """The widest ranges the presets give an effect (None when none uses it)."""
    entries = [p[group][effect] for p in PRESETS.values() if effect in p.get(group, {})]
    if not entries:
        return None
    out: dict[str, Any] = {"p": max(e["p"] for e in entries)}
    for name, param in SCHEMA[group][effect].items():
        if param.kind == "choice":
            out[name] = [c for c in param.choices if any(c in e[name] for e in entries)]
        else:
            out[name] = [min(e[name][0] for e in entries), max(e[name][1] for e in entries)]
    return out


def _moved(
    group: str, effect: str, entry: dict[str, Any], moves: dict[tuple[str, str | None], float]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "p": round(min(1.0, max(0.0, entry["p"] + moves.get(("p", None), 0))), 3)
    }
    scale = 2.0 ** moves.get(("width", None), 0.0)
    for name, param in SCHEMA[group][effect].items():
        if param.kind == "choice":
            out[name] = list(entry[name])
            continue
        lo, hi = (float(v) for v in entry[name])
        centre, half = (lo + hi) / 2, (hi - lo) / 2 * scale
        shift = moves.get(("shift", name), 0.0)
        centre += shift * ((param.hi - centre) if shift > 0 else (centre - param.lo))
        lo, hi = max(param.lo, centre - half), min(param.hi, centre + half)
        if param.kind == "int":
            lo, hi = math.floor(lo + 0.5), math.floor(hi + 0.5)
            out[name] = [int(max(param.lo, lo)), int(min(param.hi, max(lo, hi)))]
        else:
            lo, hi = round(lo, DIGITS), round(hi, DIGITS)
            out[name] = [max(param.lo, lo), min(param.hi, max(lo, hi))]
    return out


# -- real crops ------------------------------------------------------------------------------


def real_image_files(folder: str | Path) -> list[Path]:
    """Every image file below `folder` (any labels.csv or metadata.jsonl is not read: the
    fit needs no labels)."""
    root = Path(folder)
    if not root.exists():
        raise KplateError(f"--real {root}: no such folder")
    if not root.is_dir():
        raise KplateError(f"--real {root}: not a folder")
    try:
        files = sorted(p for p in root.rglob("*") if is_image_name(p) and p.is_file())
    except OSError as error:
        raise KplateError(f"--real {root}: cannot list ({error.strerror or error})") from None
    if not files:
        raise KplateError(f"--real {root}: no images found (jpg, jpeg, png, bmp, webp)")
    return files


@dataclass
class RealSet:
    """The real crops as the fit sees them."""

    name: str
    files: int
    arrays: np.ndarray
    stats: dict[str, np.ndarray]
    shape: dict[str, np.ndarray]
    skipped: int

    def spreads(self) -> dict[str, float]:
        """Each statistic's unit of distance (`statistics.spread` of the real values)."""
        return {k: statistics.spread(k, v) for k, v in self.stats.items()}


def read_real(folder: str | Path, seed: int, limit: int = MAX_REAL) -> RealSet:
    files = real_image_files(folder)
    chosen = files
    if len(files) > limit:
        pick = np.random.default_rng(seed).choice(len(files), size=limit, replace=False)
        chosen = [files[i] for i in sorted(pick)]
    arrays, sizes, skipped = statistics.read_folder(chosen)
    if len(arrays) < MIN_REAL:
        raise KplateError(
            f"--real {folder}: {len(arrays)} readable images ({skipped} unreadable); "
            f"need at least {MIN_REAL}"
        )
    name = Path(folder).resolve().name or str(folder)
    return RealSet(
        name,
        len(files),
        arrays,
        statistics.image_statistics(arrays),
        statistics.shape_statistics(sizes),
        skipped,
    )


# -- generated plates ------------------------------------------------------------------------


class Sampler:
    """Clean plates drawn once; `images(spec)` augments them as `kplate generate` would."""

    def __init__(self, config: GenerateConfig, indices: range) -> None:
        factory = PlateFactory(config)  # config.augment is None: clean plates
        self.plates = [factory.sample(i) for i in indices]

    def arrays(self, spec: dict[str, Any], name: str = "candidate") -> np.ndarray:
        augmenter = Augmenter(spec, name)
        out = np.empty((len(self.plates), statistics.HEIGHT, statistics.WIDTH, 3), np.uint8)
        for k, plate in enumerate(self.plates):
            image = augmenter(plate.image, plate.record, np.random.default_rng(plate.seed))[0]
            out[k] = statistics.squeeze(image)
        return out


# -- the infrared share -----------------------------------------------------------------------


def check_infrared_share(value: str | float) -> str | float:
    """`--infrared-share` as COUNT, SEARCH or a share from 0 to 1, or a one-line error."""
    text = str(value).strip().lower()
    if text in (COUNT, SEARCH):
        return text
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0.0 <= share <= 1.0:  # also refuses nan
        raise KplateError(
            f"--infrared-share must be {COUNT}, {SEARCH} or a share from 0 to 1, got {value}"
        )
    return share


def with_infrared(spec: dict[str, Any], p: float) -> dict[str, Any]:
    """`spec` with the infrared camera firing on a share `p` of the plates (an effect the
    spec lacks comes with the widest ranges the presets give it)."""
    group, effect = INFRARED
    out = copy.deepcopy(spec)
    effects = out.setdefault(group, {})
    effects[effect] = {**(effects.get(effect) or _hull(group, effect)), "p": round(p, 3)}
    return validate_spec(out, "fitted config")


@dataclass(frozen=True)
class InfraredShare:
    """How the fit set the infrared share: `mode` (COUNT, SEARCH or "given"), the share `p`
    it set (None when searched), and for COUNT what it was counted from: the real crops'
    greyscale share and the draws' with infrared off and on."""

    mode: str
    p: float | None = None
    real_grey: float | None = None
    grey_off: float | None = None
    grey_on: float | None = None

    @property
    def pinned(self) -> frozenset[tuple[str, str]]:
        return frozenset() if self.mode == SEARCH else frozenset({INFRARED})


def set_infrared_share(
    setting: str | float, spec: dict[str, Any], sampler: Sampler, real: RealSet
) -> tuple[dict[str, Any], InfraredShare]:
    """`spec` with its infrared share as `setting` says, and how it was set.

    Counted: the sampler's plates are drawn with infrared on every plate and on none
    (common random numbers: every other draw stays put), and a share p of infrared gives
    p x on + (1 - p) x off greyscale draws; p is where that equals the real crops' share
    (a white plate on a grey car can be greyscale without infrared, so off is not 0)."""
    if setting == SEARCH:
        return spec, InfraredShare(SEARCH)
    if not isinstance(setting, str):
        return with_infrared(spec, float(setting)), InfraredShare("given", float(setting))
    real_grey = float(real.stats["grey"].mean())

    def grey(p: float) -> float:
        arrays = sampler.arrays(with_infrared(spec, p))
        return float(statistics.image_statistics(arrays)["grey"].mean())

    off, on = grey(0.0), grey(1.0)
    p = (real_grey - off) / (on - off) if on > off else 0.0
    p = round(min(1.0, max(0.0, p)), 3)
    return with_infrared(spec, p), InfraredShare(COUNT, p, real_grey, off, on)


# -- the search -------------------------------------------------------------------------------


@dataclass
class FitResult:
    """What `fit_augmentation` found, and how it compares with the base."""

    spec: dict[str, Any]  # the fitted config (validated)
    base_name: str
    real: RealSet
    objective: dict[str, float]  # base / fitted on the search sample
    distances: dict[str, dict[str, float]]  # base / fitted, per statistic, on the check sample
    check_objective: dict[str, float]
    summaries: dict[str, dict[str, dict[str, float]]]  # real / base / fitted -> stat -> summary
    realism: dict[str, dict[str, Any]] = field(default_factory=dict)  # base / fitted tests
    evaluations: int = 0
    planned: int = 0
    cut_by_budget: bool = False
    seconds: float = 0.0
    sample: int = 0
    check: int = 0
    seed: int = 0
    height: int | None = None
    types: str = "all"
    knobs: int = 0
    skipped_effects: list[str] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    preset_scores: dict[str, float] = field(default_factory=dict)  # --base auto: at start
    first_sweep: dict[str, float] = field(default_factory=dict)  # and after one sweep
    #: real / generated -> aspect and height summaries (reported: augmentation keeps sizes)
    shapes: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: The realism critic, when one was trained (`add_critic`): candidates, steps, real,
    #: draws and train_accuracy.
    critic: dict[str, Any] = field(default_factory=dict)
    #: The critic's guide, when it ran (`add_critic`): weight, evaluations, and the
    #: statistics objective and the first critic's mean odds of "drawn" before and after.
    guide: dict[str, Any] = field(default_factory=dict)
    #: The final check's time per two-sample test and its steps (`add_critic` checks a
    #: guided config again with them).
    check_seconds: float = 0.0
    realism_steps: int = 400
    #: The base as `--base` gave it: a preset's name or a config's path (its stem is
    #: `base_name`), so that a later stage can load it again.
    base_source: str = ""
    #: How the infrared share was set (`--infrared-share`).
    infrared: InfraredShare = field(default_factory=lambda: InfraredShare(SEARCH))


def fit_augmentation(
    real: str | Path,
    *,
    base: str = DEFAULT_BASE,
    budget_minutes: float = DEFAULT_BUDGET_MINUTES,
    seed: int = 0,
    types: Sequence[PlateType] | str | None = None,
    height: int | None = 110,
    sample: int = DEFAULT_SAMPLE,
    check: int = DEFAULT_CHECK,
    evaluations: int | None = None,
    realism_steps: int = 400,
    infrared_share: str | float = COUNT,
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit an augmentation config to the crops in folder `real` (see the module doc).

    `base` is a preset name, a YAML config or "auto" (of the two presets closest to the
    crops, the one closer after a sweep); `evaluations` caps the search (a run cut by the
    budget says how many it made: the same number repeats it); `check` plates per config
    are drawn apart from the search sample for the final comparison (0: statistics of
    the search sample only, no two-sample test). `types` is a list of plate types (drawn
    evenly), None for all of them, or a named mix of `--types` (`realistic`,
    `region-rich`). `infrared_share`: COUNT (from the real crops' greyscale share), SEARCH
    or a share from 0 to 1 (the module's COUNT).
    """
    started = time.monotonic()
    infrared_share = check_infrared_share(infrared_share)
    budget = check_budget(budget_minutes) * 60.0
    config = _generate_config(seed, types, height, sample + check)
    say = progress or (lambda _: None)
    real_set = read_real(real, seed)
    say(f"{len(real_set.arrays)} real crops from {real_set.name}; {sample} plates per candidate")
    sampler = Sampler(config, range(sample))
    scales = real_set.spreads()

    def score(spec: dict[str, Any]) -> float:
        return _objective(sampler.arrays(spec), real_set, scales)

    # The final check's share of the budget: two two-sample tests and drawing the plates.
    test_seconds = min(60.0, max(5.0, 0.1 * budget)) if check else 0.0
    deadline = started + budget - (2 * test_seconds + (0.05 * budget if check else 0.0))
    shared = _Budget(evaluations, deadline)

    starts: dict[str, tuple[str, dict[str, Any], InfraredShare]] = {}

    def start(name: str) -> tuple[str, dict[str, Any], InfraredShare]:
        """A base by name, its infrared share set as `infrared_share` says."""
        if name not in starts:
            base_name, base_spec = _base_without_critic(name)
            spec, share = set_infrared_share(infrared_share, base_spec, sampler, real_set)
            starts[name] = (base_name, spec, share)
        return starts[name]

    def search_from(name: str) -> _CoordinateSearch:
        base_name, spec, share = start(name)
        space = SearchSpace(spec, share.pinned)
        return _CoordinateSearch(base_name, space, score, seed, shared, say)

    scores: dict[str, float] = {}
    first_sweep: dict[str, float] = {}
    if base == AUTO:
        # The closest preset at the start is not always the closest after a sweep (a
        # colour preset can fight an IR share), so the two closest get one sweep each;
        # each preset is scored at the infrared share it would be searched at.
        scores = {name: score(start(name)[1]) for name in PRESETS}
        ranked = sorted(scores, key=lambda name: (scores[name], name))[:2]
        say("presets: " + ", ".join(f"{n} {v:.3f}" for n, v in scores.items()))
        searches = [search_from(name) for name in ranked]
        for candidate in searches:
            candidate.sweep()
            if candidate.count:
                first_sweep[candidate.name] = candidate.statistics_at(candidate.x)
        search = min((c for c in searches if c.count), key=lambda c: (c.statistics_at(c.x), c.name))
        say(f"base {search.name} (after one sweep: " + ", ".join(
            f"{n} {v:.3f}" for n, v in first_sweep.items()) + ")")  # fmt: skip
    else:
        search = search_from(base)
    space = search.space
    effects = sum(len(e) for e in space.start.values())
    say(f"base {search.name}: {len(space.knobs)} knobs of {effects} effects")
    x = search.run()
    base_name = search.name
    fitted_spec = space.spec(x, keep_off=False)
    fitted_objective = search.statistics_at(x)
    # The base as given (a preset's name or a config's path; base_name is a config's stem).
    source = base if base != AUTO else base_name
    share = start(source)[2]
    if share.mode == COUNT:
        # Counted again on the fitted config: its other effects move the draws' own
        # greyscale share (fading, exposure), so the share it needs moves with them.
        searched, share = set_infrared_share(COUNT, space.spec(x), sampler, real_set)
        if share.p != space.base[INFRARED[0]][INFRARED[1]]["p"]:
            fitted_spec = with_infrared(fitted_spec, share.p or 0.0)
            fitted_objective = score(searched)
    # The base as named (its own infrared share), so the check shows the whole fit's move.
    base_spec = validate_spec(_base_without_critic(source)[1], base_name)
    base_objective = search.history[0] if share.mode == SEARCH else score(base_spec)
    result = FitResult(
        spec=fitted_spec,
        base_name=base_name,
        base_source=source,
        real=real_set,
        objective={"base": base_objective, "fitted": fitted_objective},
        first_sweep=first_sweep,
        distances={},
        check_objective={},
        summaries={},
        evaluations=shared.count,
        planned=shared.planned,
        cut_by_budget=shared.cut,
        sample=sample,
        check=min(check, len(real_set.arrays)) if check else 0,
        seed=seed,
        height=height,
        types=_types_label(types),
        knobs=len(space.knobs),
        skipped_effects=space.skipped,
        moves=_describe_moves(base_spec, fitted_spec),
        preset_scores=scores,
        check_seconds=test_seconds,
        realism_steps=realism_steps,
        infrared=share,
    )
    say(describe_share(share))
    _final_check(result, config, base_spec, sampler, scales, say)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def add_critic(
    result: FitResult,
    out: str | Path,
    *,
    candidates: int,
    temper: float,
    draws: int = CRITIC_DRAWS,
    steps: int = CRITIC_STEPS,
    guide: float = GUIDE_WEIGHT,
    guide_evaluations: int = GUIDE_EVALUATIONS,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Train the fitted config's realism critic on the real crops the fit read, write it
    beside `out` and name it in `result.spec` (docs/fit.md, "The critic"). With `guide`
    above 0 the search first goes on under a first critic's odds (GUIDE_WEIGHT)."""
    from kplate.evaluate.critic_fit import critic_path, draw_arrays, fit_critic, train_critic

    started = time.monotonic()
    types = _parsed_types(result.types)
    config = _generate_config(result.seed, types, result.height, 1)
    if guide:
        say = progress or (lambda _: None)
        say(f"guide: a first critic, {steps} steps against {draws} draws of the fitted config")
        drawn = draw_arrays(result.spec, config, draws)
        first, _ = train_critic(result.real.arrays, drawn, steps=steps, seed=result.seed)
        guide_search(result, first, weight=guide, evaluations=guide_evaluations, say=say)
    done = fit_critic(
        result.real.arrays, result.spec, config, critic_path(out),
        candidates=candidates, temper=temper, draws=draws, steps=steps, seed=result.seed,
        progress=progress,
    )  # fmt: skip
    result.spec = {**result.spec, "critic": done.section}
    result.critic = {
        "candidates": candidates,
        "steps": done.steps,
        "real": done.real,
        "draws": done.draws,
        "train_accuracy": done.train_accuracy,
    }
    _check_through_critic(result, progress or (lambda _: None))
    result.seconds = round(result.seconds + time.monotonic() - started, 1)


#: The final check's side for the fitted config drawn through its critic.
WITH_CRITIC = "with critic"


def _check_through_critic(result: FitResult, say: Callable[[str], None]) -> None:
    """The final check once more, on the same plates, drawn as `kplate generate` draws the
    config: through its critic. Why: the critic keeps the draws it finds real-like, and
    those are darker, lower in contrast and softer than the fitted config's own draws
    (docs/evaluate.md, session 46), so the fitted side alone misreports what a user gets."""
    types = _parsed_types(result.types)
    config = _generate_config(result.seed, types, result.height, result.sample + result.check)
    say("check: the fitted config through its critic")
    arrays = Sampler(config, _check_indices(result)).arrays(result.spec, "fitted")
    _check_side(result, WITH_CRITIC, arrays, result.real.spreads(), say)


def drawn_odds(critic: Any, arrays: np.ndarray) -> float:
    """A critic's mean odds that (N, 48, 160, 3) crops are drawn, not real (0 to 1)."""
    import torch

    from kplate.augment import critic as critic_model

    critic.eval()
    with torch.inference_mode():
        logits = torch.cat(
            [critic(critic_model.as_tensor(arrays[i : i + 256])).squeeze(1)
             for i in range(0, len(arrays), 256)]
        )  # fmt: skip
    return float(torch.sigmoid(-logits.float()).mean())


def guide_search(
    result: FitResult,
    critic: Any,
    *,
    weight: float,
    evaluations: int,
    say: Callable[[str], None],
) -> None:
    """Go on searching from `result.spec` on the search sample's plates for `evaluations`
    candidates, scored by the statistics objective plus `weight` x `critic`'s mean odds
    that the draws are drawn; `result` takes the guided config, its moves from the base and
    its statistics (and, with a final check, its check again)."""
    types = _parsed_types(result.types)
    config = _generate_config(result.seed, types, result.height, result.sample + result.check)
    sampler = Sampler(config, range(result.sample))
    real = result.real
    scales = real.spreads()

    def parts(spec: dict[str, Any]) -> tuple[float, float]:
        """The statistics objective and the critic's odds of "drawn" (both deterministic)."""
        arrays = sampler.arrays(spec)
        return _objective(arrays, real, scales), drawn_odds(critic, arrays)

    def score(spec: dict[str, Any]) -> float:
        fitted, odds = parts(spec)
        return fitted + weight * odds

    start = {g: v for g, v in result.spec.items() if g != "critic"}
    space = SearchSpace(start, result.infrared.pinned)
    search = _CoordinateSearch(
        "guided", space, score, result.seed, _Budget(evaluations, math.inf), say
    )
    x = search.run()
    guided = space.spec(x, keep_off=False)
    before, after = parts(space.spec(np.zeros_like(x))), parts(space.spec(x))
    say(
        f"guide: statistics {before[0]:.3f} -> {after[0]:.3f}, the first critic's odds of "
        f"drawn {before[1]:.3f} -> {after[1]:.3f}"
    )
    base_spec = _base_without_critic(result.base_source)[1]
    result.spec = guided
    result.moves = _describe_moves(validate_spec(base_spec, result.base_name), guided)
    result.objective["fitted"] = after[0]
    result.guide = {
        "weight": weight,
        "evaluations": search.count,
        "statistics": [before[0], after[0]],
        "drawn": [before[1], after[1]],
    }
    check = Sampler(config, _check_indices(result)) if result.check else sampler
    _check_side(result, "fitted", check.arrays(guided, "fitted"), scales, say)


def _base_without_critic(name: str) -> tuple[str, dict[str, Any]]:
    """A base config by name, less its critic (a base config's critic judged other draws)."""
    base_name, spec = load_spec(name)
    spec.pop("critic", None)
    return base_name, spec


def _objective(arrays: np.ndarray, real: RealSet, scales: dict[str, float]) -> float:
    """The search's objective: the fitted statistics' mean distance to the real crops'."""
    stats = statistics.image_statistics(arrays)
    return statistics.objective(statistics.distances(stats, real.stats, scales))


def _parsed_types(label: str) -> Sequence[PlateType] | str:
    """The `types` argument that `_types_label` named (`--types`' own parser)."""
    return label if label in NAMED_MIXES else parse_plate_types(label)


class _Budget:
    """Evaluations and time shared by every search of one fit."""

    def __init__(self, cap: int | None, deadline: float) -> None:
        self.cap, self.deadline = cap, deadline
        self.count, self.planned = 0, 0
        self.cut = self.capped = False

    def allows(self, first: bool) -> bool:
        """Whether one more evaluation may run (a search's first, its base, always may
        unless the cap is reached)."""
        if self.cap is not None and self.count >= self.cap:
            self.capped = True
            return False
        if not first and time.monotonic() > self.deadline:
            self.cut = True
            return False
        return True


class _CoordinateSearch:
    """Seeded coordinate search with halving steps and a halving set of knobs."""

    def __init__(
        self,
        name: str,
        space: SearchSpace,
        score: Callable[[dict[str, Any]], float],
        seed: int,
        budget: _Budget,
        say: Callable[[str], None],
    ) -> None:
        self.name, self.space, self.score, self.say = name, space, score, say
        self.rng = np.random.default_rng([seed, 0x5EA7C4])
        self.budget = budget
        self.count = 0
        self.cache: dict[tuple[float, ...], float] = {}
        self.history: list[float] = []
        self.best = math.inf
        self.widths = np.array([k.high - k.low for k in space.knobs], dtype=np.float64)
        self.widths[self.widths <= 0] = 1.0
        n = len(space.knobs)
        self.x = np.zeros(n)
        self.steps = np.array([STEPS[k.kind] for k in space.knobs])
        self.active = list(range(n))
        self.sweeps = 0
        self.stopped = False
        # At most: sweep s tries each of its knobs up then down, each way up to
        # 1 + EXTRA_STEPS times (up stops there once it helped); knobs halve each sweep.
        per_knob = 2 + EXTRA_STEPS
        budget.planned += 1 + sum(per_knob * max(min(n, MIN_KNOBS), n >> s) for s in range(SWEEPS))

    def _evaluate(self, x: np.ndarray) -> float | None:
        """The penalised objective at x (cached), or None once out of evaluations or time."""
        key = tuple(np.round(x, 6))
        if key not in self.cache:
            if not self.budget.allows(first=self.count == 0):
                return None
            self.cache[key] = self.score(self.space.spec(x))
            self.count += 1
            self.budget.count += 1
            self.history.append(self.cache[key])
        return self.cache[key] + self._penalty(x)

    def _penalty(self, x: np.ndarray) -> float:
        """PRIOR_WEIGHT per knob moved all the way across its bounds: a move away from the
        base must pay for itself in matched statistics."""
        return PRIOR_WEIGHT * float(np.sum(np.abs(x) / self.widths))

    def statistics_at(self, x: np.ndarray) -> float:
        """The unpenalised objective at an evaluated point."""
        return self.cache[tuple(np.round(x, 6))]

    def sweep(self) -> bool:
        """One sweep over the active knobs; False once out of evaluations or time."""
        if self.stopped:
            return False
        if self.count == 0:
            base = self._evaluate(self.x)
            if base is None:
                self.stopped = True
                return False
            self.best = base
        moved: dict[int, float] = {}
        for i in self.rng.permutation(self.active):
            change = self._try(self.x, int(i), self.steps[i])
            if change is None:
                self.stopped = True
                return False
            moved[int(i)] = change
        keep = max(min(len(self.space.knobs), MIN_KNOBS), len(self.active) // 2)
        self.active = sorted(sorted(moved, key=lambda i: (-moved[i], i))[:keep])
        self.steps = self.steps / 2
        self.sweeps += 1
        self.say(
            f"{self.name} sweep {self.sweeps}: objective {self.statistics_at(self.x):.3f} "
            f"after {self.budget.count} evaluations"
        )
        return True

    def run(self) -> np.ndarray:
        """Sweeps until SWEEPS are done or the budget ends; the best knob values."""
        while self.sweeps < SWEEPS and self.sweep():
            pass
        budget = self.budget
        cut = " (cut by the budget)" if budget.cut else ""
        cut = cut or (" (--evaluations reached)" if budget.capped else "")
        self.say(f"search done: {budget.count} evaluations, {self.sweeps} sweeps{cut}")
        return self.x

    def _try(self, x: np.ndarray, i: int, step: float) -> float | None:
        """Step knob i up, else down, and keep stepping that way while it helps (up to
        EXTRA_STEPS more). Returns how much the objective moved at most (how telling the
        knob is), or None once out of budget."""
        knob = self.space.knobs[i]
        if knob.kind != "p" and self._off(x, knob):
            return 0.0  # the effect never fires: its ranges change nothing
        moved = 0.0
        for direction in (1.0, -1.0):
            improved = False
            for _ in range(1 + EXTRA_STEPS):
                trial = x.copy()
                trial[i] = min(knob.high, max(knob.low, x[i] + direction * step))
                if trial[i] == x[i]:
                    break
                value = self._evaluate(trial)
                if value is None:
                    return None
                moved = max(moved, abs(value - self.best))
                if value >= self.best - TOLERANCE:
                    break
                x[i], self.best, improved = trial[i], value, True
            if improved:
                break
        return moved

    def _off(self, x: np.ndarray, knob: Knob) -> bool:
        for j, other in enumerate(self.space.knobs):
            if (other.group, other.effect, other.kind) == (knob.group, knob.effect, "p"):
                return self.space.start[knob.group][knob.effect]["p"] + x[j] <= 0
        return self.space.start[knob.group][knob.effect]["p"] <= 0  # pinned: no p knob


def describe_share(share: InfraredShare) -> str:
    """One line on how the infrared share was set (printed, and in the config's header)."""
    if share.mode == SEARCH:
        return "infrared share: searched with the other effects (--infrared-share search)"
    line = f"infrared share: {share.p:g} of the plates"
    if share.mode != COUNT:
        return f"{line} (--infrared-share {share.p:g})"
    return (
        f"{line}, counted (--infrared-share count): {share.real_grey:.1%} of the real crops "
        f"are greyscale, and {share.grey_off:.1%} of the draws with infrared off "
        f"({share.grey_on:.1%} with it on)"
    )


def _describe_moves(base: dict[str, Any], fitted: dict[str, Any]) -> list[str]:
    """One line per effect whose p or ranges the fit changed."""
    lines = []
    for group in GROUPS:
        for effect, entry in fitted.get(group, {}).items():
            before = base.get(group, {}).get(effect)
            if before == entry:
                continue
            parts = []
            old_p = before["p"] if before else 0.0
            if old_p != entry["p"]:
                parts.append(f"p {old_p:g} -> {entry['p']:g}")
            for name, value in entry.items():
                if name == "p" or (before and before.get(name) == value):
                    continue
                shown = (
                    ", ".join(value)
                    if value and isinstance(value[0], str)
                    else (f"[{value[0]:g}, {value[1]:g}]")
                )
                old = before.get(name) if before else None
                if old is None:
                    parts.append(f"{name} {shown}")
                else:
                    was = f"[{old[0]:g}, {old[1]:g}]" if not isinstance(old[0], str) else old
                    parts.append(f"{name} {was} -> {shown}")
            lines.append(f"{group}.{effect}: " + "; ".join(parts) + ("" if before else " (added)"))
    return lines


def _final_check(
    result: FitResult,
    config: GenerateConfig,
    base_spec: dict[str, Any],
    search_sampler: Sampler,
    scales: dict[str, float],
    say: Callable[[str], None],
) -> None:
    real = result.real
    sampler = Sampler(config, _check_indices(result)) if result.check else search_sampler
    arrays = {
        "base": sampler.arrays(base_spec, result.base_name),
        "fitted": sampler.arrays(result.spec, "fitted"),
    }
    result.summaries["real"] = {k: statistics.summary(v) for k, v in real.stats.items()}
    sizes = [(p.image.shape[1], p.image.shape[0]) for p in sampler.plates]
    for side, shape in (("real", real.shape), ("generated", statistics.shape_statistics(sizes))):
        result.shapes[side] = {k: statistics.summary(v) for k, v in shape.items()}
    for side, images in arrays.items():
        _check_side(result, side, images, scales, say)


def _check_indices(result: FitResult) -> range:
    """The final check's plate indices: its own plates after the search sample's, or the
    search sample's when the fit has no check sample."""
    if result.check:
        return range(result.sample, result.sample + result.check)
    return range(result.sample)


def _check_side(
    result: FitResult,
    side: str,
    images: np.ndarray,
    scales: dict[str, float],
    say: Callable[[str], None],
) -> None:
    """One config's part of the final check: its statistics against the real crops and,
    when the fit has a check sample, its two-sample test."""
    real = result.real
    stats = statistics.image_statistics(images)
    distance = statistics.distances(stats, real.stats, scales, statistics.STATS)
    result.distances[side] = distance
    fitted = {name: distance[name] for name in statistics.FITTED}
    result.check_objective[side] = statistics.objective(fitted)
    result.summaries[side] = {k: statistics.summary(v) for k, v in stats.items()}
    if not result.check:
        return
    from kplate.evaluate.realism import two_sample_test  # torch, only for the final check

    say(f"two-sample test: {side} vs real")
    result.realism[side] = two_sample_test(
        images, real.arrays, seed=result.seed, steps=result.realism_steps,
        time_limit=result.check_seconds,
    )  # fmt: skip


def _types_label(types: Sequence[PlateType] | str | None) -> str:
    """How the fitted config's header names the types (as `--types` would)."""
    if types is None:
        return "all"
    return types if isinstance(types, str) else ",".join(t.value for t in types)


def _generate_config(
    seed: int, types: Sequence[PlateType] | str | None, height: int | None, count: int
) -> GenerateConfig:
    if isinstance(types, str):
        drawn, weights = types_and_weights(types)
        return GenerateConfig(count=count, types=drawn, weights=weights, seed=seed, height=height)
    return GenerateConfig(
        count=count,
        types=tuple(types) if types is not None else tuple(PlateType),
        seed=seed,
        height=height,
    )


def check_budget(minutes: float) -> float:
    """The budget in minutes, or a one-line error naming --budget-minutes."""
    if not isinstance(minutes, int | float) or not math.isfinite(minutes) or minutes <= 0:
        raise KplateError(f"--budget-minutes must be a positive number of minutes, got {minutes}")
    if minutes > MAX_BUDGET_MINUTES:
        raise KplateError(
            f"--budget-minutes must be at most {MAX_BUDGET_MINUTES:g} (a day), got {minutes:g}"
        )
    return float(minutes)


def check_guide(weight: float, evaluations: int, candidates: int) -> None:
    """`--critic-guide` (0 or more, finite; above 0 only with the critic, `candidates`) and
    `--guide-evaluations` (1 or more)."""
    if not (isinstance(weight, int | float) and math.isfinite(weight) and weight >= 0):
        raise KplateError(f"--critic-guide must be 0 (no guide) or more, got {weight}")
    if evaluations < 1:
        raise KplateError(f"--guide-evaluations must be 1 or more, got {evaluations}")
    if weight and not candidates:
        raise KplateError("--critic-guide needs the critic; --critic-candidates 0 leaves it out")


def check_options(
    *,
    seed: int,
    types: Sequence[PlateType] | str | None,
    height: int | None,
    sample: int,
    check: int,
    budget_minutes: float,
    evaluations: int | None,
) -> None:
    """Every numeric option checked before any work (the command calls it first)."""
    check_budget(budget_minutes)
    if sample < 8:
        raise KplateError(f"--sample must be 8 or more, got {sample}")
    if check < 0:
        raise KplateError(f"--check must be 0 or more, got {check}")
    if evaluations is not None and evaluations < 1:
        raise KplateError(f"--evaluations must be 1 or more, got {evaluations}")
    _generate_config(seed, types, height, sample + check)
