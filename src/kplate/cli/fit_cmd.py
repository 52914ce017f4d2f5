"""`kplate fit`: an augmentation config whose images look like a folder of real crops.

Searches the base preset's effect probabilities and ranges so that generated plates match
the crops in --real on brightness, contrast, sharpness, noise, black and white levels,
colour and greyscale share, and where the plate sits in the crop (its placement is
searched too), then checks base and fitted with the realism two-sample test and writes a
YAML config for `kplate generate --augment-config` (see docs/fit.md).
"""

from __future__ import annotations

import argparse

from kplate.evaluate.defaults import (
    CRITIC_CANDIDATES,
    CRITIC_DRAWS,
    CRITIC_GUIDE,
    CRITIC_GUIDE_EVALUATIONS,
    CRITIC_STEPS,
    CRITIC_TEMPER,
)
from kplate.evaluate.defaults import FIT_BASE as DEFAULT_BASE
from kplate.evaluate.defaults import FIT_BUDGET_MINUTES as DEFAULT_BUDGET_MINUTES
from kplate.evaluate.defaults import FIT_CHECK as DEFAULT_CHECK
from kplate.evaluate.defaults import FIT_SAMPLE as DEFAULT_SAMPLE


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit an augmentation config to a folder of real crops (no labels needed)",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    parser.add_argument("--real", required=True, metavar="DIR", help="folder of real crops")
    parser.add_argument("--out", required=True, metavar="FILE", help="the YAML config to write")
    parser.add_argument(
        "--base",
        default=DEFAULT_BASE,
        metavar="PRESET",
        help="preset or YAML config the search starts from; auto: the preset closest to "
        f"the real crops ({DEFAULT_BASE})",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=DEFAULT_BUDGET_MINUTES,
        metavar="M",
        help=f"time for the search and the final check ({DEFAULT_BUDGET_MINUTES:g})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of plates and search (0)")
    parser.add_argument(
        "--types",
        default="all",
        help="plate types to draw, as for generate: ids, all, realistic or region-rich",
    )
    parser.add_argument(
        "--height", type=int, default=110, help="image height to fit at, as for generate (110)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        metavar="N",
        help=f"plates per candidate config ({DEFAULT_SAMPLE})",
    )
    parser.add_argument(
        "--check",
        type=int,
        default=DEFAULT_CHECK,
        metavar="N",
        help=f"unseen plates per config for the final comparison; 0 skips it ({DEFAULT_CHECK})",
    )
    parser.add_argument(
        "--evaluations",
        type=int,
        default=None,
        metavar="N",
        help="stop the search after N candidate configs (repeats a run the budget cut)",
    )
    parser.add_argument(
        "--critic-candidates",
        type=int,
        default=CRITIC_CANDIDATES,
        metavar="K",
        help="camera draws per plate that the realism critic chooses among when the config "
        f"is drawn; 0: no critic (default {CRITIC_CANDIDATES}; docs/fit.md, 'The critic')",
    )
    parser.add_argument(
        "--critic-temper",
        type=float,
        default=CRITIC_TEMPER,
        metavar="T",
        help=f"how strongly the critic's odds tilt the choice, above 0 to 4 ({CRITIC_TEMPER:g})",
    )
    parser.add_argument(
        "--critic-draws",
        type=int,
        default=CRITIC_DRAWS,
        metavar="N",
        help=f"plates of the fitted config the critic learns from ({CRITIC_DRAWS})",
    )
    parser.add_argument(
        "--critic-steps",
        type=int,
        default=CRITIC_STEPS,
        metavar="N",
        help=f"the critic's training steps of 16 real and 16 drawn crops ({CRITIC_STEPS})",
    )
    parser.add_argument(
        "--critic-guide",
        type=float,
        default=CRITIC_GUIDE,
        metavar="W",
        help="after the search, search on with W x a first critic's odds that a draw is "
        f"drawn added to the objective; 0: no guide; needs the critic ({CRITIC_GUIDE:g}; "
        "docs/fit.md, 'The guide')",
    )
    parser.add_argument(
        "--guide-evaluations",
        type=int,
        default=CRITIC_GUIDE_EVALUATIONS,
        metavar="N",
        help=f"candidate configs the guided search scores ({CRITIC_GUIDE_EVALUATIONS})",
    )
    parser.add_argument(
        "--infrared-share",
        default="count",
        metavar="S",
        help="share of plates the infrared camera draws: count (as often greyscale as the "
        "real crops), search (a knob of the search), or a number from 0 to 1 (count; "
        "docs/fit.md, 'The infrared share')",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: numpy, OpenCV and (for the final check) torch stay out of --help.
    from kplate.augment.presets import load_spec
    from kplate.evaluate.critic_fit import check_critic_options, check_critic_out, critic_path
    from kplate.evaluate.fit import (
        WITH_CRITIC,
        add_critic,
        check_guide,
        check_infrared_share,
        check_options,
        fit_augmentation,
        real_image_files,
    )
    from kplate.evaluate.fit_config import check_out, write_fit_config
    from kplate.numbers.type_shares import NAMED_MIXES
    from kplate.spec.types import parse_plate_types

    named = args.types.strip().lower()
    if named == "all":
        types = None
    elif named in NAMED_MIXES:
        types = named  # fit_augmentation draws the mix's weights
    else:
        types = parse_plate_types(args.types)
    check_options(
        seed=args.seed,
        types=types,
        height=args.height,
        sample=args.sample,
        check=args.check,
        budget_minutes=args.budget_minutes,
        evaluations=args.evaluations,
    )
    infrared_share = check_infrared_share(args.infrared_share)
    if args.base != "auto":
        load_spec(args.base)
    real_image_files(args.real)
    check_out(args.out)
    check_guide(args.critic_guide, args.guide_evaluations, args.critic_candidates)
    if args.critic_candidates:
        check_critic_options(
            args.critic_candidates, args.critic_temper, args.critic_draws, args.critic_steps
        )
        check_critic_out(critic_path(args.out))
    result = fit_augmentation(
        args.real,
        base=args.base,
        budget_minutes=args.budget_minutes,
        seed=args.seed,
        types=types,
        height=args.height,
        sample=args.sample,
        check=args.check,
        evaluations=args.evaluations,
        infrared_share=infrared_share,
        progress=print,
    )
    if args.critic_candidates:
        add_critic(
            result, args.out, candidates=args.critic_candidates, temper=args.critic_temper,
            draws=args.critic_draws, steps=args.critic_steps, guide=args.critic_guide,
            guide_evaluations=args.guide_evaluations, progress=print,
        )  # fmt: skip
    path = write_fit_config(result, args.out)
    for line in result.moves:
        print(f"  {line}")
    base, fitted = result.check_objective["base"], result.check_objective["fitted"]
    line = f"objective {base:.3f} -> {fitted:.3f}"
    sides = f"base {result.base_name} -> fitted"
    if WITH_CRITIC in result.check_objective:
        line += f" -> {result.check_objective[WITH_CRITIC]:.3f}"
        sides += " -> with its critic"
    if result.realism:
        line += (
            f"; two-sample accuracy {result.realism['base']['accuracy']:.3f} -> "
            f"{result.realism['fitted']['accuracy']:.3f}"
        )
        if WITH_CRITIC in result.realism:
            line += f" -> {result.realism[WITH_CRITIC]['accuracy']:.3f}"
    print(f"{line} ({sides}); wrote {path} in {result.seconds:.0f} s")
    return 0
