"""Export a trained generator to run without kplate: TorchScript (torch only) or ONNX.

Both take (B, 3, H, W) float input in [-1, 1] and return the same shape; H and W must be
multiples of 4 (plates: the training height, width rounded to a multiple of 8). Height and
width are dynamic, so one file serves every plate shape.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from kplate.errors import KplateError, OptionError
from kplate.gan.checkpoint import load_generator
from kplate.gan.config import Bounds, round_width

SUFFIX = {"torchscript": ".torchscript.pt", "onnx": ".onnx"}

#: The example input's sides (any multiple of 4 in range; the exported file takes any size).
SIDE = {"height": Bounds(4, 4096, integer=True), "width": Bounds(4, 16384, integer=True)}


def export_generator(
    checkpoint: Path,
    fmt: str,
    out: Path | None = None,
    *,
    height: int | None = None,
    width: int | None = None,
) -> Path:
    if fmt not in SUFFIX:
        raise KplateError(f"unknown export format '{fmt}' (torchscript or onnx)")
    for name, value in (("height", height), ("width", width)):
        if value is not None:  # 0 or -4 is an error, not "the default"
            SIDE[name].check(name, value)
    generator = load_generator(checkpoint).eval()  # refuses non-finite weights
    config = generator.config
    height = height or config.height
    width = width or round_width(height, 520 / 110, config.width_multiple)
    if height % 4 or width % 4:
        raise OptionError(
            "height",
            f"{{option}} and {{width}} must be multiples of 4, got {height}x{width}",
            also=("width",),
        )
    example = torch.zeros(1, 3, height, width)
    if out is None:
        out = checkpoint.parent / f"generator{SUFFIX[fmt]}"
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "torchscript":
            with torch.no_grad():
                traced = torch.jit.trace(generator, example)
            try:
                traced.save(str(tmp))
            except RuntimeError as error:  # torch's file writer reports a failed write so
                raise OSError(str(error).splitlines()[0]) from None
        else:
            _export_onnx(generator, example, tmp)
        tmp.replace(out)
    except OSError as error:  # a full or read-only disk, or a folder that cannot be made
        raise KplateError(f"{out}: write failed ({error.strerror or error})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # never a partial file beside the target
    return out


def _export_onnx(generator: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise KplateError(
            "ONNX export needs the onnx package: pip install onnx onnxscript"
        ) from None
    axes = {
        "image": {0: "batch", 2: "height", 3: "width"},
        "translated": {0: "batch", 2: "height", 3: "width"},
    }
    with torch.no_grad():
        torch.onnx.export(
            generator,
            (example,),
            str(path),
            input_names=["image"],
            output_names=["translated"],
            dynamic_axes=axes,
            dynamo=False,
            opset_version=17,
        )
