"""Score parkqa on natural questions about the park, per embedding model and per kind of question.

    python bench/natural_bench.py [--model NAME ...]
                                  [--split tune|heldout|fresh|unseen|newdoc|both|all]
                                  [--verbose] [--workdir DIR]

The knowledge base is the park article (knowledge/yongchuan-big-data-park.txt and its sidecar)
plus every file in tests/data/natural/knowledge/ and tests/data/natural/added/ (a document
added later, with its own questions). Each model gets its own work folder,
DIR/natural-<model> (DIR defaults to ~/.cache/parkqa-bench), kept between runs: the index is
updated incrementally, so a rerun embeds nothing unless a document changed.

The questions come in five splits, scored separately: tests/data/natural/tune.yaml, which
answering changes may be tuned on; tests/data/natural/heldout.yaml, which they never are;
tests/data/natural/fresh.yaml and unseen.yaml, each written later by reading the documents
only, before the system was run on it, and never tuned on either; and newdoc.yaml, about a
document added later (added/cloud-subsidy-notice-2022.md), written with it before the
system read either, never tuned on. --verbose prints one line
per TUNE question (outcome, kind, question, expected, answer); the other splits only ever show
their totals, so that nobody tunes on them.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from parkqa import KnowledgeBase, load_config
from parkqa.errors import ParkQAError
from parkqa.evaluation import EvalReport, evaluate, load_questions

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
NATURAL = REPO / "tests" / "data" / "natural"
SPLITS = {
    "tune": ("tune", NATURAL / "tune.yaml"),
    "heldout": ("held-out (never tuned on)", NATURAL / "heldout.yaml"),
    "fresh": ("fresh (never tuned on)", NATURAL / "fresh.yaml"),
    "unseen": ("unseen (never tuned on)", NATURAL / "unseen.yaml"),
    "newdoc": ("new document (never tuned on)", NATURAL / "newdoc.yaml"),
}
MODELS = ("builtin:use-multilingual", "builtin:e5-small")
CACHE_ROOT = Path.home() / ".cache" / "parkqa-bench"


def knowledge_files() -> list[Path]:
    """The documents of the bench's knowledge base."""
    sidecar = PARK_ARTICLE.with_name(PARK_ARTICLE.name + ".meta.yaml")
    extra = sorted(
        p for folder in ("knowledge", "added") for p in (NATURAL / folder).iterdir() if p.is_file()
    )
    return [PARK_ARTICLE, sidecar, *extra]


def model_slug(model: str) -> str:
    name = model.split(":", 1)[1] if model.startswith("builtin:") else Path(model).name
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"


def write_knowledge_base(workdir: Path, model: str, abstain_below: float | None = None) -> Path:
    """Mirror the bench documents into workdir/knowledge and write its config; return the
    config path. Unchanged files are left alone, so the index update after it is incremental."""
    knowledge = workdir / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    wanted = {source.name: source for source in knowledge_files()}
    for stale in knowledge.iterdir():
        if stale.name not in wanted and stale.is_file():
            stale.unlink()
    for name, source in wanted.items():
        target = knowledge / name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copy2(source, target)
    config = workdir / "parkqa.yaml"
    text = f"knowledge_dir: knowledge\nindex_dir: index\nembedding:\n  model: {model}\n"
    if abstain_below is not None:
        text += f"answer:\n  abstain_below: {abstain_below}\n"
    if not config.exists() or config.read_text(encoding="utf-8") != text:
        config.write_text(text, encoding="utf-8")
    return config


def open_knowledge_base(
    workdir: Path, model: str, abstain_below: float | None = None
) -> KnowledgeBase:
    """The bench knowledge base for a model, its index brought up to date."""
    kb = KnowledgeBase(load_config(write_knowledge_base(workdir, model, abstain_below)))
    kb.encoder  # noqa: B018 - load the model now, so that a refused one is reported here

    def progress(done: int, total: int) -> None:
        print(f"\r  embedded {done}/{total}", end="", file=sys.stderr, flush=True)

    report = kb.update(progress=progress)
    if report.embedded:
        print(file=sys.stderr)
    print(f"  index: {report.summary()}")
    return kb


def print_report(label: str, model: str, report: EvalReport) -> None:
    print(f"\n--- {model}: {label} ---")
    print(report.table())
    if report.by_kind:
        print(
            "\nper kind (answer acc, lead, refused and top-k: shares of the answerable questions)"
        )
        print(report.kind_table())


def print_questions(report: EvalReport) -> None:
    """One line per question; only ever called for the tune split."""
    print("\nper question (tune split only)")
    for result in report.results:
        item = result.item
        expected = " / ".join(item.answers) or "(not in the knowledge base)"
        answer = " ".join(result.answer.split())[:60]
        print(f"{result.outcome:7} {item.kind or '-':12} {item.question} | {expected} | {answer}")


MAX_REFUSED = 0.05
REPO_CONFIG = load_config(Path(__file__).resolve().parents[1] / "parkqa.yaml")


def fit_threshold(kb: KnowledgeBase, questions) -> float:
    """The largest abstention threshold that refuses at most MAX_REFUSED of the answerable
    questions the model decides (same language, no missing name): midway between the
    probabilities on either side of the cut."""
    probabilities = []
    for item in questions:
        if not item.answers:
            continue
        answer = kb.ask(item.question, item.history, k=5)
        support = answer.to_json()["support"]
        if not support["cross_lingual"] and not answer.missing_terms:
            probabilities.append(support["probability"])
    probabilities.sort()
    allowed = int(MAX_REFUSED * len(probabilities))
    below = probabilities[allowed - 1] if allowed else 0.0
    return (below + probabilities[allowed]) / 2


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help=f"embedding model, repeatable (default: {' and '.join(MODELS)}, one after the other)",
    )
    parser.add_argument(
        "--split",
        choices=("tune", "heldout", "fresh", "unseen", "newdoc", "both", "all"),
        default="all",
        help="which question file to score: both is tune and heldout, all adds fresh, unseen "
        "and newdoc (default: all, each on its own)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=CACHE_ROOT,
        metavar="DIR",
        help="folder for the work folders, one per model: DIR/natural-<model> "
        f"(default: {CACHE_ROOT})",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="one line per question of the tune split"
    )
    parser.add_argument(
        "--fit-threshold",
        action="store_true",
        help="fit answer.abstain_below on the tune split (the largest probability threshold that "
        f"refuses at most {MAX_REFUSED * 100:.0f}%% of its answerable questions) and score with it",
    )
    args = parser.parse_args()

    splits = {"both": ["tune", "heldout"], "all": list(SPLITS)}.get(args.split, [args.split])
    questions = {split: load_questions(SPLITS[split][1]) for split in splits}
    summary = []
    for model in args.model or MODELS:
        workdir = args.workdir / f"natural-{model_slug(model)}"
        print(f"\n=== model {model} (work folder {workdir}) ===")
        abstain_below = REPO_CONFIG.answer.abstain_below
        if model != REPO_CONFIG.embedding.model:
            abstain_below = None  # the repository's threshold belongs to its own encoder
        try:
            if args.fit_threshold:
                kb = open_knowledge_base(workdir, model)
                abstain_below = fit_threshold(kb, load_questions(SPLITS["tune"][1]))
                print(f"  answer.abstain_below fitted on the tune split: {abstain_below:.4g}")
            kb = open_knowledge_base(workdir, model, abstain_below)
        except ParkQAError as exc:
            print(f"  skipped: {exc}")
            continue
        print(f"  answer.abstain_below: {abstain_below}")
        kb.warm_up()  # as `parkqa serve` does before its first question
        kb.ask("阿里巴巴在永川投资了多少钱？")  # so that latency is of warm questions
        for split in splits:
            label = SPLITS[split][0]
            report = evaluate(questions[split], lambda q, history, kb=kb: kb.ask(q, history, k=5))
            print_report(label, model, report)
            if args.verbose and split == "tune":
                print_questions(report)
            summary.append((model, label, report))

    if summary:
        print("\n=== summary ===")
        for model, label, r in summary:
            print(
                f"{model:26} {label:26} answer {r.answer_hit:.3f}  lead {r.lead_hit:.3f}  refused {r.refused:.3f}  "
                f"abst P {r.abstention_precision:.3f} R {r.abstention_recall:.3f}  "
                f"top-5 {r.top5:.3f}  p95 {r.p95_ms:.0f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
