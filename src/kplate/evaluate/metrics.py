"""Recognition metrics: CTC greedy decoding, edit-distance alignment, CER and confusions.

Pure Python on strings, so each number can be checked by hand (tests/test_evaluate.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

#: Alignment operations: "=" match, "s" substitution, "d" deletion (label char missed),
#: "i" insertion (extra predicted char).
Op = tuple[str, str, str]  # (kind, label char or "", predicted char or "")


def ctc_greedy_decode(paths: Sequence[Sequence[int]], charset: str, blank: int = 0) -> list[str]:
    """Best-path decoding: collapse repeated classes, then drop blanks.

    Class k > 0 is `charset[k - 1]`; class `blank` (0) is the CTC blank.
    """
    texts = []
    for path in paths:
        chars, previous = [], blank
        for k in path:
            k = int(k)
            if k != previous and k != blank:
                chars.append(charset[k - 1])
            previous = k
        texts.append("".join(chars))
    return texts


def align(label: str, pred: str) -> list[Op]:
    """A minimum-edit alignment of label and prediction (Levenshtein with backtrace).

    Ties prefer match/substitution, then deletion, so the result is deterministic.
    """
    n, m = len(label), len(pred)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            diagonal = cost[i - 1][j - 1] + (label[i - 1] != pred[j - 1])
            cost[i][j] = min(diagonal, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    ops: list[Op] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (label[i - 1] != pred[j - 1]):
            same = label[i - 1] == pred[j - 1]
            ops.append(("=" if same else "s", label[i - 1], pred[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("d", label[i - 1], ""))
            i -= 1
        else:
            ops.append(("i", "", pred[j - 1]))
            j -= 1
    ops.reverse()
    return ops


#: The error kinds a wrong reading is sorted into (one plate may show several).
ERROR_KINDS = ("length", "end_extra", "region", "hangul", "digit")


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


def region_length(label: str) -> int:
    """How many leading Hangul syllables name a region (서울12가3456 -> 2; 12가3456 -> 0)."""
    n = 0
    while n < len(label) and _is_hangul(label[n]):
        n += 1
    return n if n < len(label) else 0


def error_kinds(label: str, pred: str, ops: Sequence[Op] | None = None) -> set[str]:
    """Why a reading is wrong, by kind, so a report says what to fix rather than how much.

    length: the reading has another number of characters; end_extra: an extra character
    at either end (a bolt, frame edge or dealer text read as a character); region: the
    leading region name is wrong; hangul / digit: a syllable / digit after it is wrong
    (substituted or missed).
    """
    if label == pred:
        return set()
    ops = align(label, pred) if ops is None else ops
    kinds: set[str] = set()
    if len(label) != len(pred):
        kinds.add("length")
    if ops and (ops[0][0] == "i" or ops[-1][0] == "i"):
        kinds.add("end_extra")
    region = region_length(label)
    if region and pred[:region] != label[:region]:
        kinds.add("region")
    position = 0  # index into the label of the next label character
    for kind, true_char, _ in ops:
        if kind in ("s", "d") and position >= region:
            kinds.add("hangul" if _is_hangul(true_char) else "digit")
        if kind != "i":
            position += 1
    return kinds


def recognition_metrics(
    labels: Sequence[str], preds: Sequence[str], types: Sequence[str] | None = None, top: int = 20
) -> dict[str, Any]:
    """Exact-plate accuracy, CER, per-type and per-position accuracy, error kinds, confusions.

    CER is corpus-level: total edits / total label characters. Position i is correct when
    prediction[i] == label[i]; its accuracy is over the labels at least i+1 long.
    """
    if len(labels) != len(preds):
        raise ValueError("labels and predictions differ in length")
    types = list(types) if types is not None else ["unknown"] * len(labels)
    edits = chars = exact = 0
    position_hits: Counter[int] = Counter()
    position_total: Counter[int] = Counter()
    substitutions: Counter[tuple[str, str]] = Counter()
    deletions: Counter[str] = Counter()
    insertions: Counter[str] = Counter()
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, exact, edits, chars
    kinds: Counter[str] = Counter()
    for label, pred, plate_type in zip(labels, preds, types, strict=True):
        ops = align(label, pred)
        distance = sum(kind != "=" for kind, _, _ in ops)
        edits += distance
        chars += len(label)
        exact += label == pred
        kinds.update(error_kinds(label, pred, ops))
        bucket = per_type[plate_type]
        bucket[0] += 1
        bucket[1] += label == pred
        bucket[2] += distance
        bucket[3] += len(label)
        for i, char in enumerate(label):
            position_total[i] += 1
            position_hits[i] += i < len(pred) and pred[i] == char
        for kind, true_char, pred_char in ops:
            if kind == "s":
                substitutions[(true_char, pred_char)] += 1
            elif kind == "d":
                deletions[true_char] += 1
            elif kind == "i":
                insertions[pred_char] += 1
    total = len(labels)
    return {
        "count": total,
        "exact_accuracy": exact / total if total else 0.0,
        "cer": edits / chars if chars else 0.0,
        "per_type": {
            plate_type: {
                "count": n,
                "exact_accuracy": hit / n,
                "cer": dist / length if length else 0.0,
            }
            for plate_type, (n, hit, dist, length) in sorted(per_type.items())
        },
        "per_position": [
            {
                "position": i,
                "count": position_total[i],
                "accuracy": position_hits[i] / position_total[i],
            }
            for i in sorted(position_total)
        ],
        "error_kinds": {
            kind: {"count": kinds[kind], "share_of_plates": kinds[kind] / total if total else 0.0}
            for kind in ERROR_KINDS
        },
        "confusions": [
            {"label": t, "predicted": p, "count": c}
            for (t, p), c in sorted(substitutions.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ],
        "deletions": dict(sorted(deletions.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
        "insertions": dict(sorted(insertions.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
    }


def exact_and_cer(labels: Sequence[str], preds: Sequence[str]) -> dict[str, float]:
    """Only `recognition_metrics`' exact-plate accuracy and CER: how a second decoding of
    the same images is reported beside the first."""
    metrics = recognition_metrics(labels, preds)
    return {"exact_accuracy": metrics["exact_accuracy"], "cer": metrics["cer"]}


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score 95% interval of a proportion; sound even near 0 or 1 and for small n."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))
