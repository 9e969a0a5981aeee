"""Off-topic abstention on real data, both ways, and a refit of the abstention model.

    python bench/abstention_bench.py [--model builtin:e5-small] [--limit N] [--cache FILE]

Two mixed question sets, each half answerable and half about other Wikipedia articles:
- cmrc: the CMRC 2018 trial paragraphs as the knowledge base; its questions (answerable)
  and as many DRCD dev questions converted to Simplified Chinese (off-topic);
- drcd: the DRCD dev paragraphs; 1,000 of its questions (answerable) and as many CMRC 2018
  trial questions converted to Traditional Chinese (off-topic).
Every question is asked with k=5 and its support signals are recorded. Articles (by a seeded
hash of the title, so an article falls in the same half in both directions) split each set
into a fit half and a held-out half. For each, the script prints abstention precision and
recall (the positive class is the off-topic question), the share of answerable questions
refused, and the AUC of `dense` and of `probability` for telling the two apart.

It then fits, on the fit halves of both directions only, a logistic model of P(answerable)
over dense, its margin over the other candidates, coverage, word coverage, agreement, whether a
name is missing, the longest verbatim run, whether both retrievers' best passages share a
document and whether a name with its noun is held by no passage (questions across languages
left out), chooses the smallest threshold that reaches an
off-topic recall of 0.92 at precision >= 0.98 on the fit halves, prints it as an
AbstentionModel, and scores it and the model in src on the held-out halves.

Knowledge bases and indexes are kept in ~/.cache/parkqa-bench/<set>-<model> (or under
--workdir); --cache keeps the recorded signals, so a refit does not ask every question again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import (
    CACHE_ROOT,
    DEFAULT_SET,
    DRCD_SET,
    SquadQuestion,
    default_workdir,
    load_squad,
    open_knowledge_base,
    source_name,
    squad_questions,
)

FEATURES = (
    "dense",
    "dense_margin",
    "coverage",
    "word_coverage",
    "agree",
    "missing_name",
    "verbatim",
    "same_document",
    "unheld_phrase",
)
MIN_PRECISION = 0.98
TARGET_RECALL = 0.92
SPLITS = ("fit", "held-out")


@dataclass(frozen=True)
class Direction:
    """A knowledge base, its own questions, and another set's questions as off-topic ones."""

    name: str
    knowledge_set: Path
    offtopic_set: Path
    script: str  # the knowledge base's script; off-topic questions are converted to it
    answerable_count: int | None  # None: every question of the knowledge base's set


def article_half(title: str, seed: int) -> str:
    """'fit' or 'held-out', by a seeded hash of an article's title."""
    digest = hashlib.sha256(f"{seed}:{title}".encode()).digest()
    return SPLITS[digest[0] % 2]


def sample(questions: list[SquadQuestion], count: int | None, seed: str) -> list[SquadQuestion]:
    if count is None or count >= len(questions):
        return list(questions)
    return random.Random(seed).sample(questions, count)


def question_sets(
    direction: Direction, limit: int | None, seed: int
) -> tuple[list[SquadQuestion], list[SquadQuestion]]:
    """The answerable and off-topic questions of a direction, off-topic ones as many as the
    answerable ones, both sampled with a seed."""
    own = list(squad_questions(load_squad(direction.knowledge_set)))
    other = list(squad_questions(load_squad(direction.offtopic_set)))
    count = min(n for n in (direction.answerable_count, limit, len(own)) if n is not None)
    answerable = sample(own, count, f"{seed}-{direction.name}-answerable")
    offtopic = sample(other, len(answerable), f"{seed}-{direction.name}-off-topic")
    return answerable, offtopic


def record_answer(answer) -> dict[str, Any]:
    """What the benchmark keeps of an answer: the decision and its signals."""
    support = answer.to_json().get("support") or {}
    return {
        "abstained": bool(answer.abstained),
        "missing": list(answer.missing_terms),
        "support": {key: value for key, value in support.items() if value is not None},
    }


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    pos = np.asarray([v for v in positive if not math.isnan(v)], dtype=float)
    neg = np.asarray([v for v in negative if not math.isnan(v)], dtype=float)
    if not len(pos) or not len(neg):
        return math.nan
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return (ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def abstention_figures(offtopic: np.ndarray, abstained: np.ndarray) -> tuple[float, float, float]:
    """Precision and recall of abstention for off-topic questions, and the share of
    answerable questions refused."""
    offtopic, abstained = offtopic.astype(bool), abstained.astype(bool)
    right = int((offtopic & abstained).sum())
    precision = right / abstained.sum() if abstained.any() else math.nan
    recall = right / offtopic.sum() if offtopic.any() else math.nan
    refused = (abstained & ~offtopic).sum() / (~offtopic).sum() if (~offtopic).any() else math.nan
    return precision, recall, refused


def fit_logistic(
    features: np.ndarray, answerable: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[float, np.ndarray]:
    """Logistic regression by Newton's method on standardised features with an L2 penalty on
    the weights (not the bias); returns the bias and weights on the raw feature scale."""
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    x = np.column_stack([np.ones(len(features)), (features - mean) / scale])
    y = answerable.astype(float)
    penalty = np.diag([0.0] + [l2] * features.shape[1])
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    weights = w[1:] / scale
    return float(w[0] - (w[1:] * mean / scale).sum()), weights


def choose_threshold(
    probability: np.ndarray, forced: np.ndarray, offtopic: np.ndarray, min_precision: float
) -> tuple[float, float, float] | None:
    """The threshold t (abstain when probability < t, or when forced): the smallest whose
    off-topic recall reaches TARGET_RECALL at precision >= min_precision (refusing as few
    answerable questions as that allows), else the one with the best recall at that precision;
    with its precision and recall. None when no threshold reaches the precision."""
    values = np.unique(probability[~np.isnan(probability)])
    candidates = np.concatenate([[0.0], (values[:-1] + values[1:]) / 2, [1.0]])
    best = None
    for t in candidates:
        abstained = forced | (probability < t)
        precision, recall, _ = abstention_figures(offtopic, abstained)
        if math.isnan(precision) or precision < min_precision:
            continue
        if recall >= TARGET_RECALL:
            return float(t), precision, recall
        if best is None or recall > best[2]:
            best = (float(t), precision, recall)
    return best


def probability_of(bias: float, weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(bias + features @ weights)))


def feature_matrix(records: list[dict[str, Any]]) -> np.ndarray:
    return np.array([[_feature(r, f) for f in FEATURES] for r in records], dtype=float)


def _feature(record: dict[str, Any], name: str) -> float:
    if name == "missing_name":
        return float(bool(missing_names(record)))
    if name == "unheld_phrase":
        return float(bool(record["support"].get(name)))
    return float(record["support"].get(name, math.nan))


def missing_names(record: dict[str, Any]) -> list[str]:
    """The names a question asks about that no passage holds, answered or not (an answer's
    missing terms are its missing years)."""
    support = record["support"]
    return support["missing_names"] if "missing_names" in support else record["missing"]


def fmt(value: float) -> str:
    return "   n/a" if math.isnan(value) else f"{value:6.3f}"


def ask_direction(
    direction: Direction,
    model: str,
    workroot: Path,
    limit: int | None,
    seed: int,
    cached: dict[str, dict[str, Any]],
    save: Callable[[], None],
) -> list[dict[str, Any]]:
    """Ask a direction's mixed questions (those not cached) and return their records."""
    from parkqa.chinese import to_simplified, to_traditional

    convert = to_simplified if direction.script == "simplified" else to_traditional
    answerable, offtopic = question_sets(direction, limit, seed)
    mixed = [(q, True, q.question) for q in answerable] + [
        (q, False, convert(q.question)) for q in offtopic
    ]
    kb = None
    records = []
    for done, (item, is_answerable, text) in enumerate(mixed, start=1):
        key = f"{direction.name}:{'answerable' if is_answerable else 'off-topic'}:{item.id}"
        record = cached.get(key)
        if record is None or record.get("question") != text:
            if kb is None:
                kb = open_knowledge_base(
                    direction.knowledge_set,
                    model,
                    default_workdir(direction.knowledge_set, model, workroot),
                )
            record = {
                "direction": direction.name,
                "id": item.id,
                "question": text,
                "article": item.article,
                "answerable": is_answerable,
                **record_answer(kb.ask(text, k=5)),
            }
            cached[key] = record
            if done % 200 == 0:
                save()
        record["split"] = article_half(item.article, seed)
        records.append(record)
        if done % 20 == 0 or done == len(mixed):
            print(
                f"\r{direction.name}: {done}/{len(mixed)} questions",
                end="\n" if done == len(mixed) else "",
                file=sys.stderr,
                flush=True,
            )
    save()
    return records


def direction_table(name: str, records: list[dict[str, Any]]) -> None:
    print(
        f"{name:6} {'split':9} {'answerable':>10} {'off-topic':>9} {'precision':>9} {'recall':>6} "
        f"{'refused':>7} {'AUC dense':>9} {'AUC prob':>8} {'name missing (ans/off)':>22}"
    )
    for split in (*SPLITS, "all"):
        rows = [r for r in records if split in ("all", r["split"])]
        offtopic = np.array([not r["answerable"] for r in rows])
        abstained = np.array([r["abstained"] for r in rows])
        precision, recall, refused = abstention_figures(offtopic, abstained)

        def signal(key: str, want: bool, rows=rows) -> list[float]:
            return [float(r["support"].get(key, math.nan)) for r in rows if r["answerable"] == want]

        missing = [
            sum(bool(missing_names(r)) for r in rows if r["answerable"] == a) for a in (1, 0)
        ]
        print(
            f"{'':6} {split:9} {int((~offtopic).sum()):10d} {int(offtopic.sum()):9d} "
            f"{fmt(precision):>9} {fmt(recall):>6} {fmt(refused):>7} "
            f"{fmt(auc(signal('dense', True), signal('dense', False))):>9} "
            f"{fmt(auc(signal('probability', True), signal('probability', False))):>8} "
            f"{f'{missing[0]}/{missing[1]}':>22}"
        )


def model_inputs(
    records: list[dict[str, Any]], bias: float, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The fitted model's P(answerable) of each question (NaN where it does not apply) and
    whether it abstains regardless: when a name is missing, and, across languages or without
    the signals, when the recorded decision was to abstain."""
    features = feature_matrix(records)
    probability = probability_of(bias, weights, np.nan_to_num(features))
    special = np.array(
        [bool(r["support"].get("cross_lingual")) for r in records], dtype=bool
    ) | np.isnan(features).any(axis=1)
    recorded = np.array([r["abstained"] for r in records], dtype=bool)
    probability[special] = np.nan
    return probability, special & recorded


def fitted_abstentions(
    records: list[dict[str, Any]], bias: float, weights: np.ndarray, threshold: float
) -> np.ndarray:
    probability, forced = model_inputs(records, bias, weights)
    return forced | (probability < threshold)


def _current_model(model: str):
    """The abstention model in src for an encoder, or None if src has none to show."""
    try:
        from parkqa.answering import ABSTENTION_MODELS
    except ImportError:
        return None
    return ABSTENTION_MODELS.get(model)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default="builtin:e5-small", help="embedding model (default: builtin:e5-small)"
    )
    parser.add_argument("--cmrc", type=Path, default=DEFAULT_SET, help="CMRC 2018 trial JSON")
    parser.add_argument("--drcd", type=Path, default=DRCD_SET, help="DRCD dev JSON")
    parser.add_argument(
        "--drcd-questions",
        type=int,
        default=1000,
        help="answerable DRCD questions to sample (default: 1000)",
    )
    parser.add_argument(
        "--limit", type=int, help="at most N answerable questions per direction (quick run)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and the split")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=CACHE_ROOT,
        help=f"folder of the kept knowledge bases (default: {CACHE_ROOT})",
    )
    parser.add_argument(
        "--cache", type=Path, help="JSON file of recorded signals: read if present, then updated"
    )
    parser.add_argument(
        "--refresh", action="store_true", help="ask every question again, ignoring --cache"
    )
    args = parser.parse_args()

    cached: dict[str, dict[str, Any]] = {}
    if args.cache and args.cache.exists() and not args.refresh:
        stored = json.loads(args.cache.read_text(encoding="utf-8"))
        if stored.get("model") == args.model:
            cached = stored["records"]
        else:
            print(
                f"{args.cache} holds signals of {stored.get('model')}; asking again",
                file=sys.stderr,
            )

    def save() -> None:
        if args.cache:
            args.cache.parent.mkdir(parents=True, exist_ok=True)
            args.cache.write_text(
                json.dumps({"model": args.model, "records": cached}, ensure_ascii=False),
                encoding="utf-8",
            )

    directions = (
        Direction("cmrc", args.cmrc, args.drcd, "simplified", None),
        Direction("drcd", args.drcd, args.cmrc, "traditional", args.drcd_questions),
    )
    records = {
        d.name: ask_direction(d, args.model, args.workdir, args.limit, args.seed, cached, save)
        for d in directions
    }

    print(f"model {args.model}; seed {args.seed}; positive class: off-topic question")
    for d in directions:
        print(
            f"\n{d.name}: knowledge base {source_name(d.knowledge_set)}; off-topic questions "
            f"from {source_name(d.offtopic_set)} in {d.script} script"
        )
        direction_table(d.name, records[d.name])

    fit = [r for rs in records.values() for r in rs if r["split"] == "fit"]
    eligible = [
        r
        for r in fit
        if not r["support"].get("cross_lingual") and not np.isnan(feature_matrix([r])).any()
    ]
    features = feature_matrix(eligible)
    bias, weights = fit_logistic(features, np.array([r["answerable"] for r in eligible]))
    eligible_p = probability_of(bias, weights, features)
    eligible_offtopic = np.array([not r["answerable"] for r in eligible])
    chosen = choose_threshold(
        eligible_p, np.zeros(len(eligible), dtype=bool), eligible_offtopic, MIN_PRECISION
    )
    print(
        f"\nfit: logistic P(answerable) over {', '.join(FEATURES)} on the fit halves of both "
        f"directions: {len(eligible)} questions ({sum(r['answerable'] for r in eligible)} "
        f"answerable), {len(fit) - len(eligible)} left out (cross-lingual)"
    )
    if chosen is None:
        print(f"no threshold reaches precision {MIN_PRECISION} on the fit halves")
        return
    threshold, fit_precision, fit_recall = chosen
    precision, recall, refused = abstention_figures(
        np.array([not r["answerable"] for r in fit]),
        fitted_abstentions(fit, bias, weights, threshold),
    )
    print(
        f"threshold {threshold:.4f}: the smallest with off-topic recall >= {TARGET_RECALL} at "
        f"precision >= {MIN_PRECISION} over the questions it scores: precision {fit_precision:.3f}, recall {fit_recall:.3f}; "
        f"over all the fit halves: precision "
        f"{precision:.3f}, recall {recall:.3f}, refused {refused:.3f}"
    )
    print(f"bias, {', '.join(FEATURES)}, threshold")
    print(", ".join(f"{v:.4f}" for v in (bias, *weights, threshold)))
    current = _current_model(args.model)
    cross = getattr(current, "cross_lingual_dense", None)
    print(
        f"AbstentionModel(bias={bias:.3f}, "
        + "".join(f"{name}={w:.3f}, " for name, w in zip(FEATURES, weights))
        + f"threshold={threshold:.4f}"
        + (f", cross_lingual_dense={cross}" if cross is not None else "")
        + ")"
        + ("  # cross_lingual_dense: unchanged, not fitted" if cross is not None else "")
    )

    print(
        "\nheld-out halves: fitted = the model above; "
        "current = the decision of the model in src; names = abstain only when a name is missing"
    )
    print(
        f"held-out halves   {'model':8} {'questions':>9} {'precision':>9} {'recall':>6} "
        f"{'refused':>7} {'AUC prob':>8}"
    )
    held_out = {name: [r for r in rs if r["split"] == "held-out"] for name, rs in records.items()}
    held_out["both"] = [r for rs in held_out.values() for r in rs]
    for name, rows in held_out.items():
        offtopic = np.array([not r["answerable"] for r in rows])
        fitted_p = probability_of(bias, weights, np.nan_to_num(feature_matrix(rows)))
        current_p = np.array([float(r["support"].get("probability", math.nan)) for r in rows])
        for label, abstained, p in (
            ("fitted", fitted_abstentions(rows, bias, weights, threshold), fitted_p),
            ("current", np.array([r["abstained"] for r in rows]), current_p),
            ("names", np.array([bool(missing_names(r)) for r in rows]), np.full(len(rows), np.nan)),
        ):
            precision, recall, refused = abstention_figures(offtopic, abstained)
            print(
                f"{name:17} {label:8} {len(rows):9d} {fmt(precision):>9} {fmt(recall):>6} "
                f"{fmt(refused):>7} {fmt(auc(p[~offtopic], p[offtopic])):>8}"
            )


if __name__ == "__main__":
    main()
