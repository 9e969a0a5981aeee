"""English questions on the Chinese knowledge base of bench/natural_bench.py: answers and
abstention, on a fit half and a held-out half.

    python bench/english_bench.py [--model NAME] [--seed N] [--verbose] [--workdir DIR]

The questions are tests/data/english/questions.yaml: half of them the documents answer, half
they do not (world knowledge, other places and companies, facts the documents leave out). They
are split at random (--seed, default 0) into a fit half, which the cross-language abstention
rule may be chosen on, and a held-out half, which it never is. --verbose prints one line per
question of the fit half with the signals the decision weighs (the closest sentence's cosine,
the share of the question's keyword weight its translations find); the held-out half only
ever shows its totals.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from natural_bench import CACHE_ROOT, model_slug, open_knowledge_base, print_report

from parkqa.citations import Answer
from parkqa.evaluation import EvalReport, evaluate, load_questions

QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "data" / "english" / "questions.yaml"


def print_signals(report: EvalReport, answers: dict[str, Answer]) -> None:
    """One line per question; only ever called for the fit half."""
    print("\nper question (fit half only): outcome, dense, coverage, question | expected | answer")
    for result in report.results:
        support = answers[result.item.question].support
        dense = f"{support.dense:.3f}" if support else "  -  "
        coverage = f"{support.coverage:.2f}" if support else " - "
        expected = " / ".join(result.item.answers) or "(not in the knowledge base)"
        answer = " ".join(result.answer.split())[:50]
        print(
            f"{result.outcome:7} {dense} {coverage} {result.item.question} | {expected} | {answer}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="builtin:e5-small", help="embedding model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument("--workdir", type=Path, default=CACHE_ROOT, metavar="DIR")
    parser.add_argument("--verbose", action="store_true", help="one line per fit question")
    args = parser.parse_args()

    questions = load_questions(QUESTIONS)
    random.Random(args.seed).shuffle(questions)
    half = len(questions) // 2
    splits = {"fit": questions[:half], "held-out (never tuned on)": questions[half:]}
    kb = open_knowledge_base(args.workdir / f"natural-{model_slug(args.model)}", args.model)
    kb.warm_up()  # as `parkqa serve` does before its first question
    kb.ask("How much did the park earn?")  # so that latency is of warm questions
    answers: dict[str, Answer] = {}

    def ask(question: str, history) -> Answer:
        answers[question] = kb.ask(question, history, k=5)
        return answers[question]

    summary = []
    for label, items in splits.items():
        report = evaluate(items, ask)
        print_report(label, args.model, report)
        if args.verbose and label == "fit":
            print_signals(report, answers)
        summary.append((label, report))
    print("\n=== summary ===")
    for label, r in summary:
        print(
            f"{args.model:18} {label:26} answer {r.answer_hit:.3f}  refused {r.refused:.3f}  "
            f"abst P {r.abstention_precision:.3f} R {r.abstention_recall:.3f}  top-5 {r.top5:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
