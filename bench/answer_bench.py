"""Answer the questions of a SQuAD-format set from its paragraphs and score parkqa: CMRC 2018
trial by default, DRCD dev (Traditional Chinese, 1,000 paragraphs) with --data.

    python bench/answer_bench.py [--data PATH] [--model NAME] [--workdir DIR] [--limit N]
    python bench/answer_bench.py --data ../shared/data/drcd/DRCD_dev.json --model builtin:e5-small

The knowledge base and its index are kept in ~/.cache/parkqa-bench/<set>-<model> (built once,
updated incrementally afterwards) unless --workdir names another folder.

Prints the share of questions whose answer is in the top-1 / top-5 cited passages (an
abstention cites nothing, so it counts as a miss) and in the answer text, the share refused,
warm latency per question, and, for scale, the same retrieval figures for
BM25 on character bigrams alone and for each retriever of the hybrid alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import DEFAULT_SET, default_workdir, open_knowledge_base
from parkqa import KnowledgeBase
from parkqa.config import DEFAULT_MODEL, with_overrides
from parkqa.evaluation import _contains, evaluate, squad_questions
from parkqa.keywords import KeywordIndex


def bigram_tokens(text: str) -> list[str]:
    text = "".join(text.split())
    return [text[i : i + 2] for i in range(len(text) - 1)]


def bigram_baseline(kb: KnowledgeBase, questions) -> tuple[float, float]:
    """BM25 over character bigrams of the same passages, nothing else."""
    passages = kb.index().passages
    index = KeywordIndex.build([bigram_tokens(p.text) for p in passages])
    top1 = top5 = 0
    answerable = [q for q in questions if q.answers]
    for item in answerable:
        scores = index.scores(bigram_tokens(item.question))
        order = np.argsort(-scores)[:5]
        texts = [passages[i].text for i in order]
        top1 += _contains(texts[0], item.answers)
        top5 += any(_contains(t, item.answers) for t in texts)
    return top1 / len(answerable), top5 / len(answerable)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_SET,
        help="SQuAD-format JSON (default: CMRC 2018 trial)",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"embedding model, such as builtin:e5-small (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the knowledge base and index here (default: ~/.cache/parkqa-bench/<set>-<model>)",
    )
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--ablations", action="store_true", help="also score each retriever alone")
    args = parser.parse_args()

    workdir = args.workdir or default_workdir(args.data, args.model)
    kb = open_knowledge_base(args.data, args.model, workdir)
    questions = list(squad_questions(json.loads(args.data.read_text(encoding="utf-8"))))[
        : args.limit
    ]
    kb.warm_up()  # as `parkqa serve` does before its first question
    kb.ask(questions[0].question)

    report = evaluate(questions, lambda q, history: kb.ask(q, history, k=5))
    print(f"questions                       {report.questions}")
    print(f"hybrid: answer in top-1 cited   {report.top1:.3f}")
    print(f"hybrid: answer in top-5 cited   {report.top5:.3f}")
    print(f"hybrid: answer in answer text   {report.answer_hit:.3f}")
    print(f"abstained                       {report.abstained} of {report.questions}")
    print(f"share refused                   {report.abstained / report.questions:.3f}")
    print(
        f"warm latency                    mean {report.mean_ms:.1f} ms, p95 {report.p95_ms:.1f} ms"
    )
    b1, b5 = bigram_baseline(kb, questions)
    print(f"BM25 on character bigrams alone top-1 {b1:.3f}, top-5 {b5:.3f}")
    if args.ablations:
        for name, weights in (
            ("keyword only", {"keyword_weight": 1.0, "dense_weight": 0.0, "evidence_weight": 0.0}),
            ("dense only", {"keyword_weight": 0.0, "dense_weight": 1.0, "evidence_weight": 0.0}),
            ("fusion, no sentence rerank", {"evidence_weight": 0.0}),
            (
                "reciprocal-rank fusion 0.5/0.5",
                {
                    "fusion": "rrf",
                    "keyword_weight": 0.5,
                    "dense_weight": 0.5,
                    "evidence_weight": 0.0,
                },
            ),
        ):
            variant = KnowledgeBase(
                with_overrides(kb.config, retrieval=weights), encoder=kb.encoder
            )
            r = evaluate(questions, lambda q, history, kb=variant: kb.ask(q, history, k=5))
            print(
                f"{name:32}top-1 {r.top1:.3f}, top-5 {r.top5:.3f}, answer text {r.answer_hit:.3f}"
            )


if __name__ == "__main__":
    main()
