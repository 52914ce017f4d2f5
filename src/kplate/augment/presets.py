"""Augmentation specs: which effects may fire, how often (`p`) and within which ranges.

A spec is plain nested data, `{group: {effect: {"p": prob, param: [lo, hi], ...}}}`, so a
YAML file can mirror a preset exactly. `SCHEMA` lists every effect, its parameters and
the hard limits a config may ask for; the presets below are what `--augment NAME` means
and what docs/augment.md tabulates (a test keeps the two in step).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kplate.errors import KplateError
from kplate.limits import MAX_CONFIG_BYTES, MAX_CONFIG_NODES, read_user_file, utf8_text

GROUPS = ("geometry", "photometric", "camera", "surround")
BACKGROUNDS = ("body", "bumper", "road", "flat")
FRAME_KINDS = ("chrome", "black", "silver")


@dataclass(frozen=True)
class Param:
    """One parameter: a float or int range within hard limits, or a list of choices."""

    kind: str  # "float", "int" or "choice"
    lo: float = 0.0
    hi: float = 0.0
    choices: tuple[str, ...] = ()
    doc: str = ""


def _f(lo: float, hi: float, doc: str) -> Param:
    return Param("float", lo, hi, doc=doc)


def _i(lo: int, hi: int, doc: str) -> Param:
    return Param("int", lo, hi, doc=doc)


#: Every effect a spec may name, in the order the pipeline applies them within a group.
SCHEMA: dict[str, dict[str, dict[str, Param]]] = {
    "geometry": {
        "rotate": {"deg": _f(-45, 45, "in-plane rotation, degrees (+ = counter-clockwise)")},
        "shear": {"deg": _f(-30, 30, "horizontal shear, degrees")},
        "perspective": {"amount": _f(0, 0.3, "corner jitter, fraction of plate size")},
        "scale": {"factor": _f(0.3, 1.5, "plate size relative to its cell")},
        "translate": {
            "x": _f(-0.5, 0.5, "shift, fraction of plate width"),
            "y": _f(-0.5, 0.5, "shift, fraction of plate height"),
        },
        "margin": {
            "x": _f(0, 1.0, "background left and right, fraction of plate width"),
            "y": _f(0, 2.0, "background above and below, fraction of plate height"),
        },
        "background": {
            "kinds": Param("choice", choices=BACKGROUNDS, doc="procedural background kinds"),
        },
    },
    "photometric": {
        "brightness": {"amount": _f(-0.8, 0.8, "added brightness, fraction of 255")},
        "contrast": {"amount": _f(-0.9, 1.0, "contrast change (0 = none)")},
        "gamma": {"gamma": _f(0.2, 5.0, "gamma exponent (> 1 darkens mid-tones)")},
        "temperature": {"shift": _f(-0.5, 0.5, "colour temperature (+ warm, - cool)")},
        "shadow": {"intensity": _f(0, 1, "darkening of the shadowed part")},
        "glare": {"intensity": _f(0, 1, "peak of a specular streak, toward white")},
        "dirt": {"amount": _f(0, 1, "opacity of grime blotches")},
        "scratches": {"count": _i(0, 60, "number of thin scratches")},
        "fade": {"amount": _f(0, 1, "paint faded toward the plate colour")},
    },
    "camera": {
        "ir_paint": {"dim": _f(0, 1, "IR darkening of saturated paint (0 = reads as white)")},
        "infrared": {
            "lift": _f(0, 0.7, "blacks lifted to this grey level (fraction)"),
            "contrast": _f(0.2, 1.0, "remaining contrast"),
            "bloom": _f(0, 1, "glow of bright areas over the ink"),
            "surround": _f(0, 1, "brightness outside the plate (1 = unchanged)"),
        },
        "exposure": {"gain": _f(0.1, 4, "exposure gain (< 1 dim plate, > 1 clips to white)")},
        "halation": {
            "strength": _f(0, 1, "glow of the plate's white added at its peak, fraction"),
            "radius": _f(0, 1, "glow spread, fraction of the plate height"),
        },
        "blur": {"sigma": _f(0, 5, "Gaussian (defocus) blur sigma, pixels")},
        "defocus": {"radius": _i(1, 8, "disc (lens defocus) radius, pixels")},
        "motion_blur": {
            "length": _i(3, 31, "kernel length, pixels (odd)"),
            "angle": _f(-180, 180, "direction of motion, degrees"),
        },
        "noise": {"sigma": _f(0, 0.3, "sensor noise std, fraction of 255")},
        "downscale": {"plate_height": _i(6, 400, "plate height in pixels before upscaling")},
        "interlace": {"shift": _f(-4, 4, "odd field offset sideways, pixels (combing)")},
        "jpeg": {"quality": _i(1, 100, "JPEG quality of a re-compression")},
    },
    # What surrounds the plate on a car (kplate/augment/surround.py), drawn in the
    # plate's plane after the warp; never over a character box.
    "surround": {
        "thickness": {"depth": _f(0, 0.3, "plate edge seen at an angle, fraction of plate height")},
        "frame": {
            "kind": Param("choice", choices=FRAME_KINDS, doc="frame finish"),
            "width": _f(0, 0.5, "frame bar outside the plate, fraction of plate height"),
            "lip": _f(0, 1, "share of the free border (edge to characters) the frame covers"),
            "shadow": _f(0, 1, "darkness of the frame's shadow on the plate's free border"),
        },
        "dealer": {
            "bar": _f(0.05, 0.8, "dealer bar below the plate, fraction of plate height"),
            "size": _f(0.2, 0.95, "dealer text height, fraction of the bar"),
        },
        "screws": {
            "size": _f(0.5, 3.0, "screw cap diameter relative to its hole"),
            "shade": _f(0, 1, "cap brightness (0 black plastic, 1 chrome)"),
        },
        "lights": {"intensity": _f(0, 1, "brightness of the two plate lamps above the plate")},
    },
}


def _e(p: float, **ranges: Any) -> dict[str, Any]:
    return {"p": p, **{k: list(v) if isinstance(v, tuple) else v for k, v in ranges.items()}}


#: Frames, screws, dealer bars, lamps and plate edges, as often as real_dev's crops show
#: them (counted by eye, docs/crops.md): frames on about a quarter of colour crops and
#: a sixth of IR ones, screw caps on over a quarter, dealer text on one in fifteen.
#: The geometry margin, translate and scale lines of every preset follow the crop
#: margins measured there by tools/measure_crop_margins.py (docs/crops.md).
COLOUR_SURROUND: dict[str, Any] = {
    "thickness": _e(0.2, depth=(0.01, 0.05)),
    "frame": _e(0.25, kind=list(FRAME_KINDS), width=(0.03, 0.15), lip=(0, 1), shadow=(0, 0.5)),
    "dealer": _e(0.07, bar=(0.12, 0.3), size=(0.45, 0.8)),
    "screws": _e(0.3, size=(1.2, 2.2), shade=(0, 1)),
    "lights": _e(0.1, intensity=(0.2, 1)),
}
IR_SURROUND: dict[str, Any] = {
    "thickness": _e(0.15, depth=(0.01, 0.05)),
    "frame": _e(0.15, kind=list(FRAME_KINDS), width=(0.03, 0.15), lip=(0, 1), shadow=(0, 0.5)),
    "dealer": _e(0.05, bar=(0.12, 0.3), size=(0.45, 0.8)),
    "screws": _e(0.3, size=(1.2, 2.2), shade=(0, 1)),
    "lights": _e(0.05, intensity=(0.2, 1)),
}

#: light: close to the earlier project (rotation within +-7 deg, a mild perspective
#: warp, brightness scaling), plus a thin crop margin.
LIGHT: dict[str, Any] = {
    "geometry": {
        "rotate": _e(1.0, deg=(-7, 7)),
        "perspective": _e(0.7, amount=(0, 0.04)),
        "scale": _e(1.0, factor=(0.95, 1.0)),
        "margin": _e(0.5, x=(0, 0.2), y=(0, 0.6)),
        "background": _e(1.0, kinds=["body", "bumper", "flat"]),
    },
    "photometric": {
        "brightness": _e(0.8, amount=(-0.2, 0.2)),
        "contrast": _e(0.5, amount=(-0.2, 0.2)),
    },
    "camera": {
        "blur": _e(0.2, sigma=(0.3, 0.9)),
        "jpeg": _e(0.2, quality=(60, 95)),
    },
    "surround": COLOUR_SURROUND,
}

#: heavy: everything, often and strongly; still every character stays in the image.
HEAVY: dict[str, Any] = {
    # The geometry of a detector's crops, as measured for cctv (docs/crops.md), not more:
    # with +-15 deg rotation, +-12 deg shear and margins up to 0.6 the scoreboard's
    # recogniser learnt 1.0 % of heavy's own held-out plates; with this geometry and
    # heavy's photometric and camera effects unchanged, 78.2 %, and it read 51.0 % of
    # real_dev's held-out split, more than any other preset (docs/evaluate.md, session 4).
    "geometry": {
        "rotate": _e(1.0, deg=(-8, 8)),
        "shear": _e(0.5, deg=(-8, 8)),
        "perspective": _e(0.7, amount=(0, 0.06)),
        "scale": _e(1.0, factor=(0.95, 1.0)),
        "translate": _e(0.5, x=(-0.02, 0.02), y=(-0.05, 0.05)),
        "margin": _e(0.6, x=(0, 0.18), y=(0, 0.4)),
        "background": _e(1.0, kinds=list(BACKGROUNDS)),
    },
    "photometric": {
        "brightness": _e(0.8, amount=(-0.3, 0.3)),
        "contrast": _e(0.7, amount=(-0.5, 0.3)),
        "gamma": _e(0.5, gamma=(0.6, 1.8)),
        "temperature": _e(0.5, shift=(-0.25, 0.25)),
        "shadow": _e(0.3, intensity=(0.2, 0.6)),
        "glare": _e(0.25, intensity=(0.2, 0.8)),
        "dirt": _e(0.35, amount=(0.1, 0.5)),
        "scratches": _e(0.2, count=(1, 12)),
        "fade": _e(0.25, amount=(0.1, 0.5)),
    },
    "camera": {
        "infrared": _e(
            0.15, lift=(0.05, 0.3), contrast=(0.55, 0.95), bloom=(0.1, 0.6), surround=(0.3, 0.9)
        ),
        "blur": _e(0.4, sigma=(0.4, 1.6)),
        "defocus": _e(0.1, radius=(1, 3)),
        "motion_blur": _e(0.25, length=(3, 9), angle=(-180, 180)),
        "noise": _e(0.5, sigma=(0.01, 0.06)),
        "downscale": _e(0.4, plate_height=(14, 40)),
        "jpeg": _e(0.6, quality=(20, 85)),
    },
    "surround": COLOUR_SURROUND,
}

#: cctv: infrared greyscale roadside cameras, fitted to real_dev's 641 IR crops (docs/ir.md):
#: paint darker than white, exposure from dim to blown out, halation, rare interlacing.
CCTV: dict[str, Any] = {
    "geometry": {
        "rotate": _e(1.0, deg=(-8, 8)),
        "shear": _e(0.5, deg=(-8, 8)),
        "perspective": _e(0.7, amount=(0, 0.06)),
        "scale": _e(1.0, factor=(0.95, 1.0)),
        "translate": _e(0.5, x=(-0.02, 0.02), y=(-0.05, 0.05)),
        "margin": _e(0.6, x=(0, 0.18), y=(0, 0.4)),
        "background": _e(1.0, kinds=["body", "bumper", "flat"]),
    },
    "photometric": {
        "brightness": _e(0.6, amount=(-0.15, 0.1)),
        "dirt": _e(0.2, amount=(0.1, 0.4)),
        "fade": _e(0.2, amount=(0.1, 0.4)),
    },
    "camera": {
        "ir_paint": _e(1.0, dim=(0.15, 0.4)),
        "infrared": _e(
            1.0, lift=(0.0, 0.12), contrast=(0.75, 1.0), bloom=(0.0, 0.4), surround=(0.15, 0.6)
        ),
        "exposure": _e(0.85, gain=(0.2, 1.2)),
        "halation": _e(0.4, strength=(0.1, 0.8), radius=(0.1, 0.5)),
        "blur": _e(0.2, sigma=(0.3, 0.8)),
        "motion_blur": _e(0.2, length=(3, 7), angle=(-180, 180)),
        "noise": _e(0.5, sigma=(0.004, 0.02)),
        "downscale": _e(0.25, plate_height=(22, 44)),
        "interlace": _e(0.1, shift=(-0.7, 0.7)),
        "jpeg": _e(0.8, quality=(30, 80)),
    },
    "surround": IR_SURROUND,
}

#: night: dark exposure, warm street light, headlight glare, noise and motion blur.
NIGHT: dict[str, Any] = {
    "geometry": {
        "rotate": _e(1.0, deg=(-10, 10)),
        "shear": _e(0.4, deg=(-8, 8)),
        "perspective": _e(0.7, amount=(0, 0.06)),
        "scale": _e(1.0, factor=(0.95, 1.0)),
        "translate": _e(0.5, x=(-0.02, 0.02), y=(-0.05, 0.05)),
        "margin": _e(0.8, x=(0, 0.2), y=(0, 0.6)),
        "background": _e(1.0, kinds=["body", "bumper", "road", "flat"]),
    },
    "photometric": {
        "brightness": _e(1.0, amount=(-0.35, -0.05)),
        "contrast": _e(0.6, amount=(-0.35, 0.1)),
        "gamma": _e(0.8, gamma=(1.1, 1.8)),
        "temperature": _e(0.7, shift=(0.05, 0.35)),
        "shadow": _e(0.3, intensity=(0.2, 0.6)),
        "glare": _e(0.5, intensity=(0.3, 0.9)),
    },
    "camera": {
        "ir_paint": _e(1.0, dim=(0.15, 0.4)),  # acts only where infrared fires
        "infrared": _e(
            0.3, lift=(0.0, 0.15), contrast=(0.75, 1.0), bloom=(0.3, 0.9), surround=(0.15, 0.6)
        ),
        "halation": _e(0.3, strength=(0.1, 0.6), radius=(0.1, 0.5)),
        "blur": _e(0.4, sigma=(0.4, 1.2)),
        "motion_blur": _e(0.4, length=(3, 11), angle=(-180, 180)),
        "noise": _e(0.9, sigma=(0.02, 0.09)),
        "downscale": _e(0.4, plate_height=(16, 40)),
        "jpeg": _e(0.6, quality=(25, 80)),
    },
    "surround": COLOUR_SURROUND,
}

PRESETS: dict[str, dict[str, Any]] = {"light": LIGHT, "heavy": HEAVY, "cctv": CCTV, "night": NIGHT}


# -- validation --------------------------------------------------------------------------


class _Lines:
    """Line numbers of the keys of a composed YAML document, so errors can point at them.

    Each node is visited once, so an alias-heavy document costs no more than its text.
    """

    def __init__(self, node: yaml.Node | None) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        self._seen: set[int] = set()
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        if not isinstance(node, yaml.MappingNode) or id(node) in self._seen:
            return
        self._seen.add(id(node))
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                sub = (*path, str(key.value))
                self.lines.setdefault(sub, key.start_mark.line + 1)
                self._walk(value, sub)

    def at(self, path: tuple[str, ...]) -> str:
        while path and path not in self.lines:
            path = path[:-1]
        return f" (line {self.lines[path]})" if path else ""


def _expanded_size(root: yaml.Node, where: str) -> int:
    """How many nodes the document holds once every alias is expanded, computed without
    expanding (each distinct node once); an alias bomb is refused here, in linear time."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            open_nodes.discard(id(node))
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_CONFIG_NODES:
                raise KplateError(
                    f"{where}: more than {MAX_CONFIG_NODES} YAML nodes once aliases are "
                    "expanded (an alias bomb?)"
                )
            sizes[id(node)] = size
            continue
        if id(node) in open_nodes:
            line = node.start_mark.line + 1
            raise KplateError(f"{where} (line {line}): an alias refers to a node that holds it")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _read_yaml(path: Path, where: str) -> tuple[Any, _Lines]:
    """The document of a YAML config and its key lines, within MAX_CONFIG_BYTES and
    MAX_CONFIG_NODES; every problem is one KplateError line naming the file."""
    if not os.path.lexists(path):
        raise KplateError(f"{where}: cannot read augmentation config (no such file)")
    raw = read_user_file(path, MAX_CONFIG_BYTES, "a YAML augmentation config")
    text = utf8_text(raw, lambda line: f"{where} (line {line})")
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, _Lines(None)
        _expanded_size(node, where)
        return loader.construct_document(node), _Lines(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise KplateError(f"{where}{line}: not valid YAML") from None
    except RecursionError:
        raise KplateError(f"{where}: YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def validate_spec(
    data: Any, where: str = "config", lines: _Lines | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """Check a spec against SCHEMA; returns a normalised deep copy or raises KplateError.

    Errors name the source (`where`), the dotted key and, for YAML files, the line. A
    `critic` file is resolved against `folder` (the config's own), else as given.
    """

    def fail(path: tuple[str, ...], message: str) -> KplateError:
        key = ".".join(path) or "top level"
        return KplateError(f"{where}: {key}{lines.at(path) if lines else ''}: {message}")

    if not isinstance(data, dict):
        raise fail((), "expected a mapping of geometry/photometric/camera")
    spec: dict[str, Any] = {}
    for group, effects in data.items():
        if group == "legibility":  # floors, not effects: kplate.augment.legibility
            from kplate.augment.legibility import validate_legibility

            spec[group] = validate_legibility(effects, fail)
            continue
        if group == "critic":  # a trained model's file, not effects: kplate.augment.critic
            from kplate.augment.critic import validate_critic

            spec[group] = validate_critic(effects, fail, folder)
            continue
        if group not in SCHEMA:
            known = ", ".join((*GROUPS, "legibility", "critic"))
            raise fail((str(group),), f"unknown group; expected one of {known}")
        if effects is None:
            effects = {}
        if not isinstance(effects, dict):
            raise fail((group,), "expected a mapping of effects")
        spec[group] = {}
        for effect, values in effects.items():
            path = (group, str(effect))
            if effect not in SCHEMA[group]:
                known = ", ".join(SCHEMA[group])
                raise fail(path, f"unknown effect; {group} has {known}")
            spec[group][effect] = _validate_effect(values, SCHEMA[group][effect], path, fail)
    return spec


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool, NaN, infinity or an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _shown(value: Any, limit: int = 60) -> str:
    """A value as the error shows it: repr, cut short (a config value may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _validate_effect(values: Any, params: dict[str, Param], path: tuple[str, ...], fail) -> dict:
    if not isinstance(values, dict):
        raise fail(path, "expected a mapping with p and parameter ranges")
    unknown = set(values) - {"p", *params}
    if unknown:
        allowed = ", ".join(["p", *params])
        raise fail((*path, str(sorted(unknown, key=str)[0])), f"unknown key; allowed: {allowed}")
    out: dict[str, Any] = {}
    p = values.get("p", 1.0)
    if not _is_number(p) or not 0.0 <= p <= 1.0:
        raise fail((*path, "p"), f"expected a probability in [0, 1], got {_shown(p)}")
    out["p"] = float(p)
    for name, param in params.items():
        key = (*path, name)
        if name not in values:
            raise fail(key, "missing")
        value = values[name]
        if param.kind == "choice":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value:
                raise fail(key, f"expected a list of {', '.join(param.choices)}")
            for choice in value:
                if choice not in param.choices:
                    raise fail(key, f"unknown choice {_shown(choice)}; expected {param.choices}")
            out[name] = list(value)
            continue
        if _is_number(value):
            value = [value, value]
        ok = isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
        if param.kind == "int" and ok:
            ok = all(float(v).is_integer() for v in value)
        if not ok:
            kind = "integers" if param.kind == "int" else "finite numbers"
            raise fail(key, f"expected a range [lo, hi] of {kind}, got {_shown(value)}")
        lo, hi = value
        if lo > hi:
            raise fail(key, f"range [{lo}, {hi}] has lo > hi")
        if lo < param.lo or hi > param.hi:
            raise fail(key, f"range [{lo}, {hi}] outside the allowed [{param.lo}, {param.hi}]")
        out[name] = [int(lo), int(hi)] if param.kind == "int" else [float(lo), float(hi)]
    return out


def load_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """(name, validated spec) for a preset name or a YAML file path.

    A file may start from a preset with `preset: heavy`; its groups then override that
    preset effect by effect (an effect with `p: 0` switches it off).
    """
    if spec in PRESETS:
        return spec, copy.deepcopy(PRESETS[spec])
    path = Path(spec)
    if path.suffix.lower() not in {".yaml", ".yml"} and not path.exists():
        raise KplateError(
            f"unknown augmentation preset '{spec}'; expected one of "
            f"{', '.join(PRESETS)}, mix or a YAML config file"
        )
    data, lines = _read_yaml(path, spec)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KplateError(f"{spec}: expected a mapping of geometry/photometric/camera")
    data = dict(data)
    base_name = data.pop("preset", None)
    base: dict[str, Any] = {}
    if base_name is not None:
        if not isinstance(base_name, str) or base_name not in PRESETS:
            raise KplateError(
                f"{spec}: preset{lines.at(('preset',))}: unknown preset {_shown(base_name)}; "
                f"expected one of {', '.join(PRESETS)}"
            )
        base = copy.deepcopy(PRESETS[base_name])
    own = validate_spec(data, spec, lines, path.parent)
    for group, effects in own.items():
        if group == "critic":  # one model, not effects to merge
            base[group] = effects
            continue
        base.setdefault(group, {}).update(effects)
    return path.stem, base


def ranges_table(name: str, spec: dict[str, Any]) -> list[str]:
    """Markdown rows `| preset | effect | p | parameter | range |` for docs/augment.md."""
    rows = []
    for group in GROUPS:
        for effect, values in spec.get(group, {}).items():
            for param, value in values.items():
                if param == "p":
                    continue
                shown = (
                    ", ".join(value) if isinstance(value[0], str) else f"{value[0]} .. {value[1]}"
                )
                rows.append(f"| {name} | {group}.{effect} | {values['p']} | {param} | {shown} |")
    return rows
