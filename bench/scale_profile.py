"""Where a warm question's time goes on a large index: the steps of answering (name checks,
translations, keyword candidates, dense search, sentence similarities, support, sentence
choice) timed over the questions that bench/scale_index.py asks, after one question to warm up.

    python bench/scale_profile.py --work /tmp/scale-1m            # index built by scale_index.py
    python bench/scale_profile.py --work /tmp/scale-1m --cprofile 25

Each step's time includes the steps it calls (keyword candidates are inside retrieval); the
table gives, per step, its median and p95 over the questions and its share of the total, then
the slowest questions with their largest steps. CPU time, the process's own, moves less
than wall time when other work shares the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_index import HashEncoder, source_paragraphs

# (module, owner or None, attribute, label): the steps timed, outermost first.
STEPS = [
    ("parkqa.knowledge_base", None, "check_names", "names"),
    ("parkqa.knowledge_base", None, "with_translations", "translations"),
    ("parkqa.knowledge_base", None, "in_knowledge_base_script", "script"),
    ("parkqa.knowledge_base", None, "search", "retrieval"),
    ("parkqa.knowledge_base", None, "assess_support", "support"),
    ("parkqa.knowledge_base", None, "choose_sentences", "sentences"),
    ("parkqa.knowledge_base", None, "cite", "cite"),
    ("parkqa.retrieval", None, "query_tokens", "retrieval: query tokens"),
    ("parkqa.retrieval", None, "_keyword_scores", "retrieval: keyword scores of others"),
    ("parkqa.keywords", "KeywordIndex", "top", "keywords.top"),
    ("parkqa.keywords", "KeywordIndex", "scores_at", "keywords.scores_at"),
    ("parkqa.keywords", "KeywordIndex", "rows_with_all", "keywords.rows_with_all"),
    ("parkqa.keywords", "KeywordIndex", "rows_with_at_least", "keywords.rows_with_at_least"),
    ("parkqa.keywords", "KeywordIndex", "document_frequency", "keywords.document_frequency"),
    ("parkqa.vectors", "VectorSet", "search", "vectors.search"),
    ("parkqa.store", "LoadedIndex", "sentence_similarities", "sentence similarities"),
    ("parkqa.store", "LoadedIndex", "passage", "passage reads"),
]


class StepClock:
    """Seconds spent in each step during the current question (a step called inside itself,
    or again, is counted once per outermost call)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self._depth: dict[str, int] = defaultdict(int)

    def wrap(self, function, label: str):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            self._depth[label] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth[label] -= 1
                if not self._depth[label]:
                    self.current[label] += time.perf_counter() - started

        return timed

    def install(self) -> None:
        import importlib

        for module_name, owner, attribute, label in STEPS:
            module = importlib.import_module(module_name)
            holder = getattr(module, owner) if owner else module
            setattr(holder, attribute, self.wrap(getattr(holder, attribute), label))

    def take(self) -> dict[str, float]:
        taken, self.current = dict(self.current), defaultdict(float)
        return taken


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(share * len(ordered)) - 1, 0)]


def resident_memory() -> str:
    """The process's resident memory: its own (anonymous) and the index files' pages that
    it has mapped and touched (which the kernel can drop and read again)."""
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return f"RSS {fields['VmRSS']} (anonymous {fields['RssAnon']}, files {fields['RssFile']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder of scale_index.py")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--cprofile", type=int, default=0, help="also print N cProfile lines")
    parser.add_argument("--slowest", type=int, default=5)
    args = parser.parse_args()

    from parkqa import KnowledgeBase, load_config

    clock = StepClock()
    clock.install()
    _, questions = source_paragraphs()
    config = load_config(args.work / "parkqa.yaml")
    kb = KnowledgeBase(config, encoder=HashEncoder(config.embedding.model))
    index = kb.index()
    print(f"{index.rows} rows, {len(index.segments)} segments", file=sys.stderr)
    kb.ask(questions[0])
    clock.take()
    totals, cpu, steps = [], [], []
    profiler = cProfile.Profile() if args.cprofile else None
    for question in questions[1 : 1 + args.questions]:
        if profiler:
            profiler.enable()
        started, used = time.perf_counter(), time.process_time()
        kb.ask(question)
        totals.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
        if profiler:
            profiler.disable()
        steps.append(clock.take())
    total = sum(totals)
    print(
        f"questions: {len(totals)}; per question: median {1000 * statistics.median(totals):.1f}"
        f" ms, p95 {1000 * percentile(totals, 0.95):.1f} ms (CPU time: median "
        f"{1000 * statistics.median(cpu):.1f} ms, p95 {1000 * percentile(cpu, 0.95):.1f} ms); "
        f"{resident_memory()}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'step':40s} {'median ms':>10s} {'p95 ms':>10s} {'share':>7s}")
    for _, _, _, label in STEPS:
        values = [s.get(label, 0.0) for s in steps]
        print(
            f"{label:40s} {1000 * statistics.median(values):10.2f} "
            f"{1000 * percentile(values, 0.95):10.2f} {sum(values) / total:7.1%}"
        )
    print("\nslowest questions:")
    for i in sorted(range(len(totals)), key=lambda i: -totals[i])[: args.slowest]:
        top = sorted(steps[i].items(), key=lambda item: -item[1])[:6]
        parts = ", ".join(f"{label} {1000 * s:.0f}" for label, s in top)
        print(f"{1000 * totals[i]:7.1f} ms  {questions[1 + i]}  [{parts}]")
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
