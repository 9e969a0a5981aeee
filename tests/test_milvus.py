"""The Milvus index on real Milvus Lite: keyword scores equal to parkqa's BM25, dense search equal
to a brute-force inner product, updates, filters, whole-generation reads, and several processes
sharing one `milvus-lite server`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

try:
    import milvus_lite  # noqa: F401
    import pymilvus  # noqa: F401
except ImportError:  # pragma: no cover - the CI installs them
    raise ImportError(
        "the Milvus tests need pymilvus and milvus-lite; install them with: "
        "pip install -e '.[milvus]'"
    ) from None

from conftest import PARK_ARTICLE, PARK_DOC, REPO, free_port
from parkqa.errors import ConfigError, IndexBusyError, IndexCorruptError, IndexServerError
from parkqa.indexing import document_passages
from parkqa.keywords import KeywordIndex, tokenize
from parkqa.milvus_index import (
    MilvusConfig,
    MilvusIndex,
    document_weights,
    query_idf,
    sentence_digest,
)
from parkqa.passages import Passage
from parkqa.retrieval import Filters

QUESTIONS = [
    item["question"]
    for item in yaml.safe_load((REPO / "tests" / "data" / "park_questions.yaml").read_text())
] + ["Alibaba cloud investment", "2019年营业收入", "数据 中心 席位", "nine o'clock tours"]

NEWS = {
    "news-2021.md": (
        "---\ntitle: 园区新闻\ndate: 2021-03-15\ntags: [新闻]\n---\n"
        "2021年3月，园区新建一座液冷数据中心，机柜总数达到1200个。\n"
        "该中心由本地能源企业供电，年耗电量约为3000万千瓦时。\n"
    ),
    "policy-2020.md": (
        "---\ntitle: 人才政策\ndate: 2020-05\ntags: [政策, 人才]\n---\n"
        "2020年5月，区政府发布人才公寓政策，博士可免费入住三年。\n"
        "硕士享受租金减半，本科毕业生可申请一年的租房补贴。\n"
    ),
    "notice.md": (
        "---\ntitle: Notice\n---\nThe visitor centre opens at nine o'clock on weekdays.\n"
        "Guided tours of the liquid-cooled data centre start every hour.\n"
    ),
}


class Corpus:
    """Passages read through parkqa's own document functions, with vectors from the real
    encoder and keyword tokens as parkqa's index makes them; `indexed` is what an index built
    from it should hold now."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.indexed: dict[str, Passage] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.tokens: dict[str, list[str]] = {}

    def read(self, path: Path, doc: str) -> list[Passage]:
        _, passages = document_passages(path, doc)
        texts = [t for p in passages for t in p.sentence_embedding_texts()]
        sentence_vectors = self.encoder.encode(texts)
        start = 0
        for passage in passages:
            count = len(passage.sentence_embedding_texts())
            mean = sentence_vectors[start : start + count].mean(axis=0)
            start += count
            self.vectors[passage.id] = (mean / np.linalg.norm(mean)).astype(np.float32)
            self.tokens[passage.id] = tokenize(
                f"{passage.title}\n{passage.section}\n{passage.text}"
            )
        return passages

    def copy(self) -> Corpus:
        twin = Corpus(self.encoder)
        twin.indexed = dict(self.indexed)
        twin.vectors, twin.tokens = self.vectors, self.tokens
        return twin

    def add(self, passages: list[Passage]) -> tuple[list[Passage], np.ndarray, list[list[str]]]:
        """What MilvusIndex.apply takes for these passages."""
        self.indexed.update((p.id, p) for p in passages)
        return (
            passages,
            np.array([self.vectors[p.id] for p in passages], dtype=np.float32).reshape(-1, 384),
            [self.tokens[p.id] for p in passages],
        )

    def remove(self, doc: str) -> list[str]:
        gone = [i for i, p in self.indexed.items() if p.doc == doc]
        for i in gone:
            del self.indexed[i]
        return gone

    def bm25(self, tokens: list[str]) -> dict[str, float]:
        """parkqa's own BM25 over the passages indexed now."""
        ids = list(self.indexed)
        keywords = KeywordIndex.build([self.tokens[i] for i in ids])
        return dict(zip(ids, keywords.scores(tokens).tolist()))


def write_documents(folder: Path, documents: dict[str, str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in documents.items():
        paths[name] = folder / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def corpus(encoder, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The park article and the short documents above, indexed as generation 1 of `park`."""
    corpus = Corpus(encoder)
    corpus.add(corpus.read(PARK_ARTICLE, PARK_DOC))
    for name, path in write_documents(tmp_path_factory.mktemp("news"), NEWS).items():
        corpus.add(corpus.read(path, f"knowledge/{name}"))
    return corpus


def open_index(uri: str, tolerance: float = 0.05, **settings) -> MilvusIndex:
    settings = {"encoder": "builtin:e5-small", "dimension": 384, **settings}
    config = MilvusConfig(uri=uri, collection="kb")
    return MilvusIndex(config, reweight_tolerance=tolerance, **settings)


def build(corpus: Corpus, uri: str, tolerance: float = 0.05) -> MilvusIndex:
    index = open_index(uri, tolerance)
    index.apply(1, *corpus.copy().add(list(corpus.indexed.values())))
    return index


@pytest.fixture(scope="module")
def park(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> MilvusIndex:
    """The corpus in an embedded Milvus Lite, for tests that only read."""
    return build(corpus, str(tmp_path_factory.mktemp("milvus") / "park.db"))


def assert_same_ranking(found: tuple[list[str], np.ndarray], expected: dict[str, float], k: int):
    """Milvus's top k are the passages with the k best reference scores, in order, scored
    alike (up to float32 rounding; passages tied with the k-th may swap)."""
    ids, scores = found
    best = sorted((s for s in expected.values() if s > 0), reverse=True)[:k]
    assert len(ids) == len(best)
    np.testing.assert_allclose(scores, best, rtol=1e-5)
    np.testing.assert_allclose([expected[i] for i in ids], scores, rtol=1e-5)


def test_keyword_search_ranks_like_parkqa_bm25(park: MilvusIndex, corpus: Corpus):
    for question in QUESTIONS:
        tokens = tokenize(question)
        assert_same_ranking(park.search_keywords(tokens, 10), corpus.bm25(tokens), 10)


def test_document_weights_times_query_idf_are_parkqa_bm25_weights(corpus: Corpus):
    ids = list(corpus.indexed)
    documents = [corpus.tokens[i] for i in ids]
    keywords = KeywordIndex.build(documents)
    lengths = [len(tokens) for tokens in documents]
    average = sum(lengths) / len(lengths)
    vocabulary = list(dict.fromkeys(token for tokens in documents for token in tokens))
    for token in vocabulary[:200]:
        scores = keywords.scores([token])
        rows = [row for row, tokens in enumerate(documents) if token in tokens]
        idf = query_idf(np.array([len(rows)]), len(ids))[0]
        for row in rows:
            counts = {token: documents[row].count(token)}
            side = document_weights(counts, lengths[row], average, 1.2, 0.75)[token]
            assert idf * side == pytest.approx(float(scores[row]), rel=1e-5)


def test_dense_search_equals_brute_force_inner_product(park: MilvusIndex, corpus: Corpus):
    ids = list(corpus.indexed)
    matrix = np.stack([corpus.vectors[i] for i in ids])
    queries = corpus.encoder.query(QUESTIONS[:8])
    for query in queries:
        products = matrix @ query
        order = np.argsort(-products)[:10]
        found, scores = park.search_dense(query, 10)
        assert found == [ids[i] for i in order]
        np.testing.assert_allclose(scores, products[order], rtol=1e-5, atol=1e-6)


def test_passages_come_back_whole_in_the_order_asked(park: MilvusIndex, corpus: Corpus):
    ids = list(corpus.indexed)[::-1][:7]
    assert park.passages(ids) == [corpus.indexed[i] for i in ids]
    with pytest.raises(LookupError):
        park.passages(["no-such-passage"])


def test_search_among_given_passages_scores_only_those(park: MilvusIndex, corpus: Corpus):
    tokens = tokenize("阿里巴巴在永川投资了多少钱")
    reference = corpus.bm25(tokens)
    chosen = [i for i, s in reference.items() if s > 0][-3:]
    ids, scores = park.search_keywords(tokens, 50, ids=chosen)
    assert sorted(ids) == sorted(chosen)
    np.testing.assert_allclose(scores, [reference[i] for i in ids], rtol=1e-5)
    query = corpus.encoder.query(["数据中心"])[0]
    ids, scores = park.search_dense(query, 50, ids=chosen)
    assert sorted(ids) == sorted(chosen)
    np.testing.assert_allclose(scores, [corpus.vectors[i] @ query for i in ids], rtol=1e-5)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(tags=("新闻",)),
        Filters(tags=("政策", "招商引资")),
        Filters(date_from="2020-05"),
        Filters(date_from="2020-04", date_to="2020-05"),
        Filters(date_to="2020"),
        Filters(date_from="2021-03-15", date_to="2021-03-15"),
        Filters(tags=("人才",), date_to="2020-05-31"),
    ],
)
def test_filters_allow_what_parkqa_allows(park: MilvusIndex, corpus: Corpus, filters: Filters):
    tokens = tokenize("2020年 数据中心 政策 园区 企业")
    allowed = {i: s for i, s in corpus.bm25(tokens).items() if filters.allows(corpus.indexed[i])}
    assert_same_ranking(park.search_keywords(tokens, 20, filters), allowed, 20)
    query = corpus.encoder.query(["园区的数据中心"])[0]
    ids, _ = park.search_dense(query, 100, filters)
    assert sorted(ids) == sorted(allowed)


CHANGED_NEWS = (
    "---\ntitle: 园区新闻\ndate: 2021-06-01\ntags: [新闻]\n---\n"
    "2021年6月，液冷数据中心二期投产，机柜总数增至2600个。\n"
    "二期采用光伏发电，园区由此每年减少碳排放约两万吨。\n"
)
ADDED = (
    "---\ntitle: 交通\ntags: [交通]\n---\n"
    "园区开通两条直达高铁站的公交专线，早晚高峰每十分钟一班。\n"
    "A shuttle bus links the park with the high-speed railway station.\n"
)
UPDATE_QUESTIONS = [
    *QUESTIONS,
    "机柜总数",
    "光伏 碳排放",
    "高铁站 公交",
    "visitor centre",
    "shuttle",
]


@pytest.fixture(scope="module")
def changes(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> list[Passage]:
    """The news document changed, and a new document, read (and embedded) once."""
    folder = tmp_path_factory.mktemp("changes")
    paths = write_documents(folder, {"news-2021.md": CHANGED_NEWS, "transport.md": ADDED})
    changed = corpus.read(paths["news-2021.md"], "knowledge/news-2021.md")
    return changed + corpus.read(paths["transport.md"], "knowledge/transport.md")


def update(corpus: Corpus, changes: list[Passage]) -> tuple[list, np.ndarray, list, list[str]]:
    """Change one document, remove one and add one; corpus follows. Returns apply's arguments."""
    removed = corpus.remove("knowledge/news-2021.md") + corpus.remove("knowledge/notice.md")
    return (*corpus.add(changes), removed)


def test_updates_keep_keyword_and_dense_search_exact(
    corpus: Corpus, changes: list[Passage], tmp_path: Path
):
    index = build(corpus, str(tmp_path / "kb.db"), tolerance=0.0)
    now = corpus.copy()
    passages, vectors, tokens, removed = update(now, changes)
    state = index.apply(2, passages, vectors, tokens, removed)
    assert (state.generation, state.count) == (2, len(now.indexed))
    for question in UPDATE_QUESTIONS:
        tokens = tokenize(question)
        assert_same_ranking(index.search_keywords(tokens, 10), now.bm25(tokens), 10)
    assert index.search_keywords(tokenize("visitor"), 10) == ([], pytest.approx([]))
    with pytest.raises(LookupError):
        index.passages(removed[:1])
    ids = list(now.indexed)
    query = corpus.encoder.query(["高铁站怎么去"])[0]
    found, _ = index.search_dense(query, len(ids) + 5)
    assert found == [ids[i] for i in np.argsort(-(np.stack([now.vectors[i] for i in ids]) @ query))]
    assert index.passages(ids) == list(now.indexed.values())


def test_without_reweighting_idf_stays_exact_and_avgdl_is_the_reference(
    corpus: Corpus, changes: list[Passage], tmp_path: Path
):
    index = build(corpus, str(tmp_path / "kb.db"), tolerance=1.0)
    reference = index.state().reference_length
    now = corpus.copy()
    state = index.apply(2, *update(now, changes))
    assert state.reference_length == reference != state.average_length
    ids = list(now.indexed)
    for question in UPDATE_QUESTIONS:
        tokens = list(dict.fromkeys(tokenize(question)))
        df = {t: sum(t in now.tokens[i] for i in ids) for t in tokens}
        known = [t for t in tokens if df[t]]
        idf = dict(zip(known, query_idf(np.array([df[t] for t in known]), len(ids))))
        expected = {}
        for i in ids:
            counts = {t: now.tokens[i].count(t) for t in known if t in now.tokens[i]}
            weights = document_weights(counts, len(now.tokens[i]), reference, 1.2, 0.75)
            expected[i] = sum(float(idf[t] * w) for t, w in weights.items())
        assert_same_ranking(index.search_keywords(tokens, 10), expected, 10)


class PausingIndex(MilvusIndex):
    """A writer that stops just before its flip (the insert of the new state row) until told
    to go on, or fails there, so that a test can read in between."""

    def __init__(self, *args, fail: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.written = threading.Event()
        self.go_on = threading.Event()
        self.fail = fail

    def _insert(self, collection: str, rows: list) -> None:
        if collection == self.names["state"]:
            self.written.set()
            if self.fail:
                raise RuntimeError("writer stopped before its flip")
            assert self.go_on.wait(30)
        super()._insert(collection, rows)


def snapshot(index: MilvusIndex, corpus: Corpus) -> tuple:
    """What a reader sees: the generation, keyword and dense results, every passage."""
    query = corpus.encoder.query(["液冷数据中心有多少个机柜"])[0]

    def reading(view):
        keyword = view.search_keywords(tokenize("机柜总数 visitor 高铁站"), 20)
        dense = view.search_dense(query, 20)
        passages = view.passages(keyword[0] + dense[0])
        return view.generation, keyword[0], keyword[1].tolist(), dense[0], passages

    return index.read(reading)


def test_a_reader_between_write_and_flip_sees_the_old_generation(
    corpus: Corpus, changes: list[Passage], tmp_path
):
    uri = str(tmp_path / "kb.db")
    build(corpus, uri).close()
    writer = PausingIndex(MilvusConfig(uri=uri, collection="kb"), "builtin:e5-small", 384)
    reader = open_index(uri)
    before = snapshot(reader, corpus)
    now = corpus.copy()
    arguments = update(now, changes)
    thread = threading.Thread(target=writer.apply, args=(2, *arguments))
    thread.start()
    try:
        assert writer.written.wait(30)
        assert snapshot(reader, corpus) == before
    finally:
        writer.go_on.set()
        thread.join(30)
    after = snapshot(reader, corpus)
    assert after[0] == 2 and after != before
    assert {p.doc for p in after[4]} >= {"knowledge/transport.md", "knowledge/news-2021.md"}
    assert "knowledge/notice.md" not in {p.doc for p in after[4]}


class PausingCleanup(MilvusIndex):
    """A writer that stops after its flip, before it deletes the rows it retired."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flipped = threading.Event()
        self.go_on = threading.Event()

    def _delete_retired(self, state) -> None:
        self.flipped.set()
        assert self.go_on.wait(30)
        super()._delete_retired(state)


def test_a_reader_between_flip_and_cleanup_sees_only_the_new_generation(
    corpus: Corpus, changes: list[Passage], tmp_path
):
    uri = str(tmp_path / "kb.db")
    build(corpus, uri).close()
    now = corpus.copy()
    reader = open_index(uri, tolerance=1.0)  # no reweighting: rows are retired one by one
    reader.apply(2, *update(now, changes))
    config = MilvusConfig(uri=uri, collection="kb")
    writer = PausingCleanup(config, "builtin:e5-small", 384, reweight_tolerance=1.0)
    removed = now.remove("knowledge/transport.md")
    thread = threading.Thread(target=writer.apply, args=(3, *now.add([]), removed))
    thread.start()
    try:
        assert writer.flipped.wait(30)
        generation, *_, passages = snapshot(reader, corpus)
        ids = list(now.indexed)
        assert generation == 3
        assert reader.search_keywords(tokenize("visitor shuttle 机柜"), 100)[0]
        assert set(reader.search_keywords(tokenize("visitor shuttle 机柜"), 100)[0]) <= set(ids)
        assert set(reader.search_dense(corpus.vectors[ids[0]], 100)[0]) == set(ids)
        assert {p.doc for p in passages} <= {p.doc for p in now.indexed.values()}
    finally:
        writer.go_on.set()
        thread.join(30)


def test_an_update_that_failed_before_its_flip_is_never_seen(
    corpus: Corpus, changes: list[Passage], tmp_path
):
    uri = str(tmp_path / "kb.db")
    build(corpus, uri).close()
    config = MilvusConfig(uri=uri, collection="kb")
    failing = PausingIndex(config, "builtin:e5-small", 384, fail=True)
    reader = open_index(uri, tolerance=0.0)
    before = snapshot(reader, corpus)
    now = corpus.copy()
    arguments = update(now, changes)
    with pytest.raises(RuntimeError):
        failing.apply(2, *arguments)
    assert snapshot(reader, corpus) == before
    reader.apply(2, *arguments)
    for question in UPDATE_QUESTIONS:
        tokens = tokenize(question)
        assert_same_ranking(reader.search_keywords(tokens, 10), now.bm25(tokens), 10)


def test_a_view_stays_whole_for_one_update_and_reports_when_rows_went(corpus, changes, tmp_path):
    index = build(corpus, str(tmp_path / "kb.db"))
    old = index.view()
    tokens = tokenize("visitor centre 数据中心")
    before = old.search_keywords(tokens, 10)
    now = corpus.copy()
    index.apply(2, *update(now, changes))
    assert old.search_keywords(tokens, 10)[0] == before[0]
    assert old.passages(before[0])[0].doc == "knowledge/notice.md"
    assert old.intact()
    index.apply(3, *now.add([]), removed=now.remove("knowledge/transport.md"))
    assert not old.intact()
    with pytest.raises(IndexBusyError):  # its statistics of 园区 were overwritten
        old.search_keywords(tokenize("园区"), 5)
    assert index.view().intact()
    assert index.search_keywords(tokenize("shuttle"), 5)[0] == []


def test_without_pymilvus_the_error_says_how_to_install_it(monkeypatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(ConfigError, match=r"pip install 'parkqa\[milvus\]'"):
        open_index(str(tmp_path / "kb.db"))


def test_an_unreachable_server_is_named(tmp_path: Path):
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(IndexServerError, match=f"cannot open the Milvus index at {uri}"):
        open_index(uri)


def test_a_local_uri_must_be_a_database_path(tmp_path: Path):
    with pytest.raises(ConfigError, match="ending in .db"):
        open_index(str(tmp_path / "milvus"))


def test_an_index_of_another_encoder_is_refused(park: MilvusIndex):
    with pytest.raises(IndexCorruptError, match="built with the encoder builtin:e5-small"):
        MilvusIndex(park.config, encoder="other-model", dimension=768)


HOLD_OPEN = """
import sys, time
from pymilvus import MilvusClient
MilvusClient(sys.argv[1]).list_collections()
print("open", flush=True)
time.sleep(60)
"""


def test_an_embedded_database_open_in_another_process_points_to_the_server(tmp_path: Path):
    uri = str(tmp_path / "kb.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, uri], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(IndexBusyError, match="milvus-lite server --data-dir"):
            open_index(uri)
    finally:
        holder.kill()
        holder.wait()


# Processes sharing one `milvus-lite server`: a writer replaces the M passages of a marker
# document again and again; each reader checks that every read sees one whole generation.
SHARED = """
import json, sys, time
from pathlib import Path
import numpy as np
from parkqa.milvus_index import MilvusConfig, MilvusIndex
from parkqa.passages import Passage
from parkqa.retrieval import Filters

M, DIMENSION = 4, 8
uri, role, updates, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
index = MilvusIndex(MilvusConfig(uri=uri, collection="shared"), "random-vectors", DIMENSION)


def passage(pid, text, tags=()):
    return Passage(pid, f"{tags[0] if tags else 'static'}.txt", "Shared", "", 1, 1, 0,
                   len(text), text, tags=tuple(tags))


def marker(generation):
    texts = [f"Marker part {n} of release r{generation}." for n in range(M)]
    rng = np.random.default_rng(generation)
    vectors = rng.normal(size=(M, DIMENSION)).astype(np.float32)
    passages = [passage(f"marker-{generation}-{n}", t, ["marker"]) for n, t in enumerate(texts)]
    return passages, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def tokens(passages):
    return [p.text.lower().replace(".", "").split() for p in passages]


if role == "setup":
    statics = [passage(f"static-{n}", f"Static text number {n} about the park.") for n in range(30)]
    vectors = np.random.default_rng(0).normal(size=(30, DIMENSION)).astype(np.float32)
    passages, marked = marker(1)
    index.apply(1, statics + passages, np.vstack([vectors, marked]), tokens(statics + passages))
elif role == "writer":
    deadline = time.monotonic() + 60
    while len(list(folder.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # until both readers are reading
    for generation in range(2, updates + 2):
        passages, vectors = marker(generation)
        old = [f"marker-{generation - 1}-{n}" for n in range(M)]
        index.apply(generation, passages, vectors, tokens(passages), old)
        time.sleep(0.05)
    print(json.dumps({"generation": index.generation}))
else:
    seen, reads, problems = set(), 0, []
    query = np.ones(DIMENSION, dtype=np.float32) / np.sqrt(DIMENSION)

    def read(view):
        keyword, _ = view.search_keywords(["marker", "part"], 50)
        dense, _ = view.search_dense(query, 50, Filters(tags=("marker",)))
        return view.generation, view.passages(keyword), view.passages(dense)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        generation, by_keyword, by_vector = index.read(read)
        reads += 1
        (folder / f"ready-{role}").touch()
        seen.add(generation)
        for found in (by_keyword, by_vector):
            releases = sorted({p.text.split()[-1] for p in found})
            if len(found) != M or releases != [f"r{generation}."]:
                problems.append([generation, len(found), releases])
        if generation == updates + 1:
            break
    print(json.dumps({"reads": reads, "generations": sorted(seen), "problems": problems}))
"""


@pytest.mark.slow
def test_two_readers_and_a_writer_share_one_milvus_lite_server(tmp_path: Path):
    port = free_port()
    server = subprocess.Popen(
        [
            Path(sys.executable).with_name("milvus-lite"),
            "server",
            "--data-dir",
            str(tmp_path / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    script = tmp_path / "shared.py"
    script.write_text(SHARED, encoding="utf-8")
    updates = 8

    def run(role: str) -> subprocess.Popen:
        command = [sys.executable, str(script), uri, role, str(updates), str(tmp_path)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "milvus-lite server did not start"
                time.sleep(0.2)
        setup = run("setup")
        assert setup.wait(60) == 0, setup.stderr.read()
        processes = [run("reader-1"), run("reader-2"), run("writer")]
        results = []
        for process in processes:
            out, err = process.communicate(timeout=90)
            assert process.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        index = MilvusIndex(MilvusConfig(uri=uri, collection="shared"), "random-vectors", 8)
    finally:
        server.terminate()
        server.wait(10)
    with pytest.raises(IndexServerError, match=f"the Milvus index at {uri} failed"):
        index.search_keywords(["marker"], 5)
    *readers, writer = results
    assert writer == {"generation": updates + 1}
    for reader in readers:
        assert reader["problems"] == []
        assert reader["generations"][-1] == updates + 1
        assert len(reader["generations"]) >= 3 and reader["reads"] >= 10, reader


def test_sentence_vectors_and_a_long_manifest_come_back_whole_and_go_with_their_passages(
    corpus: Corpus, tmp_path: Path
):
    """Sentence vectors are stored in parts and shared by passages that embed the same texts;
    they go once no passage row names them. A manifest is stored in parts of whole characters."""
    index = open_index(str(tmp_path / "kb.db"), tolerance=1.0)
    first, second = list(corpus.indexed.values())[:2]
    many = np.random.default_rng(0).normal(size=(70, 384)).astype(np.float32)  # three parts
    manifest = json.dumps({"documents": "园区" * 40_000}, ensure_ascii=False)  # 240 kB
    arguments = corpus.copy().add([first, second])
    index.apply(1, *arguments, sentence_vectors=[many, many[:3]], manifest=manifest)
    view = index.view()
    digests = [sentence_digest(first), sentence_digest(second)]
    found = view.sentence_vectors(digests)
    np.testing.assert_array_equal(found[digests[0]], many)
    np.testing.assert_array_equal(found[digests[1]], many[:3])
    assert view.manifest() == manifest
    index.apply(2, [], np.zeros((0, 384)), [], removed=[first.id], manifest="{}")
    assert index.view().manifest() == "{}" and view.manifest() == manifest
    index.apply(3, [], np.zeros((0, 384)), [])  # rows retired at 2 are deleted after this flip
    assert set(index.view().sentence_vectors(digests[1:])) == {digests[1]}
    with pytest.raises(IndexBusyError):
        index.view().sentence_vectors(digests[:1])
    assert index.view().manifest() == "{}"
