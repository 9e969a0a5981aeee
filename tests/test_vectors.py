"""The FAISS vector index: every index type, with and without a filter, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from parkqa import Filters
from parkqa.config import RetrievalConfig
from parkqa.questions import analyse
from parkqa.retrieval import search
from parkqa.store import load_index
from parkqa.vectors import build_vector_index, search_vectors

KINDS = ("flat", "ivf", "hnsw")
DIMENSION = 32
COUNT = 3000


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return unit_vectors(np.random.default_rng(7), COUNT)


@pytest.mark.parametrize("kind", KINDS)
def test_unfiltered_search_finds_the_closest_vector(kind: str, vectors: np.ndarray) -> None:
    index = build_vector_index(vectors, DIMENSION, RetrievalConfig(vector_index=kind, ivf_lists=32))
    for row in (0, 1234, COUNT - 1):
        scores, rows = search_vectors(index, vectors[row], 5)
        assert len(rows) == 5 and rows[0] == row
        assert scores[0] == pytest.approx(1.0, abs=1e-5)
        assert list(scores) == sorted(scores, reverse=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("matching", [3, 5, 8, 40])
def test_filtered_search_returns_k_rows_whenever_k_rows_match(
    kind: str, matching: int, vectors: np.ndarray
) -> None:
    """An approximate index searched with a filter that few rows pass still returns
    min(k, matching) rows, all of them allowed; where the filter leaves at most k rows, they
    are exactly the allowed rows, best first."""
    index = build_vector_index(vectors, DIMENSION, RetrievalConfig(vector_index=kind, ivf_lists=32))
    rng = np.random.default_rng(matching)
    k = 5
    for query in unit_vectors(rng, 20):
        allowed = np.zeros(COUNT, dtype=bool)
        allowed[rng.choice(COUNT, matching, replace=False)] = True
        scores, rows = search_vectors(index, query, k, allowed)
        assert len(rows) == min(k, matching), (kind, matching)
        assert allowed[rows].all() and len(set(rows.tolist())) == len(rows)
        assert list(scores) == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, vectors[rows] @ query, atol=1e-5)
        if kind == "flat" or matching <= k:
            exact = np.flatnonzero(allowed)[np.argsort(-(vectors[allowed] @ query))][:k]
            assert rows.tolist() == exact.tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_filtered_search_of_an_index_read_back_from_disk(kind: str, vectors, tmp_path) -> None:
    """The search settings (IVF lists probed, HNSW breadth) survive the FAISS file."""
    import faiss

    config = RetrievalConfig(vector_index=kind, ivf_lists=32)
    faiss.write_index(build_vector_index(vectors, DIMENSION, config), str(tmp_path / "v.faiss"))
    index = faiss.read_index(str(tmp_path / "v.faiss"))
    allowed = np.zeros(COUNT, dtype=bool)
    allowed[[5, 500, 1500, 2500, 2999, 42]] = True
    _, rows = search_vectors(index, vectors[1500], 5, allowed)
    assert len(rows) == 5 and rows[0] == 1500 and allowed[rows].all()


# A document of its own tag, with passages on a subject the question does not share a word
# with: only the dense retriever can propose them.
NOTICE = "\n\n".join(
    f"第{n}条　软件企业第{n}年的房租减免比例为{10 * n}%，由区大数据发展局按季度审核后兑现。"
    "申请材料包括营业执照、租赁合同和纳税证明，逾期提交的不予受理。" * 4
    for n in range(1, 7)
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_search_with_a_filter_matching_few_passages_returns_k(kind: str, make_kb) -> None:
    kb = make_kb(
        {"notice.md": f"---\ntitle: 房租减免细则\ntags: [细则]\n---\n{NOTICE}\n"},
        config=f"retrieval:\n  vector_index: {kind}\n  ivf_lists: 4\n",
    )
    kb.update()
    index = load_index(kb.config.index_dir)
    (searcher, _, _), *_ = index.vectors.parts
    if kind == "flat":  # searched exactly over the memory-mapped vectors
        assert isinstance(searcher, np.ndarray)
    else:
        assert kind.upper() in type(searcher).__name__.upper()
    tagged = [p for p in index.passages if "细则" in p.tags]
    assert 5 <= len(tagged) <= len(index.passages) / 2
    question = analyse("阿里巴巴在永川投资了多少钱？")
    vector = kb.encoder.query([question.simplified])[0]
    hits = search(index, vector, question, kb.config.retrieval, 5, Filters(tags=("细则",)))
    assert len(hits) == 5
    assert all("细则" in hit.passage.tags for hit in hits)
    everything = search(index, vector, question, kb.config.retrieval, 5)
    assert len(everything) == 5 and "3亿元" in everything[0].passage.text


def test_inverted_lists_find_the_closest_vector_and_honour_filters(vectors: np.ndarray) -> None:
    """Inverted lists over the stored vectors: the nearest vector is found unfiltered, and a
    filter that few rows pass still gives min(k, matching) allowed rows, best first."""
    from parkqa.vectors import ListIndex

    index = ListIndex.from_arrays({**ListIndex.build(vectors), "vectors": vectors})
    assert len(index.centroids) >= 16 and len(index) == COUNT
    for row in (0, 1234, COUNT - 1):
        scores, rows = index.search(vectors[row], 5)
        assert rows[0] == row and scores[0] == pytest.approx(1.0, abs=1e-2)
    rng = np.random.default_rng(3)
    for matching in (3, 5, 40):
        for query in unit_vectors(rng, 10):
            allowed = np.zeros(COUNT, dtype=bool)
            allowed[rng.choice(COUNT, matching, replace=False)] = True
            _, rows = index.search(query, 5, allowed)
            assert len(rows) == min(5, matching) and allowed[rows].all()


@pytest.mark.slow
def test_the_vector_search_follows_the_segment_size(make_kb) -> None:
    """auto: a segment below exact_below passages is scanned exactly; one at or above it is
    searched through inverted lists, with the same answers and filters."""
    kb = make_kb(
        {"notice.md": f"---\ntitle: 房租减免细则\ntags: [细则]\n---\n{NOTICE}\n"},
        config="retrieval:\n  exact_below: 10\n",
    )
    kb.update()
    index = load_index(kb.config.index_dir)
    (searcher, _, rows), *_ = index.vectors.parts
    assert rows >= 10 and type(searcher).__name__ == "ListIndex"
    question = analyse("阿里巴巴在永川投资了多少钱？")
    vector = kb.encoder.query([question.simplified])[0]
    hits = search(index, vector, question, kb.config.retrieval, 5, Filters(tags=("细则",)))
    assert len(hits) == 5 and all("细则" in hit.passage.tags for hit in hits)
    assert "3亿元" in kb.ask("阿里巴巴在永川投资了多少钱？").answer

    (kb.config.knowledge_dir / "room.txt").write_text("会议室预订\n\n园区会议室需提前一天预订。\n")
    kb.update()
    small = load_index(kb.config.index_dir).vectors.parts[-1]
    assert small[2] == 1 and isinstance(small[0], np.ndarray)
