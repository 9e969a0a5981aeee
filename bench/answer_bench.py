"""Answer the CMRC 2018 trial questions from the trial paragraphs and score parkqa.

    python bench/answer_bench.py [--data PATH] [--workdir DIR] [--limit N]

Prints the share of questions whose answer is in the top-1 / top-5 cited passages and in
the answer text, warm latency per question, and, for scale, the same retrieval figures for
BM25 on character bigrams alone and for each retriever of the hybrid alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import DEFAULT_SET, write_knowledge_base
from parkqa import KnowledgeBase, load_config
from parkqa.config import with_overrides
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
        "--workdir", type=Path, help="keep the knowledge base and index here between runs"
    )
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--ablations", action="store_true", help="also score each retriever alone")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="parkqa-cmrc-"))
    config_path = workdir / "parkqa.yaml"
    if not config_path.exists():
        write_knowledge_base(args.data, workdir)
    kb = KnowledgeBase(load_config(config_path))
    kb.update()
    questions = list(squad_questions(json.loads(args.data.read_text(encoding="utf-8"))))[
        : args.limit
    ]
    kb.ask(questions[0].question)

    report = evaluate(questions, lambda q: kb.ask(q, k=5))
    print(f"questions                       {report.questions}")
    print(f"hybrid: answer in top-1 cited   {report.top1:.3f}")
    print(f"hybrid: answer in top-5 cited   {report.top5:.3f}")
    print(f"hybrid: answer in answer text   {report.answer_hit:.3f}")
    print(f"abstained                       {report.abstained} of {report.questions}")
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
            r = evaluate(questions, lambda q, kb=variant: kb.ask(q, k=5))
            print(
                f"{name:32}top-1 {r.top1:.3f}, top-5 {r.top5:.3f}, answer text {r.answer_hit:.3f}"
            )


if __name__ == "__main__":
    main()
