"""`kplate evaluate`: recognition, realism and label-preservation reports for datasets.

Each subcommand writes REPORT/<name>.json and REPORT/index.html (see docs/evaluate.md).
"""

from __future__ import annotations

import argparse

from kplate.errors import KplateError
from kplate.evaluate.defaults import REALISM_MAX_PER_CLASS as DEFAULT_MAX_PER_CLASS
from kplate.evaluate.defaults import REALISM_STEPS, RECOGNISER_TYPE_BALANCE
from kplate.evaluate.defaults import RECOGNISER_STEPS as DEFAULT_STEPS


def register(subparsers: argparse._SubParsersAction) -> None:

    parser = subparsers.add_parser(
        "evaluate",
        help="recognition, realism and label-preservation reports",
        description=__doc__.splitlines()[0],
    )
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", parser_class=type(parser))
    stages.required = True

    recognition = stages.add_parser(
        "recognition",
        help="train the fixed-recipe recogniser on --train, score it on --test",
        description="Train the fixed-recipe CRNN on the --train sets and score it on --test.",
    )
    recognition.add_argument(
        "--train",
        action="append",
        required=True,
        metavar="DIR",
        help="kplate dataset or labels.csv folder (repeat to concatenate)",
    )
    recognition.add_argument("--test", required=True, metavar="DIR", help="labelled test folder")
    recognition.add_argument("--out", required=True, metavar="REPORT", help="report folder")
    recognition.add_argument(
        "--steps",
        type=int,
        default=DEFAULT_STEPS,
        help=f"training steps at batch 32 ({DEFAULT_STEPS})",
    )
    recognition.add_argument("--seed", type=int, default=0, help="random seed (0)")
    recognition.add_argument(
        "--type-balance",
        type=float,
        default=RECOGNISER_TYPE_BALANCE,
        metavar="P",
        help="repeat each image (largest type's count / its type's) ** P times per epoch, "
        f"0 to 1 (the recipe's {RECOGNISER_TYPE_BALANCE}: a type's share of the steps goes "
        "as the square root of its share; 0: every image alike)",
    )
    recognition.set_defaults(handler=run_recognition)

    realism = stages.add_parser(
        "realism",
        help="classifier two-sample test and image statistics, generated vs real",
        description="Can a small CNN tell --generated from --real? 50% means no.",
    )
    realism.add_argument("--generated", required=True, metavar="DIR", help="generated images")
    realism.add_argument("--real", required=True, metavar="DIR", help="real images")
    realism.add_argument("--out", required=True, metavar="REPORT", help="report folder")
    realism.add_argument(
        "--steps",
        type=int,
        default=REALISM_STEPS,
        help=f"classifier training steps ({REALISM_STEPS})",
    )
    realism.add_argument(
        "--max-per-class",
        type=int,
        default=DEFAULT_MAX_PER_CLASS,
        help=f"images used per folder at most ({DEFAULT_MAX_PER_CLASS})",
    )
    realism.add_argument("--seed", type=int, default=0, help="random seed (0)")
    realism.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="K",
        help="run the test at seeds SEED..SEED+K-1 (new halves and classifier each) and "
        "report the median: one split moves by up to 0.15 on a few hundred crops (1)",
    )
    realism.add_argument(
        "--views",
        action="store_true",
        help="also run the test on views of both sets (the middle window alone, the edges "
        "alone, coarse, fine, row and column profiles): which part of a crop gives the "
        "generated set away; 5 more tests",
    )
    realism.set_defaults(handler=run_realism)

    preservation = stages.add_parser(
        "preservation",
        help="does translation keep the plate text? reads source and translated images",
        description="Read --source and --translated with one recogniser and compare.",
    )
    preservation.add_argument("--source", required=True, metavar="DIR", help="clean dataset")
    preservation.add_argument(
        "--translated", required=True, metavar="DIR", help="the same file names after translation"
    )
    which = preservation.add_mutually_exclusive_group()
    which.add_argument("--recogniser", metavar="PATH", help="a saved recogniser.pt")
    which.add_argument(
        "--steps",
        type=int,
        default=DEFAULT_STEPS,
        help=f"train on --source for this many steps ({DEFAULT_STEPS})",
    )
    preservation.add_argument("--out", required=True, metavar="REPORT", help="report folder")
    preservation.add_argument("--seed", type=int, default=0, help="random seed (0)")
    preservation.set_defaults(handler=run_preservation)


def _positive(value: int, flag: str) -> None:
    if value < 1:
        raise KplateError(f"{flag} must be 1 or more, got {value}")


def run_recognition(args: argparse.Namespace) -> int:
    from kplate.evaluate.recognition import run_recognition as run
    from kplate.evaluate.report import report_folder

    _positive(args.steps, "--steps")
    with report_folder(args.out):
        result = run(args.train, args.test, args.out, steps=args.steps, seed=args.seed,
                     type_balance=args.type_balance, progress=print)  # fmt: skip
    print(
        f"exact accuracy {result['exact_accuracy']:.3f}, CER {result['cer']:.3f} on "
        f"{result['count']} images ({result['skipped']} unreadable skipped); "
        f"report in {args.out}/index.html"
    )
    return 0


def run_realism(args: argparse.Namespace) -> int:
    from kplate.evaluate.realism import most_told
    from kplate.evaluate.realism import run_realism as run
    from kplate.evaluate.realism_views import most_telling
    from kplate.evaluate.report import report_folder

    _positive(args.steps, "--steps")
    _positive(args.max_per_class, "--max-per-class")
    _positive(args.repeats, "--repeats")
    with report_folder(args.out):
        result = run(args.generated, args.real, args.out, seed=args.seed, steps=args.steps,
                     max_per_class=args.max_per_class, repeats=args.repeats,
                     views=args.views, progress=print)  # fmt: skip
    test = result["classifier"]
    low, high = test["ci95"]
    spread = ""
    if args.repeats > 1:
        spread = (f", median of {args.repeats} seeds: {min(test['accuracies']):.3f}-"
                  f"{max(test['accuracies']):.3f}")  # fmt: skip
    print(
        f"real-vs-generated accuracy {test['accuracy']:.3f} (95% CI {low:.3f}-{high:.3f}, "
        f"{test['test_images']} held out{spread}); report in {args.out}/index.html"
    )
    told = most_told(test.get("groups") or {})
    if told:
        print("generated images most often told apart: " + ", ".join(told[:3]))
    if test.get("views"):
        print(f"views, most telling first (whole image {test['accuracy']:.3f}): "
              + ", ".join(most_telling(test["views"])))  # fmt: skip
    return 0


def run_preservation(args: argparse.Namespace) -> int:
    from kplate.evaluate.preservation import run_preservation as run
    from kplate.evaluate.report import report_folder

    _positive(args.steps, "--steps")
    with report_folder(args.out):
        result = run(args.source, args.translated, args.out, recogniser_path=args.recogniser,
                     steps=args.steps, seed=args.seed, progress=print)  # fmt: skip
    print(
        f"accuracy {result['source_accuracy']:.3f} on source, "
        f"{result['translated_accuracy']:.3f} on translated (drop {result['drop']:.3f}); "
        f"{result['changed_count']} readings changed; report in {args.out}/index.html"
    )
    return 0
