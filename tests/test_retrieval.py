"""Score fusion: weighted (normalised scores) and reciprocal-rank, by hand and against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from parkqa.config import RetrievalConfig
from parkqa.retrieval import fuse

WEIGHTED = RetrievalConfig(keyword_weight=0.3, dense_weight=0.7)
RRF = RetrievalConfig(keyword_weight=0.3, dense_weight=0.7, fusion="rrf", rrf_k=60)


def scores(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_weighted_fusion_by_hand() -> None:
    """BM25 divided by its best score, cosine rescaled from the lowest to the highest
    candidate, each times its own weight."""
    fused = fuse(scores(4.0, 2.0, 0.0), scores(0.8, 0.5, 0.6), WEIGHTED)
    # keyword part 1, 0.5, 0; dense part 1, 0, 1/3
    np.testing.assert_allclose(fused, [0.3 + 0.7, 0.15, 0.7 / 3], rtol=1e-6)


def test_weighted_fusion_weighs_each_retriever_by_its_own_weight() -> None:
    keyword_only = fuse(scores(2.0, 1.0), scores(0.5, 0.5), RetrievalConfig(dense_weight=0.0))
    np.testing.assert_allclose(keyword_only, [0.4, 0.2], rtol=1e-6)
    dense_only = fuse(scores(0.0, 0.0), scores(0.2, 0.6), RetrievalConfig(keyword_weight=0.0))
    np.testing.assert_allclose(dense_only, [0.0, 0.6], rtol=1e-6)


def test_weighted_fusion_of_degenerate_candidates() -> None:
    """No keyword match scores 0 for keywords; equally close candidates all get the full
    dense share; no candidates, nothing."""
    np.testing.assert_allclose(fuse(scores(0.0, 0.0), scores(0.4, 0.4), WEIGHTED), [0.7, 0.7])
    np.testing.assert_allclose(fuse(scores(3.0), scores(0.9), WEIGHTED), [1.0])
    assert len(fuse(scores(), scores(), WEIGHTED)) == 0


def test_weighted_fusion_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        keyword = (rng.random(n) * 12 * (rng.random(n) > 0.3)).astype(np.float32)
        dense = rng.uniform(-0.2, 0.95, n).astype(np.float32)
        weights = rng.random(2)
        config = RetrievalConfig(keyword_weight=float(weights[0]), dense_weight=float(weights[1]))
        expected = []
        for kw, d in zip(keyword, dense):
            k_part = kw / max(keyword) if max(keyword) > 0 else 0.0
            d_part = (d - min(dense)) / (max(dense) - min(dense)) if max(dense) > min(dense) else 1
            expected.append(weights[0] * k_part + weights[1] * d_part)
        np.testing.assert_allclose(fuse(keyword, dense, config), expected, rtol=1e-5, atol=1e-6)


def test_reciprocal_rank_fusion_by_hand() -> None:
    """Ranks count from 1: the best candidate of a retriever gets 1 / (rrf_k + 1)."""
    fused = fuse(scores(3.0, 1.0, 2.0), scores(0.1, 0.9, 0.5), RRF)
    expected = [
        0.3 / 61 + 0.7 / 63,  # keyword rank 1, dense rank 3
        0.3 / 63 + 0.7 / 61,  # keyword rank 3, dense rank 1
        0.3 / 62 + 0.7 / 62,
    ]
    np.testing.assert_allclose(fused, expected, rtol=1e-6)
    assert int(np.argmax(fused)) == 1


def test_reciprocal_rank_fusion_breaks_ties_by_candidate_order() -> None:
    fused = fuse(scores(1.0, 1.0), scores(0.5, 0.5), RetrievalConfig(fusion="rrf", rrf_k=10))
    np.testing.assert_allclose(fused, [0.4 / 11 + 0.6 / 11, 0.4 / 12 + 0.6 / 12], rtol=1e-6)


def test_reciprocal_rank_fusion_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        keyword = rng.permutation(n).astype(np.float32)
        dense = rng.permutation(n).astype(np.float32) / n
        k = int(rng.integers(1, 100))
        config = RetrievalConfig(keyword_weight=0.4, dense_weight=0.6, fusion="rrf", rrf_k=k)
        keyword_rank = {row: r for r, row in enumerate(sorted(range(n), key=lambda i: -keyword[i]))}
        dense_rank = {row: r for r, row in enumerate(sorted(range(n), key=lambda i: -dense[i]))}
        expected = [
            0.4 / (k + 1 + keyword_rank[i]) + 0.6 / (k + 1 + dense_rank[i]) for i in range(n)
        ]
        np.testing.assert_allclose(fuse(keyword, dense, config), expected, rtol=1e-5)


@pytest.mark.parametrize("config", [WEIGHTED, RRF])
def test_a_better_score_never_ranks_lower(config: RetrievalConfig) -> None:
    keyword = scores(5.0, 5.0, 1.0)
    dense = scores(0.9, 0.3, 0.3)
    fused = fuse(keyword, dense, config)
    assert fused[0] > fused[1] > fused[2]


def test_scoring_does_not_import_the_index_store() -> None:
    import subprocess
    import sys

    probe = "import sys, parkqa.retrieval; print('parkqa.store' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_search_scores_passages_held_in_memory(encoder) -> None:
    """Scoring needs passages, their keyword index, passage vectors, a filter's rows and sentence
    similarities, not an index folder: a plain object holding them is searched like a loaded
    index, filters included."""
    import dataclasses
    from dataclasses import dataclass
    from typing import Any

    from parkqa.cleaning import clean_lines
    from parkqa.indexing import keyword_tokens, passage_vectors
    from parkqa.keywords import KeywordIndex
    from parkqa.passages import Passage, make_passages
    from parkqa.questions import analyse
    from parkqa.retrieval import Filters, search
    from parkqa.vectors import VectorSet

    @dataclass
    class InMemory:
        passages: list[Passage]
        keywords: KeywordIndex
        vectors: Any
        sentences: list[np.ndarray]

        def passage(self, row: int) -> Passage:
            return self.passages[row]

        def allowed(self, filters: Filters) -> np.ndarray:
            return np.array([filters.allows(p) for p in self.passages])

        def sentence_similarities(self, row: int, query: np.ndarray) -> np.ndarray:
            return self.sentences[row] @ query

    texts = {
        "talent.txt": "人才公寓申请指南\n\n园区人才公寓共有2600余套，面向入驻企业员工开放申请。\n",
        "rent.txt": "软件企业房租减免\n\n对新落户的软件企业给予三年房租减免。\n",
        "bus.txt": "园区交通\n\n园区开通了三条通勤公交线路，连接高铁站和大学城。\n",
    }
    passages = [
        p
        for doc, text in texts.items()
        for p in make_passages(clean_lines(text.splitlines()), doc=doc, title=doc)
    ]
    sentences = [encoder.encode(p.sentence_embedding_texts()) for p in passages]
    config = RetrievalConfig()
    index = InMemory(
        passages=passages,
        keywords=KeywordIndex.build([keyword_tokens(p) for p in passages]),
        vectors=VectorSet(
            [(passage_vectors(np.concatenate(sentences), passages), 0, len(passages))],
            None,
            encoder.dimension,
        ),
        sentences=sentences,
    )
    question = "新落户的软件企业能减免几年房租？"
    vector = encoder.query([question])[0]
    hits = search(index, vector, analyse(question), config, k=3)
    assert hits[0].passage.doc == "rent.txt"
    assert hits[0].score > hits[1].score and hits[0].keyword > 0
    np.testing.assert_allclose(hits[0].similarities, sentences[hits[0].row] @ vector, rtol=1e-5)
    dated = [
        dataclasses.replace(p, date="2020" if p.doc == "bus.txt" else "2023") for p in passages
    ]
    index.passages = dated
    hits = search(index, vector, analyse(question), config, k=3, filters=Filters(date_to="2021"))
    assert [hit.passage.doc for hit in hits] == ["bus.txt"]


@pytest.mark.parametrize("config", [WEIGHTED, RRF], ids=["weighted", "rrf"])
def test_a_passage_holding_the_answer_kind_moves_up_but_not_from_last_to_first(
    park_kb, encoder, config
) -> None:
    """The bonus for holding the kind of answer asked for is a share of the fused scores'
    spread: with RRF, whose scores differ by thousandths, a fixed 0.3 put the last of the
    candidates first."""
    from parkqa.questions import analyse
    from parkqa.retrieval import search

    index = park_kb.index()
    asked = analyse("How many companies has the park brought in?")
    vector = encoder.query([asked.resolved])[0]
    plain = search(index, vector, asked, config, 20)
    last = plain[-1].passage.text
    boosted = search(index, vector, asked, config, 20, holds_answer=lambda text: text == last)
    rank = [hit.passage.text for hit in boosted].index(last)
    assert 0 < rank < len(plain) - 1
