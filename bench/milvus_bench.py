"""Retrieval from the Milvus index against the file index, on the CMRC 2018 trial set.

    python bench/milvus_bench.py [--data PATH] [--uri URI] [--updates 20] [--limit N]
    python bench/milvus_bench.py --knowledge-base [--data PATH] [--uri URI] [--updates 20]

With --knowledge-base, whole answers are compared: a copy of the set's knowledge base is
given a milvus section (Milvus filled from its index folder, nothing embedded again), and its
answers (KnowledgeBase.ask, scored as `parkqa eval` scores them: answer in the top-1 / top-5
cited passages, in the answer text) are set against those of the same knowledge base
answering from its index folder, before and after one-document updates made with
KnowledgeBase.update (each mirrored into Milvus before it is committed).

Without it, retrieval alone is compared:

Both sides hold the same passages and passage vectors (those of the file index in
~/.cache/parkqa-bench/<set>-<model>, built by bench/answer_bench.py's helpers if missing) and
answer each question the same way: the best `candidates` passages by BM25 and by the passage
vector's inner product, their union scored by both and fused as parkqa.retrieval.fuse does.
The file side takes the scores from parkqa's KeywordIndex and the passage vectors; the Milvus
side from MilvusIndex searches. Prints the share of questions whose answer is in the top-1 /
top-5 passages for each, how often their top 5 agree, and search latency; then again after
one-document updates (each document gets a sentence more, re-read and re-embedded), applied
to Milvus one at a time and to the file side by rebuilding its keyword index.

The default --uri is an embedded Milvus Lite database in a temporary folder; a server
(`milvus-lite server --data-dir D --port P`, or Milvus) is used with --uri http://host:port.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import DEFAULT_SET, open_knowledge_base
from parkqa import KnowledgeBase, load_config
from parkqa.config import DEFAULT_MODEL, RetrievalConfig
from parkqa.evaluation import _contains, evaluate, squad_questions
from parkqa.indexing import document_passages
from parkqa.keywords import KeywordIndex, tokenize
from parkqa.milvus_index import MilvusConfig, MilvusIndex, MilvusView
from parkqa.passages import Passage
from parkqa.retrieval import fuse

ADDED_SENTENCE = "本段资料于近期经过核对并重新整理。"


@dataclass
class Corpus:
    """What both indexes hold: passages, their vectors and keyword tokens, in one order."""

    passages: list[Passage]
    vectors: np.ndarray
    tokens: list[list[str]]

    def replace(self, doc: str, passages: list[Passage], vectors: np.ndarray) -> list[str]:
        """Put a document's new passages in place of its old ones; return the old ids."""
        keep = [i for i, p in enumerate(self.passages) if p.doc != doc]
        removed = [p.id for p in self.passages if p.doc == doc]
        self.passages = [self.passages[i] for i in keep] + passages
        self.vectors = np.vstack([self.vectors[keep], vectors])
        self.tokens = [self.tokens[i] for i in keep] + [keyword_tokens(p) for p in passages]
        return removed


@dataclass
class Score:
    top1: float
    top5: float
    tops: list[list[str]]  # the fused top 5 ids of each question
    latency_ms: list[float]


def keyword_tokens(passage: Passage) -> list[str]:
    """The tokens parkqa's index makes of a passage (title, section and text)."""
    return tokenize(f"{passage.title}\n{passage.section}\n{passage.text}")


def passage_vectors(encoder, passages: list[Passage]) -> np.ndarray:
    """Each passage's vector: the normalised mean of its sentences' vectors."""
    vectors = []
    for passage in passages:
        mean = encoder.encode(passage.sentence_embedding_texts()).mean(axis=0)
        vectors.append(mean / np.linalg.norm(mean))
    return np.array(vectors, dtype=np.float32)


def fused_top5(
    candidates: list[str], keyword: dict[str, float], dense: dict[str, float], config
) -> list[str]:
    """The five best candidates by fused score (candidates in id order, so ties agree)."""
    ids = sorted(candidates)
    scores = fuse(
        np.array([keyword.get(i, 0.0) for i in ids], dtype=np.float32),
        np.array([dense[i] for i in ids], dtype=np.float32),
        config,
    )
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:5]]


def file_top5(corpus: Corpus, keywords: KeywordIndex, tokens, query, config) -> list[str]:
    width = min(config.candidates, len(corpus.passages))
    scores = keywords.scores(tokens)
    by_keyword = [i for i in np.argsort(-scores, kind="stable")[:width] if scores[i] > 0]
    products = corpus.vectors @ query
    by_vector = np.argsort(-products, kind="stable")[:width]
    rows = sorted(set(by_keyword) | set(by_vector.tolist()))
    ids = [corpus.passages[r].id for r in rows]
    return fused_top5(
        ids,
        {corpus.passages[r].id: float(scores[r]) for r in rows},
        {corpus.passages[r].id: float(products[r]) for r in rows},
        config,
    )


def milvus_top5(view: MilvusView, tokens, query, config) -> list[str]:
    width = config.candidates
    keyword = dict(zip(*view.search_keywords(tokens, width)))
    dense = dict(zip(*view.search_dense(query, width)))
    only_dense = [i for i in dense if i not in keyword]
    only_keyword = [i for i in keyword if i not in dense]
    keyword.update(zip(*view.search_keywords(tokens, len(only_dense), ids=only_dense)))
    dense.update(zip(*view.search_dense(query, len(only_keyword), ids=only_keyword)))
    return fused_top5(list(dense), keyword, dense, config)


def score(questions, top5) -> Score:
    """Answer in the top-1 / top-5 passages of top5(i) (their texts), and its latency."""
    top1 = hits5 = 0
    tops, latency = [], []
    for i, item in enumerate(questions):
        started = time.perf_counter()
        ids, texts = top5(i)
        latency.append((time.perf_counter() - started) * 1000)
        tops.append(ids)
        top1 += bool(texts) and _contains(texts[0], item.answers)
        hits5 += any(_contains(t, item.answers) for t in texts)
    return Score(top1 / len(questions), hits5 / len(questions), tops, latency)


def compare(label: str, corpus: Corpus, index: MilvusIndex, questions, queries, config) -> None:
    keywords = KeywordIndex.build(corpus.tokens)
    text_of = {p.id: p.text for p in corpus.passages}
    tokens = [tokenize(item.question) for item in questions]

    def from_file(i):
        ids = file_top5(corpus, keywords, tokens[i], queries[i], config)
        return ids, [text_of[j] for j in ids]

    def from_milvus(i):
        ids = index.read(lambda view: milvus_top5(view, tokens[i], queries[i], config))
        return ids, [text_of[j] for j in ids]

    file = score(questions, from_file)
    milvus = score(questions, from_milvus)
    same = sum(a == b for a, b in zip(file.tops, milvus.tops)) / len(questions)
    print(f"\n{label}: {len(corpus.passages)} passages, {len(questions)} questions")
    print(f"  file index   top-1 {file.top1:.3f}  top-5 {file.top5:.3f}")
    print(f"  Milvus       top-1 {milvus.top1:.3f}  top-5 {milvus.top5:.3f}")
    print(
        f"  difference   top-1 {milvus.top1 - file.top1:+.3f}  top-5 {milvus.top5 - file.top5:+.3f}"
    )
    print(f"  same fused top 5 in {same:.3f} of the questions")
    for name, result in (("file index", file), ("Milvus", milvus)):
        p95 = float(np.percentile(result.latency_ms, 95))
        median = statistics.median(result.latency_ms)
        print(f"  {name:12} retrieval per question: median {median:.1f} ms, p95 {p95:.1f} ms")


def indexed_passage_vectors(loaded) -> np.ndarray:
    """Each live passage's vector as the file index computes it: the normalised mean of its
    sentences' vectors."""
    rows = np.flatnonzero(loaded.live) if loaded.live is not None else range(loaded.rows)
    means = np.stack([loaded.sentence_vectors(int(row)).mean(axis=0) for row in rows])
    return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)


def answers_compared(label: str, milvus: KnowledgeBase, folder: KnowledgeBase, questions):
    """Score both knowledge bases' answers and print the figures side by side."""
    reports = []
    for kb in (folder, milvus):
        kb.ask(questions[0].question)  # warm
        reports.append(evaluate(questions, lambda q, history, kb=kb: kb.ask(q, history, k=5)))
    same = sum(a.answer == b.answer for a, b in zip(reports[0].results, reports[1].results)) / len(
        questions
    )
    print(f"\n{label}: {milvus.stats()['passages']} passages, {len(questions)} questions")
    for name, report in (("index folder", reports[0]), ("Milvus", reports[1])):
        print(
            f"  {name:13} top-1 {report.top1:.3f}  top-5 {report.top5:.3f}  answer text "
            f"{report.answer_hit:.3f}  abstained {report.abstained}  latency mean "
            f"{report.mean_ms:.0f} ms, p95 {report.p95_ms:.0f} ms"
        )
    folder_report, milvus_report = reports
    print(
        f"  difference    top-1 {milvus_report.top1 - folder_report.top1:+.3f}  top-5 "
        f"{milvus_report.top5 - folder_report.top5:+.3f}  answer text "
        f"{milvus_report.answer_hit - folder_report.answer_hit:+.3f}"
    )
    print(f"  same answer text in {same:.3f} of the questions")


def compare_knowledge_bases(args, questions) -> None:
    """Whole answers from Milvus against the index folder, before and after updates."""
    import shutil

    source = open_knowledge_base(args.data, args.model)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "kb"
        shutil.copytree(source.config.root, root)
        uri = args.uri or str(Path(folder) / "bench.db")
        with (root / "parkqa.yaml").open("a", encoding="utf-8") as config:
            config.write(f"milvus:\n  uri: {uri}\n  collection: bench_answers\n")
        milvus = KnowledgeBase(load_config(root / "parkqa.yaml"), encoder=source.encoder)
        started = time.perf_counter()
        report = milvus.update()
        print(
            f"Milvus ({uri}) filled from the index folder in {time.perf_counter() - started:.1f} s "
            f"({report.embedded} embedded)"
        )
        folder_kb = KnowledgeBase(dataclasses.replace(milvus.config, milvus=None), source.encoder)
        answers_compared("as built", milvus, folder_kb, questions)

        docs = sorted(d.doc for d in milvus.documents())
        step = max(1, len(docs) // max(args.updates, 1))
        seconds = []
        for doc in docs[::step][: args.updates]:
            path = root / doc
            text = path.read_text(encoding="utf-8")
            path.write_text(text.rstrip("\n") + ADDED_SENTENCE + "\n", encoding="utf-8")
            started = time.perf_counter()
            report = milvus.update()
            seconds.append(time.perf_counter() - started)
            assert report.changed == (doc,), report.summary()
        state = MilvusIndex.existing(milvus.config.milvus).state()
        print(
            f"\n{len(seconds)} one-document updates (file index and Milvus): median "
            f"{statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; generation "
            f"{state.generation}; stored weights' avgdl {state.reference_length:.2f} vs true "
            f"{state.average_length:.2f} (drift {state.drift:.4f})"
        )
        answers_compared(f"after {len(seconds)} updates", milvus, folder_kb, questions)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_SET, help="SQuAD-format JSON")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model")
    parser.add_argument("--uri", help="Milvus URI (default: Milvus Lite in a temporary folder)")
    parser.add_argument("--updates", type=int, default=20, help="one-document updates")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument(
        "--knowledge-base",
        action="store_true",
        help="compare whole answers (KnowledgeBase.ask with a milvus section) with the folder's",
    )
    args = parser.parse_args()
    if args.knowledge_base:
        data = json.loads(args.data.read_text(encoding="utf-8"))
        questions = [q for q in squad_questions(data) if q.answers][: args.limit]
        compare_knowledge_bases(args, questions)
        return

    kb = open_knowledge_base(args.data, args.model)
    loaded = kb.index()
    passages = list(loaded.passages)
    corpus = Corpus(
        passages,
        indexed_passage_vectors(loaded),
        [keyword_tokens(p) for p in passages],
    )
    data = json.loads(args.data.read_text(encoding="utf-8"))
    questions = [q for q in squad_questions(data) if q.answers][: args.limit]
    queries = kb.encoder.query([item.question for item in questions])
    config = RetrievalConfig()

    with tempfile.TemporaryDirectory() as folder:
        uri = args.uri or str(Path(folder) / "bench.db")
        index = MilvusIndex(
            MilvusConfig(uri=uri, collection="bench"), kb.encoder.name, kb.encoder.dimension
        )
        started = time.perf_counter()
        index.apply(index.generation + 1, corpus.passages, corpus.vectors, corpus.tokens)
        print(
            f"Milvus ({uri}): {len(passages)} passages written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        compare("as built", corpus, index, questions, queries, config)

        docs = sorted({p.doc for p in passages})
        step = max(1, len(docs) // max(args.updates, 1))
        applied = []
        for doc in docs[::step][: args.updates]:
            path = Path(folder) / Path(doc).name
            original = (kb.config.knowledge_dir.parent / doc).read_text(encoding="utf-8")
            path.write_text(original.rstrip("\n") + ADDED_SENTENCE + "\n", encoding="utf-8")
            _, fresh = document_passages(path, doc, kb.config.chunking)
            vectors = passage_vectors(kb.encoder, fresh)
            removed = corpus.replace(doc, fresh, vectors)
            started = time.perf_counter()
            state = index.apply(
                index.generation + 1, fresh, vectors, [keyword_tokens(p) for p in fresh], removed
            )
            applied.append((time.perf_counter() - started) * 1000)
        print(
            f"\n{len(applied)} one-document updates: apply median "
            f"{statistics.median(applied):.0f} ms, max {max(applied):.0f} ms; generation "
            f"{state.generation}, base {state.base}; stored weights' avgdl "
            f"{state.reference_length:.2f} vs true {state.average_length:.2f} "
            f"(drift {state.drift:.4f})"
        )
        compare(f"after {len(applied)} updates", corpus, index, questions, queries, config)
        index.close()


if __name__ == "__main__":
    main()
