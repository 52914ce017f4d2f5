"""Clean generation speed of this tree against another kplate source tree, as a ratio.

A change that redraws plates (issue #15) must not slow clean generation by more than 10 %.
Both trees run the same child (`generate_speed.child_generate`: N plates, encoded and
written) in fresh subprocesses, alternating round by round so the machine's drift hits
both alike; the result is the median over rounds of (this tree's plates/s) / (the other's).

    git worktree add --detach /tmp/kplate-base <commit>
    python benchmarks/compare_generate.py --other /tmp/kplate-base [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_JSON = HERE / "results" / "compare_generate.json"


def run_tree(src: Path, count: int, height: int, augment: str | None) -> float:
    """Plates per second of `child_generate` with `src` first on the path."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import generate_speed as g; "
        f"print(json.dumps(g.child_generate({count}, {height}, 1, {augment!r})))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1])["per_second"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="the other tree's root")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--height", type=int, default=110)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    trees = {"this": REPO / "src", "other": args.other.resolve() / "src"}
    speeds: dict[str, list[float]] = {name: [] for name in trees}
    for round_index in range(args.rounds):
        # Alternate which tree goes first, so neither always meets a cold or warm cache.
        order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
        for name in order:
            speeds[name].append(run_tree(trees[name], args.count, args.height, None))
    ratios = [a / b for a, b in zip(speeds["this"], speeds["other"], strict=True)]
    result = {
        "other": str(args.other),
        "count": args.count,
        "height": args.height,
        "plates_per_second": speeds,
        "ratio_per_round": [round(r, 3) for r in ratios],
        "median_ratio": round(statistics.median(ratios), 3),
    }
    print("| tree | plates/s per round | median |")
    print("|---|---|---|")
    for name, values in speeds.items():
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {shown} | {statistics.median(values):.0f} |")
    print(f"\nthis / other, median over rounds: {result['median_ratio']:.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
