"""What the index costs at scale, without a slow encoder: a knowledge folder of about N
passages made from real Chinese text, indexed with a fast deterministic encoder, then measured
step by step, each step in a fresh child process:

- full build: seconds and peak RSS;
- the index's size on disk;
- cold ask: a fresh process opens the knowledge base and answers one question (seconds from
  the process's start, imports included, and for the ask alone);
- warm asks: p50/p95 over 100 questions in that process, and its RSS, split into the
  process's own memory and the index pages it has mapped;
- one-document update: a document changed, `parkqa index`-equivalent: seconds and peak RSS.

Text: the context paragraphs of CMRC 2018 (trial) and DRCD (dev), read in place from
../shared/data, repeated with variation (sentences rotated, a numbered note added) until the
folder holds about N passages; documents of about 100 passages each.

    python bench/scale_index.py --passages 100000 --work /tmp/scale-100k
    PYTHONPATH=/path/to/other/src python bench/scale_index.py ...   # another parkqa

The encoder (HashEncoder) embeds a text as the normalised sum of fixed random vectors of a few
of its character bigrams: it costs almost nothing, so the figures are those of the index, not of
a model. Its vectors carry little meaning; answers are not scored here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CMRC = DATA / "cmrc2018" / "cmrc2018_trial.json"
DRCD = DATA / "drcd" / "DRCD_dev.json"
PARAGRAPHS_PER_DOC = 50  # about 100 passages of at most 300 characters
DIMENSION = 384
FEATURES = 8  # character bigrams per text that make its vector
_SENTENCES = re.compile(r"(?<=[。！？；])")


class HashEncoder:
    """A deterministic encoder for benchmarks: each text is the normalised sum of fixed random
    vectors of up to FEATURES of its character bigrams (hashed into 4,096 buckets)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dimension = DIMENSION
        rng = np.random.default_rng(0)
        self._table = rng.standard_normal((4096, DIMENSION)).astype(np.float32)

    def _vectors(self, texts) -> np.ndarray:
        buckets = np.zeros((len(texts), FEATURES), dtype=np.int64)
        for i, text in enumerate(texts):
            step = max(1, len(text) // FEATURES)
            grams = [text[j : j + 2] for j in range(0, max(len(text) - 1, 1), step)][:FEATURES]
            row = [zlib.crc32(g.encode("utf-8")) % 4096 for g in grams]
            buckets[i, : len(row)] = row
        vectors = self._table[buckets].sum(axis=1)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        return vectors

    def encode(self, texts, batch_size: int = 64, progress=None) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        step = 4096
        for start in range(0, len(texts), step):
            out[start : start + step] = self._vectors(texts[start : start + step])
            if progress:
                progress(min(start + step, len(texts)), len(texts))
        return out

    def query(self, texts) -> np.ndarray:
        return self._vectors(list(texts))


def source_paragraphs() -> tuple[list[str], list[str]]:
    """The context paragraphs and the questions of both sets."""
    paragraphs, questions = [], []
    for path in (CMRC, DRCD):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                paragraphs.append(paragraph["context"].strip())
                questions.extend(qa["question"] for qa in paragraph["qas"])
    return paragraphs, questions


def write_corpus(folder: Path, passages: int) -> int:
    """Documents of about `passages` passages in folder/knowledge; returns how many files."""
    knowledge = folder / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    paragraphs, _ = source_paragraphs()
    chars = 0
    target = passages * 260  # passages of at most 300 characters hold about 260
    doc, batch, copy = 0, [], 0
    while chars < target:
        for n, paragraph in enumerate(paragraphs):
            sentences = [s for s in _SENTENCES.split(paragraph) if s]
            turn = copy % max(len(sentences), 1)
            text = "".join(sentences[turn:] + sentences[:turn])
            batch.append(f"{text}（第{copy}版第{n}段。）")
            chars += len(batch[-1])
            if len(batch) == PARAGRAPHS_PER_DOC:
                _write_doc(knowledge, doc, batch)
                doc, batch = doc + 1, []
            if chars >= target:
                break
        copy += 1
    if batch:
        _write_doc(knowledge, doc, batch)
        doc += 1
    (folder / "parkqa.yaml").write_text(
        "knowledge_dir: knowledge\nindex_dir: index\n", encoding="utf-8"
    )
    return doc


def _write_doc(knowledge: Path, number: int, paragraphs: list[str]) -> None:
    title = f"资料汇编第{number}册"
    body = "\n\n".join(paragraphs)
    (knowledge / f"doc-{number:06d}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def resident_parts_mb() -> dict:
    """The resident memory split as the kernel counts it: the process's own (anonymous)
    pages, and pages of files it has mapped (the index), which the kernel drops when memory
    is wanted and shares with every process mapping the same files."""
    parts = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                parts[key] = int(value.split()[0]) / 1024
    return {"own_mb": parts.get("RssAnon", 0.0), "mapped_files_mb": parts.get("RssFile", 0.0)}


# -- steps, each run in its own process ----------------------------------------------------------


def step_build(folder: Path) -> dict:
    from parkqa import KnowledgeBase, load_config

    config = load_config(folder / "parkqa.yaml")
    kb = KnowledgeBase(config, encoder=HashEncoder(config.embedding.model))
    started = time.perf_counter()
    report = kb.update(rebuild=True)
    return {
        "seconds": time.perf_counter() - started,
        "passages": report.passages,
        "documents": len(report.added) + len(report.changed) + len(report.unchanged),
        "peak_rss_mb": peak_rss_mb(),
    }


def step_ask(folder: Path, started: float) -> dict:
    from parkqa import KnowledgeBase, load_config

    _, questions = source_paragraphs()
    config = load_config(folder / "parkqa.yaml")
    kb = KnowledgeBase(config, encoder=HashEncoder(config.embedding.model))
    before = time.perf_counter()
    kb.ask(questions[0])
    cold = time.perf_counter() - before
    total = time.perf_counter() - started
    rss_cold = current_rss_mb()
    times = []
    for question in questions[1:101]:
        begin = time.perf_counter()
        kb.ask(question)
        times.append(time.perf_counter() - begin)
    times.sort()
    return {
        "cold_ask_s": cold,
        "cold_process_s": total,
        "rss_after_cold_mb": rss_cold,
        "warm_p50_ms": 1000 * statistics.median(times),
        "warm_p95_ms": 1000 * times[int(0.95 * len(times)) - 1],
        "rss_after_warm_mb": current_rss_mb(),
        "rss_after_warm_parts": resident_parts_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def step_update(folder: Path) -> dict:
    from parkqa import KnowledgeBase, load_config

    documents = sorted((folder / "knowledge").glob("doc-*.txt"))
    target = documents[len(documents) // 2]
    text = target.read_text(encoding="utf-8")
    target.write_text(text + f"\n补充说明：本册于{time.time_ns()}修订。\n", encoding="utf-8")
    config = load_config(folder / "parkqa.yaml")
    kb = KnowledgeBase(config, encoder=HashEncoder(config.embedding.model))
    started = time.perf_counter()
    report = kb.update()
    return {
        "seconds": time.perf_counter() - started,
        "changed": list(report.changed),
        "embedded": report.embedded,
        "peak_rss_mb": peak_rss_mb(),
    }


def child(step: str, folder: Path) -> dict:
    command = [sys.executable, __file__, "--step", step, "--work", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    if result.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--work", type=Path, required=True, help="folder for the corpus and index")
    parser.add_argument("--step", choices=("build", "ask", "update"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-build", action="store_true", help="reuse the index in --work")
    args = parser.parse_args()
    if args.step:
        steps = {
            "build": lambda: step_build(args.work),
            "ask": lambda: step_ask(args.work, started),
            "update": lambda: step_update(args.work),
        }
        print(json.dumps(steps[args.step]()))
        return
    import parkqa

    results: dict = {"parkqa": str(Path(parkqa.__file__).parent)}
    if not args.skip_build:
        if not (args.work / "knowledge").is_dir():
            results["documents_written"] = write_corpus(args.work, args.passages)
        results["build"] = child("build", args.work)
    results["index_mb"] = disk_mb(args.work / "index")
    results["ask"] = child("ask", args.work)
    results["update"] = child("update", args.work)
    results["index_mb_after_update"] = disk_mb(args.work / "index")
    results["ask_after_update"] = child("ask", args.work)
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
