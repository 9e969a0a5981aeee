"""Measure the file index at N passages of real Chinese text: the CMRC 2018 trial paragraphs
among distractors (Wikipedia and classical poetry; see scale_corpus.py for the sources and
their licences), written to ~/.cache/parkqa-scale/<N>/.

    python bench/scale_bench.py --passages 3000 [--passages 30000 ...] [--model NAME]
                                [--questions 200] [--json PATH] [--repos DIR]
                                [--embed-threads 1] [--extra-text FOLDER]

For each N, each step runs in a process of its own, so that its peak RSS is its own:

- full build (into an empty index folder) and its peak RSS; the index folder's size after it;
- cold `parkqa ask`: a fresh `python -m parkqa ask`, start to answer, median of 3;
- warm latency (median and p95) and quality over CMRC questions spread over the trial set:
  the share whose answer is in the top-1 / top-5 cited passages (parkqa.evaluation's scoring);
- one-document update: one distractor document changed, the incremental update's time and
  peak RSS (with the real encoder, which embeds the changed document's sentences);
- the load average at the start and end of each N.

Embedding dominates a build at this size, so the build takes vectors of texts embedded before
from a cache (~/.cache/parkqa-scale/embeddings/<model>/, per model and text hash, appended a
batch at a time, so an interrupted run resumes) and embeds only what is missing. Everything
else is the real build. The table shows embedding apart: `embed s` is what embedding the
build's texts took when they were first embedded (recorded in the cache, whatever run did it),
`build s` the rest of the build. A build that had to embed texts is repeated from a full cache,
so that its time and peak RSS are not those of the encoder. The index folder is emptied before
each build, so its size afterwards is that of one build.

The benchmark uses only parkqa's public API (KnowledgeBase, load_config, the CLI, and the
scoring of parkqa.evaluation), not the names of the index's files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_corpus import DEFAULT_REPOS, CorpusError, plan_corpus, write_corpus

from cmrc import DEFAULT_SET, slug

SCALE_ROOT = Path.home() / ".cache" / "parkqa-scale"
DEFAULT_MODEL = "builtin:use-multilingual"
CACHE_BATCH = 4096  # texts embedded and appended to the cache at a time
COLD_RUNS = 3


# --- the embedding cache -----------------------------------------------------------------


def text_key(text: str) -> int:
    """64 bits of a text's BLAKE2b hash (a collision among a few million texts: ~1e-7)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


class CachedEncoder:
    """An Encoder that returns the cached vectors of texts embedded before and embeds, with
    the real encoder, only the texts missing from the cache, appending them to it.

    The cache is a folder per model of shards: vectors (float32 .npy), their text keys
    (uint64 .npy) and a JSON record of how long embedding them took, written last, so a shard
    counts only once complete. Questions are embedded by the real encoder, never cached."""

    def __init__(self, model: str, root: Path, make_inner: Callable[[], object]) -> None:
        self.name = model
        self.folder = root / slug(model)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._make_inner = make_inner
        self._inner = None
        self.dimension = self._read_dimension()
        self._shards: list[np.ndarray] = []
        self._shard_cost: list[float] = []  # seconds per text, per shard
        self._keys = np.zeros(0, dtype=np.uint64)  # sorted
        self._where = np.zeros((0, 2), dtype=np.int64)  # (shard, row) of each sorted key
        self._load()
        self.lookup_seconds = 0.0  # in encode, outside the real encoder
        self.embed_seconds = 0.0  # in the real encoder
        self.embedded = 0  # texts the real encoder embedded
        self.cost_seconds = 0.0  # what embedding every returned text took when first embedded

    @property
    def inner(self):
        if self._inner is None:
            self._inner = self._make_inner()
        return self._inner

    def _read_dimension(self) -> int:
        meta = self.folder / "model.json"
        if meta.exists():
            return int(json.loads(meta.read_text())["dimension"])
        dimension = int(self.inner.dimension)
        meta.write_text(json.dumps({"model": self.name, "dimension": dimension}))
        return dimension

    def _load(self) -> None:
        keys, where = [], []
        for record in sorted(self.folder.glob("shard-*.json")):
            stem = record.name[: -len(".json")]
            info = json.loads(record.read_text())
            shard = len(self._shards)
            self._shards.append(np.load(self.folder / f"{stem}.vectors.npy", mmap_mode="r"))
            self._shard_cost.append(info["seconds"] / max(1, info["count"]))
            shard_keys = np.load(self.folder / f"{stem}.keys.npy")
            keys.append(shard_keys)
            rows = np.arange(len(shard_keys), dtype=np.int64)
            where.append(np.stack([np.full_like(rows, shard), rows], axis=1))
        if keys:
            all_keys = np.concatenate(keys)
            order = np.argsort(all_keys, kind="stable")
            self._keys = all_keys[order]
            self._where = np.concatenate(where)[order]

    def _find(self, keys: np.ndarray) -> np.ndarray:
        """The position in the sorted keys of each key, or -1."""
        if not len(self._keys):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self._keys, keys)
        pos[pos == len(self._keys)] = 0
        return np.where(self._keys[pos] == keys, pos, -1)

    def _append(self, keys: np.ndarray, vectors: np.ndarray, seconds: float) -> np.ndarray:
        """Write one shard: vectors and keys first, the record that completes it last.
        Returns the (shard, row) of each of its vectors."""
        stem = f"shard-{time.time_ns():020d}-{os.getpid()}"
        np.save(self.folder / f"{stem}.vectors.npy", vectors.astype(np.float32))
        np.save(self.folder / f"{stem}.keys.npy", keys)
        record = json.dumps({"count": len(keys), "seconds": seconds, "model": self.name})
        staging = self.folder / f".{stem}.json"
        staging.write_text(record)
        staging.rename(self.folder / f"{stem}.json")
        rows = np.arange(len(keys), dtype=np.int64)
        self._shards.append(vectors)
        self._shard_cost.append(seconds / max(1, len(keys)))
        return np.stack([np.full_like(rows, len(self._shards) - 1), rows], axis=1)

    def _add_keys(self, keys: np.ndarray, where: np.ndarray) -> None:
        merged = np.concatenate([self._keys, keys])
        order = np.argsort(merged, kind="stable")
        self._keys, self._where = merged[order], np.concatenate([self._where, where])[order]

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress=None) -> np.ndarray:
        started = time.perf_counter()
        inner_before = self.embed_seconds
        keys = np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))
        missing: dict[int, str] = {}
        for text, key, pos in zip(texts, keys.tolist(), self._find(keys).tolist()):
            if pos < 0:
                missing.setdefault(key, text)
        self._embed_missing(missing, batch_size, progress, len(texts))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        where = self._where[self._find(keys)]
        for shard in np.unique(where[:, 0]).tolist():
            chosen = where[:, 0] == shard
            out[chosen] = self._shards[shard][where[chosen, 1]]
            self.cost_seconds += self._shard_cost[shard] * int(chosen.sum())
        if progress:
            progress(len(texts), len(texts))
        inner = self.embed_seconds - inner_before
        self.lookup_seconds += time.perf_counter() - started - inner
        return out

    def _embed_missing(self, missing: dict[int, str], batch_size: int, progress, total: int):
        """Embed the texts with the real encoder, a cache shard at a time."""
        items = list(missing.items())
        done = total - len(items)
        keys, where = [], []
        for start in range(0, len(items), CACHE_BATCH):
            batch = items[start : start + CACHE_BATCH]
            began = time.perf_counter()
            vectors = self.inner.encode([t for _, t in batch], batch_size=batch_size)
            seconds = time.perf_counter() - began
            self.embed_seconds += seconds
            self.embedded += len(batch)
            batch_keys = np.array([k for k, _ in batch], dtype=np.uint64)
            keys.append(batch_keys)
            where.append(self._append(batch_keys, vectors, seconds))
            done += len(batch)
            if progress:
                progress(done, total)
        if keys:
            self._add_keys(np.concatenate(keys), np.concatenate(where))

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.query(texts)


# --- the steps, each in a process of its own ----------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _progress(label: str):
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 10 or done == total:
            last[0] = now
            print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)

    return report


def step_build(config_path: str, embed_threads: str) -> dict:
    """A full rebuild with cached embeddings."""
    from parkqa import KnowledgeBase, load_config

    config = load_config(config_path)
    encoder = CachedEncoder(
        config.embedding.model,
        SCALE_ROOT / "embeddings",
        lambda: real_encoder(config.embedding, int(embed_threads)),
    )
    kb = KnowledgeBase(config, encoder=encoder)
    started = time.perf_counter()
    report = kb.update(rebuild=True, progress=_progress("embedding texts"))
    seconds = time.perf_counter() - started
    return {
        "passages": report.passages,
        "documents": len(report.added) + len(report.changed) + len(report.unchanged),
        "embed_texts": report.embedded,
        "embedded_now": encoder.embedded,
        "embed_now_s": encoder.embed_seconds,
        "embed_s": encoder.cost_seconds,
        "lookup_s": encoder.lookup_seconds,
        "build_s": seconds - encoder.embed_seconds - encoder.lookup_seconds,
        "build_total_s": seconds,
        "build_rss_mb": peak_rss_mb(),
    }


def real_encoder(embedding, threads: int):
    """The configured encoder; the built-in USE on `threads` threads (when other work holds
    the cores, one thread embeds about three times faster than two that wait on each other)."""
    from parkqa.encoders import UseEncoder, make_encoder

    if embedding.model == UseEncoder.name and threads > 0:
        return UseEncoder(threads=threads)
    return make_encoder(embedding)


def step_warm(config_path: str, probe: str, count: str) -> dict:
    """Answer the probe questions with a loaded knowledge base; latency and quality."""
    from parkqa import KnowledgeBase, load_config
    from parkqa.evaluation import evaluate, load_questions

    kb = KnowledgeBase(load_config(config_path))
    kb.warm_up()
    questions = probe_questions(load_questions(probe), int(count))
    times: list[float] = []

    def ask(question: str, history: Sequence[str]):
        began = time.perf_counter()
        answer = kb.ask(question, history, k=5)
        times.append(time.perf_counter() - began)
        return answer

    report = evaluate(questions, ask)
    ordered = sorted(times)
    return {
        "questions": report.questions,
        "top1": report.top1,
        "top5": report.top5,
        "answer_hit": report.answer_hit,
        "refused": report.refused,
        "warm_median_ms": statistics.median(ordered) * 1000,
        "warm_p95_ms": ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000,
        "warm_rss_mb": peak_rss_mb(),
    }


def step_update(config_path: str) -> dict:
    """The incremental update after one document changed, with the real encoder."""
    from parkqa import KnowledgeBase, load_config

    kb = KnowledgeBase(load_config(config_path))
    started = time.perf_counter()
    report = kb.update()
    return {
        "update_s": time.perf_counter() - started,
        "update_index_s": report.seconds,
        "update_changed": len(report.changed),
        "update_embedded": report.embedded,
        "update_rss_mb": peak_rss_mb(),
    }


STEPS = {"build": step_build, "warm": step_warm, "update": step_update}


def probe_questions(questions: list, count: int) -> list:
    """`count` answerable questions spread evenly over the set (all of them with 0)."""
    answerable = [q for q in questions if q.answers]
    if count <= 0 or count >= len(answerable):
        return answerable
    return [answerable[i * len(answerable) // count] for i in range(count)]


def run_child(command: list[str]) -> tuple[str, float, float]:
    """Run a process to its end: its stdout, wall seconds and peak RSS in MB (from wait4,
    so the figure is this process's alone). Its stderr passes through."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    if process.returncode:
        raise SystemExit(f"step failed (exit {process.returncode}): {' '.join(command[:6])} ...")
    return text, wall, usage.ru_maxrss / 1024


def run_step(name: str, *args: str) -> dict:
    text, wall, rss = run_child([sys.executable, __file__, "--step", name, *args])
    result = json.loads(text.strip().splitlines()[-1])
    result[f"{name}_process_s"] = wall
    result[f"{name}_process_rss_mb"] = rss
    return result


def fresh_build(config_path: Path, embed_threads: int) -> dict:
    """A build into an empty index folder, so that the folder then holds only this build."""
    from parkqa import load_config

    shutil.rmtree(load_config(config_path).index_dir, ignore_errors=True)
    return run_step("build", str(config_path), str(embed_threads))


def cold_ask(config_path: Path, question: str) -> tuple[float, float]:
    """Median wall time and peak RSS of `parkqa ask` in a fresh process."""
    command = [sys.executable, "-m", "parkqa", "--config", str(config_path), "ask", question]
    runs = [run_child(command)[1:] for _ in range(COLD_RUNS)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def index_bytes(config_path: Path) -> int:
    from parkqa import load_config

    folder = load_config(config_path).index_dir
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def change_one_document(config_path: Path, documents) -> tuple[Path, str]:
    """Edit a distractor in the middle of the corpus: its first section repeated at its end
    under a new heading. Returns the file and its original text."""
    from parkqa import load_config

    document = [d for d in documents if not d.name.startswith("probe")][len(documents) // 2]
    path = load_config(config_path).knowledge_dir / f"{document.name}.md"
    original = path.read_text(encoding="utf-8")
    first = document.sections[0]
    path.write_text(original + f"\n## 补记：{first.heading}\n\n{first.text}\n", encoding="utf-8")
    return path, original


def measure(passages: int, args: argparse.Namespace) -> dict:
    row: dict = {"target": passages, "model": args.model, "load_start": os.getloadavg()}
    began = time.perf_counter()
    documents = plan_corpus(passages, args.data, args.repos, args.extra_text)
    root = SCALE_ROOT / str(passages)
    config = write_corpus(documents, root, args.model)
    row["corpus_s"] = time.perf_counter() - began
    print(f"N={passages}: {len(documents)} documents in {root}", file=sys.stderr, flush=True)

    build = fresh_build(config, args.embed_threads)
    if build["embedded_now"]:
        first = build
        print("  repeating the build from a full embedding cache", file=sys.stderr, flush=True)
        build = fresh_build(config, args.embed_threads)
        build["embed_now_s"], build["embedded_now"] = first["embed_now_s"], first["embedded_now"]
    row.update(build)
    row["index_mb"] = index_bytes(config) / 2**20

    from parkqa.evaluation import load_questions

    question = probe_questions(load_questions(args.data), 1)[0].question
    row["cold_ask_s"], row["cold_ask_rss_mb"] = cold_ask(config, question)
    row.update(run_step("warm", str(config), str(args.data), str(args.questions)))

    path, original = change_one_document(config, documents)
    try:
        row.update(run_step("update", str(config)))
    finally:
        path.write_text(original, encoding="utf-8")
    row["load_end"] = os.getloadavg()
    row["cpus"] = os.cpu_count()
    return row


COLUMNS = (
    ("passages", "passages", "{:d}"),
    ("docs", "documents", "{:d}"),
    ("texts", "embed_texts", "{:d}"),
    ("embed s", "embed_s", "{:.0f}"),
    ("build s", "build_s", "{:.1f}"),
    ("build MB", "build_rss_mb", "{:.0f}"),
    ("index MB", "index_mb", "{:.0f}"),
    ("cold ask s", "cold_ask_s", "{:.2f}"),
    ("warm med ms", "warm_median_ms", "{:.0f}"),
    ("warm p95 ms", "warm_p95_ms", "{:.0f}"),
    ("top-1", "top1", "{:.3f}"),
    ("top-5", "top5", "{:.3f}"),
    ("update s", "update_s", "{:.2f}"),
    ("update MB", "update_rss_mb", "{:.0f}"),
)


def table(rows: list[dict]) -> str:
    header = [name for name, _, _ in COLUMNS] + ["load avg start -> end"]
    lines = [header]
    for row in rows:
        cells = [fmt.format(row[key]) for _, key, fmt in COLUMNS]
        cells.append(f"{row['load_start'][0]:.2f} -> {row['load_end'][0]:.2f}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in lines)


def save_json(path: Path, rows: list[dict]) -> None:
    """Add the rows to the JSON file, replacing earlier rows of the same size and model."""
    kept = json.loads(path.read_text()) if path.exists() else []
    fresh = {(r["target"], r["model"]) for r in rows}
    kept = [r for r in kept if (r["target"], r["model"]) not in fresh]
    path.write_text(json.dumps(kept + rows, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--step":
        print(json.dumps(STEPS[sys.argv[2]](*sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--passages", type=int, action="append", required=True, help="corpus size; repeatable"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"default: {DEFAULT_MODEL}")
    parser.add_argument(
        "--questions", type=int, default=200, help="probe questions for latency (0: all)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_SET, help="probe set (SQuAD JSON)")
    parser.add_argument(
        "--repos", type=Path, default=DEFAULT_REPOS, help="folder of the source repositories"
    )
    parser.add_argument("--extra-text", type=Path, action="append", default=[], metavar="FOLDER")
    parser.add_argument(
        "--embed-threads",
        type=int,
        default=1,
        help="threads of the built-in USE when filling the embedding cache (0: its default)",
    )
    parser.add_argument("--json", type=Path, help="also add the figures to this JSON file")
    args = parser.parse_args()
    if any(n < 1 for n in args.passages):
        parser.error("--passages must be a positive number of passages")
    for path in (args.data, *args.extra_text):
        if not path.exists():
            parser.error(f"{path} does not exist; give an existing file or folder")
    rows = []
    for passages in args.passages:
        try:
            rows.append(measure(passages, args))
        except CorpusError as exc:
            raise SystemExit(f"error: {exc}") from None
        print(table(rows[-1:]), file=sys.stderr, flush=True)
        if args.json:
            save_json(args.json, rows[-1:])
    print(table(rows))


if __name__ == "__main__":
    main()
