"""`kplate generate`: labelled plate datasets, at random or from a CSV; and `kplate merge`.

The earlier project's `generate.py` flags are accepted verbatim as aliases:
`--data_path/-dp` = `--csv`, `--save_path/-sp` = `--out`, `--number_of_plates/-np` =
`--count`, `--transformations/-t` = `--augment`, plus `--random/-r` and `--save/-s`, with
True/False parsed properly (the old `type=bool` turned every value into True).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from kplate.cli.options import add_glyph_options, parse_bool
from kplate.errors import KplateError
from kplate.io.layout import DEFAULT_SHARD_SIZE, Layout
from kplate.io.merge import merge_shards
from kplate.io.paths import refuse_overlap
from kplate.io.plate_csv import read_plate_csv
from kplate.io.run_folder import output_folder
from kplate.numbers.type_shares import types_and_weights
from kplate.pipeline import (
    FileNaming,
    GenerateConfig,
    ImageFormat,
    NumberPrior,
    WriteOptions,
    write_dataset,
)
from kplate.pipeline.job_array import AutoShard, parse_auto, resolve
from kplate.render.plate import DEFAULT_EMBOSS_DEPTH_MM

DEFAULT_OUT = "kplate-out"
DEFAULT_COUNT = 100


def _shard(value: str) -> tuple[int, int] | AutoShard:
    """`I/N`, or `auto` / `auto/N` for a job array (resolved when the run starts)."""
    try:
        auto = parse_auto(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if auto is not None:
        return auto
    try:
        index_text, count_text = value.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4, got '{value}'") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard {value}: need 0 <= I < N")
    return index, count


def _weights(value: str) -> tuple[float, ...]:
    """Comma-separated numbers; their range (finite, non-negative) is the config's check."""
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got '{value}'"
        ) from None


#: argparse takes "-1,2" for an unknown flag (only "-1" and "-.5" look like numbers to
#: it), so `--weights -1,2` got "expected one argument". A value that starts with a minus
#: and a digit, a point or inf/nan is a value here; none of generate's flags looks so.
_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a labelled dataset of plates (random, or from a CSV)",
        description=__doc__.split("\n\n")[0],
    )
    source = parser.add_argument_group("what to draw")
    source.add_argument(
        "--count",
        "--number_of_plates",
        "-np",
        type=int,
        default=None,
        help=f"number of random plates (default {DEFAULT_COUNT})",
    )
    source.add_argument(
        "--csv",
        "--data_path",
        "-dp",
        dest="csv",
        metavar="FILE",
        help="CSV with a 'plate' (or 'filename') column and optional 'type'",
    )
    source.add_argument(
        "--random",
        "-r",
        type=parse_bool,
        default=None,
        metavar="BOOL",
        help="random plates (default unless --csv is given)",
    )
    source.add_argument(
        "--types",
        default="all",
        help="comma-separated type ids, all (evenly: the default, and the mix to train a "
        "recogniser on), realistic (shares of the traffic) or region-rich (realistic, "
        "region-name and two-row types 4x); docs/numbers.md",
    )
    source.add_argument(
        "--weights", type=_weights, default=None, help="relative weight per --types entry"
    )
    source.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    # Not --numbers: argparse takes any unique prefix, and `--number 5` (the earlier
    # project's --number_of_plates, abbreviated) must keep meaning --count.
    source.add_argument(
        "--prior",
        dest="number_prior",
        choices=[p.value for p in NumberPrior],
        default=None,
        help="how random numbers are drawn: realistic (default; issued ranges and shares, "
        "docs/numbers.md) or uniform (every legal number alike)",
    )
    source.add_argument(
        "--skip-invalid",
        action="store_true",
        help="write the valid CSV rows and report the invalid ones",
    )
    look = parser.add_argument_group("how it looks")
    look.add_argument("--height", type=int, default=None, help="image height in pixels (110)")
    look.add_argument("--width", type=int, default=None, help="fix the width too")
    look.add_argument(
        "--augment",
        nargs="?",
        const="light",
        default=None,
        metavar="PRESET",
        help="light (bare --augment), heavy, cctv, night, or mix (one of the four per image)",
    )
    look.add_argument("--augment-config", metavar="FILE", help="YAML augmentation config")
    look.add_argument(
        "--transformations",
        "-t",
        type=parse_bool,
        default=None,
        metavar="BOOL",
        help="earlier project's flag: True means --augment light",
    )
    look.add_argument(
        "--emboss-depth",
        dest="emboss_depth_mm",
        type=float,
        default=DEFAULT_EMBOSS_DEPTH_MM,
        metavar="MM",
        help=f"how high characters are pressed, 0 for flat (default {DEFAULT_EMBOSS_DEPTH_MM})",
    )
    look.add_argument(
        "--nominal-colours",
        action="store_true",
        help="draw every plate in its nominal colour, not a shade of its range",
    )
    add_glyph_options(look)
    look.add_argument(
        "--translate",
        metavar="CHECKPOINT",
        help="translate each plate with this trained generator (one pass)",
    )
    look.add_argument("--device", default="auto", help="where --translate runs (auto/cpu/cuda)")
    look.add_argument(
        "--verify",
        action="store_true",
        help="with --translate: read every translated plate; one not read as its label is "
        "written as its source plate (docs/gan.md)",
    )
    look.add_argument(
        "--reader",
        default=None,
        metavar="FILE",
        help="the recogniser --verify reads with (default: the model's run folder reader.pt)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out",
        "--save_path",
        "-sp",
        dest="out",
        default=DEFAULT_OUT,
        help=f"output folder (default ./{DEFAULT_OUT})",
    )
    output.add_argument(
        "--format",
        dest="layout",
        choices=[f.value for f in ImageFormat] + ["jpeg", Layout.WEBDATASET, Layout.PARQUET],
        default="jpg",
        help="image files as jpg (default) or png; or streaming shards of JPEGs and records: "
        "webdataset (tar) or parquet (docs/scale.md)",
    )
    output.add_argument(
        "--shard-size",
        dest="shard_size",
        type=int,
        default=DEFAULT_SHARD_SIZE,
        metavar="N",
        help=f"samples per webdataset or parquet shard (default {DEFAULT_SHARD_SIZE})",
    )
    output.add_argument(
        "--filenames",
        dest="naming",
        choices=[n.value for n in FileNaming],
        default="index",
        help="index: ASCII names; label: <text>__<type> per type folder",
    )
    output.add_argument("--lmdb", action="store_true", help="also write an LMDB of gt.txt")
    output.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    output.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="I/N|auto",
        help="write shard I of N of the run (merge with kplate merge); auto: I and N from "
        "a SLURM array (SLURM_ARRAY_TASK_ID/COUNT), auto/N: I from a Kubernetes indexed Job "
        "(JOB_COMPLETION_INDEX)",
    )
    output.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run on a dask.distributed cluster (tcp://HOST:8786) whose workers share --out "
        "(docs/scale.md; needs kplate[dask])",
    )
    output.add_argument(
        "--overwrite", action="store_true", help="replace a different earlier run in --out"
    )
    output.add_argument(
        "--save",
        "-s",
        type=parse_bool,
        default=True,
        metavar="BOOL",
        help="False renders without writing (a dry run)",
    )
    output.add_argument(
        "--progress",
        type=parse_bool,
        default=None,
        metavar="BOOL",
        help="False: silent; default: a bar on a terminal, a line per 10%% otherwise",
    )
    parser._negative_number_matcher = _NEGATIVE_VALUE  # see _NEGATIVE_VALUE
    parser.set_defaults(handler=run)

    merge = subparsers.add_parser("merge", help="combine the shard folders of one generate run")
    merge.add_argument("shards", nargs="+", type=Path, help="shard output folders")
    merge.add_argument("--out", required=True, type=Path, help="merged output folder")
    merge.add_argument("--lmdb", action="store_true", help="also write an LMDB")
    merge.set_defaults(handler=run_merge)


def _augment_spec(args: argparse.Namespace) -> str | None:
    if args.augment_config:
        if args.augment:
            raise KplateError("use either --augment or --augment-config, not both")
        return args.augment_config
    if args.augment:
        return args.augment
    return "light" if args.transformations else None


def _checkpoint(value: str | None) -> str | None:
    """A run folder or generator file; resolved now so a typo fails before any work."""
    if value is None:
        return None
    from kplate.gan.translate import resolve_checkpoint

    path = Path(value)
    if path.is_dir():
        return str(resolve_checkpoint(path.name, path.parent).resolve())
    return str(resolve_checkpoint(None, checkpoint=path).resolve())


def _verify_reader(args: argparse.Namespace) -> str | None:
    """--verify's reader file (checked exists and is a recogniser later, before any work)."""
    if not args.verify:
        if args.reader is not None:
            raise KplateError("--reader is used by --verify only; add --verify")
        return None
    if not args.translate:
        raise KplateError("--verify checks translated plates: add --translate CHECKPOINT")
    if args.reader is not None:
        return str(Path(args.reader).resolve())
    from kplate.evaluate.text_reader import READER_FILE

    beside = Path(_checkpoint(args.translate) or "").parent / READER_FILE
    if not beside.is_file():
        raise KplateError(
            "--verify needs a plate reader: give --reader FILE (a kplate recogniser); the "
            "model's folder has no reader.pt"
        )
    return str(beside.resolve())


def build_config(args: argparse.Namespace) -> GenerateConfig:
    """Turn parsed flags into a run config, reporting conflicting or bad values in one line."""
    if args.workers < 1:
        raise KplateError(f"--workers must be 1 or more, got {args.workers}")
    types, weights = types_and_weights(args.types)
    if weights is None:
        weights = args.weights
    elif args.weights is not None:
        named = args.types.strip().lower()
        raise KplateError(f"--types {named} sets the weights itself; drop --weights")
    common = dict(
        seed=args.seed,
        # 110 only when neither side is given; --height 0 is refused, not read as "unset".
        height=110 if args.height is None and args.width is None else args.height,
        width=args.width,
        augment=_augment_spec(args),
        font=args.font,
        glyph_dir=args.glyph_dir,
        translate=_checkpoint(args.translate),
        verify=_verify_reader(args),
        image_format=ImageFormat("png" if args.layout == "png" else "jpg"),
        emboss_depth_mm=args.emboss_depth_mm,
        colour_shades=not args.nominal_colours,
    )
    if args.csv:
        if args.random:
            raise KplateError("--random=True and --csv/--data_path ask for different things")
        if args.count is not None:
            raise KplateError("--count does not apply to --csv: each row gives one image")
        if args.number_prior is not None:
            raise KplateError("--prior does not apply to --csv: each row gives its number")
        good, bad = read_plate_csv(args.csv)
        if bad and not args.skip_invalid:
            for row in bad:
                print(f"kplate generate: {row.message(Path(args.csv))}")
            raise KplateError(
                f"{args.csv}: {len(bad)} invalid row(s), nothing written; fix them or pass "
                "--skip-invalid"
            )
        for row in bad:
            print(f"kplate generate: skipped {row.message(Path(args.csv))}")
        if not good:
            raise KplateError(f"{args.csv}: no valid plate rows")
        plates = tuple((row.number.text, row.number.type.value) for row in good)
        return GenerateConfig(types=types, plates=plates, **common)
    if args.random is False:
        raise KplateError("--random=False needs --csv/--data_path with the plates to draw")
    count = DEFAULT_COUNT if args.count is None else args.count
    prior = NumberPrior(args.number_prior or NumberPrior.REALISTIC)
    return GenerateConfig(count=count, types=types, weights=weights, number_prior=prior, **common)


def _check_out(args: argparse.Namespace) -> Path:
    """--out as a folder apart from every input, checked before anything is read or made."""
    if not args.save:
        return Path(args.out or DEFAULT_OUT)
    out = output_folder(args.out)
    inputs = [("--csv", args.csv), ("--font", args.font), ("--glyph-dir", args.glyph_dir)]
    inputs += [("--augment-config", args.augment_config), ("--translate", args.translate)]
    inputs += [("--reader", getattr(args, "reader", None))]
    refuse_overlap(out, [(flag, Path(value) if value else None) for flag, value in inputs])
    return out


def run(args: argparse.Namespace) -> int:
    if isinstance(args.shard, AutoShard):
        args.shard = resolve(args.shard, os.environ)
    out = _check_out(args)
    config = build_config(args)
    options = WriteOptions(
        out=out,
        naming=FileNaming(args.naming),
        layout=Layout(args.layout) if args.layout in {*Layout} else Layout.FOLDER,
        shard_size=args.shard_size,
        scheduler=args.scheduler,
        workers=args.workers,
        shard=args.shard,
        overwrite=args.overwrite,
        lmdb=args.lmdb,
        save=args.save,
        progress=args.progress,
        device=args.device,
    )
    step = _verified_step(config, options)
    summary = write_dataset(config, options, step)
    for line in summary.lines():
        print(line)
    if step is not None:
        print(step.verifier.counts.line() + " (this run)")
    if args.augment_config:  # after the run: a config that fails to load gets its error alone
        from kplate.evaluate.fit_config import drawing_note

        note = drawing_note(args.augment_config, args.types, config.height)
        if note:
            print(note, file=sys.stderr)
    return 0


def _verified_step(config: GenerateConfig, options: WriteOptions) -> Any:
    """--translate with --verify: the step with its reader, loaded before any work."""
    if not config.verify or not config.translate:
        return None
    from kplate.evaluate.text_reader import load_reader
    from kplate.gan.step import TranslationStep
    from kplate.gan.verify import Verifier

    verifier = Verifier(load_reader(config.verify), config.verify)
    return TranslationStep.from_checkpoint(
        Path(config.translate), options.device, options.translate_batch, verifier
    )


def run_merge(args: argparse.Namespace) -> int:
    count = merge_shards(list(args.shards), args.out, lmdb=args.lmdb)
    print(f"merged {len(args.shards)} shards: {count} plates in {args.out}")
    return 0
