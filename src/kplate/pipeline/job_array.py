"""`--shard auto`: the shard I of N of a cluster job array, read from the scheduler's
environment, so a SLURM array or a Kubernetes indexed Job needs no wrapper script.

SLURM sets `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT` (and `SLURM_ARRAY_TASK_MIN`,
the first ID, which need not be 0: `--array=1-8`). A Kubernetes indexed Job sets only
`JOB_COMPLETION_INDEX`; its `completions` is not in the environment, so the count comes
with the flag: `--shard auto/N`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kplate.errors import KplateError

SLURM_ID = "SLURM_ARRAY_TASK_ID"
SLURM_COUNT = "SLURM_ARRAY_TASK_COUNT"
SLURM_MIN = "SLURM_ARRAY_TASK_MIN"
SLURM_MAX = "SLURM_ARRAY_TASK_MAX"
SLURM_STEP = "SLURM_ARRAY_TASK_STEP"
K8S_INDEX = "JOB_COMPLETION_INDEX"

_AUTO = re.compile(r"auto(?:/(?P<count>.*))?")
_NUMBER = re.compile(r"[0-9]{1,9}")  # what a job array index or count can be


@dataclass(frozen=True)
class AutoShard:
    """`--shard auto` (count None: from the environment) or `--shard auto/N`."""

    count: int | None = None


def parse_auto(value: str) -> AutoShard | None:
    """`auto` or `auto/N` as an AutoShard; None for anything else (an `I/N` shard)."""
    match = _AUTO.fullmatch(value.strip())
    if match is None:
        return None
    if match["count"] is None:
        return AutoShard()
    if not _NUMBER.fullmatch(match["count"]) or int(match["count"]) < 1:
        raise ValueError(f"expected auto or auto/N with N >= 1, got '{value}'")
    return AutoShard(int(match["count"]))


def _number(environ: Mapping[str, str], name: str) -> int:
    value = environ[name]
    if not _NUMBER.fullmatch(value.strip()):
        raise KplateError(f"--shard auto: {name}={value!r} is not a whole number 0 or more")
    return int(value)


def _check_slurm_range(environ: Mapping[str, str], count: int) -> None:
    """An array whose IDs are not MIN..MIN+N-1 with step 1 (`--array=0-63:2`,
    `--array=1,5,9`) would leave shards unmade: refused, naming what SLURM says."""
    if SLURM_STEP in environ and _number(environ, SLURM_STEP) != 1:
        raise KplateError(
            f"--shard auto: {SLURM_STEP}={environ[SLURM_STEP]}; an array with a step leaves "
            "shards unmade: use --array=0-(N-1) or --shard I/N"
        )
    if SLURM_MAX in environ and SLURM_MIN in environ:
        span = _number(environ, SLURM_MAX) - _number(environ, SLURM_MIN) + 1
        if span != count:
            raise KplateError(
                f"--shard auto: {SLURM_MIN}={environ[SLURM_MIN]} to {SLURM_MAX}="
                f"{environ[SLURM_MAX]} is not {count} consecutive IDs; the array must be "
                "one range with step 1"
            )


def resolve(spec: AutoShard, environ: Mapping[str, str]) -> tuple[int, int]:
    """(I, N) of this task of the job array, or a one-line error naming the variable."""
    slurm, k8s = SLURM_ID in environ, K8S_INDEX in environ
    if slurm and k8s:
        raise KplateError(
            f"--shard auto: both {SLURM_ID} and {K8S_INDEX} are set; give --shard I/N instead"
        )
    if slurm:
        index = _number(environ, SLURM_ID) - (
            _number(environ, SLURM_MIN) if SLURM_MIN in environ else 0
        )
        if SLURM_COUNT in environ:
            count = _number(environ, SLURM_COUNT)
            if spec.count is not None and spec.count != count:
                raise KplateError(
                    f"--shard auto/{spec.count}: {SLURM_COUNT}={count} says the array has "
                    f"{count} tasks"
                )
        elif spec.count is not None:
            count = spec.count
        else:
            raise KplateError(
                f"--shard auto: {SLURM_ID} is set but {SLURM_COUNT} is not; pass --shard auto/N"
            )
        where = f"{SLURM_ID}={environ[SLURM_ID]}"
        if SLURM_MIN in environ:
            where += f" ({SLURM_MIN}={environ[SLURM_MIN]})"
        _check_slurm_range(environ, count)
    elif k8s:
        index = _number(environ, K8S_INDEX)
        if spec.count is None:
            raise KplateError(
                f"--shard auto: {K8S_INDEX}={environ[K8S_INDEX]} gives the index but not the "
                "count; pass --shard auto/N with N = the Job's completions"
            )
        count = spec.count
        where = f"{K8S_INDEX}={environ[K8S_INDEX]}"
    else:
        raise KplateError(
            f"--shard auto: not in a job array ({SLURM_ID} and {K8S_INDEX} are unset); "
            "give --shard I/N instead"
        )
    if count < 1:
        raise KplateError(f"--shard auto: {where}: a job array of {count} tasks has none to do")
    if not 0 <= index < count:
        raise KplateError(
            f"--shard auto: {where} is not shard 0 to {count - 1} of {count}; the array "
            "must number its tasks 0..N-1 (or from SLURM's MIN) with step 1"
        )
    return index, count
