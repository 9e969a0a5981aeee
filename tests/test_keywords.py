from __future__ import annotations

import math
import random

import numpy as np

from parkqa.keywords import KeywordIndex, Postings, token_hashes, tokenize


def test_tokens_for_chinese_latin_and_numbers():
    assert tokenize("Ｌ4级 244.7亿元") == ["l4", "级", "244.7", "亿", "元", "亿元"]
    tokens = tokenize("永川投资 Baidu invests 10亿元")
    assert {"永川", "川投", "投资", "永", "baidu", "invests", "10", "亿元"} <= set(tokens)
    assert "the" not in tokenize("the park")


def brute_force_bm25(query: list[str], documents: list[list[str]], k1=1.2, b=0.75) -> list[float]:
    n = len(documents)
    average = sum(map(len, documents)) / n
    scores = []
    for document in documents:
        score = 0.0
        for token in set(query):
            df = sum(token in d for d in documents)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = document.count(token)
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(document) / average))
        scores.append(score)
    return scores


def test_bm25_matches_brute_force():
    rng = random.Random(7)
    vocabulary = list("永川大数据产业园阿里百度投资政策呼叫电商")
    documents = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 30))] for _ in range(40)]
    index = KeywordIndex.build(documents)
    for _ in range(10):
        query = [rng.choice(vocabulary) for _ in range(3)] + ["不在"]
        np.testing.assert_allclose(
            index.scores(query), brute_force_bm25(query, documents), rtol=1e-5
        )


def test_top_rows_and_scores_at_agree_with_brute_force():
    """The keyword candidates are the best-scoring rows, best first, with exact scores; rows
    scored on their own get the same scores; a mask keeps its rows out."""
    rng = random.Random(3)
    vocabulary = list("永川大数据产业园阿里百度投资政策呼叫电商")
    documents = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 30))] for _ in range(60)]
    index = KeywordIndex.build(documents)
    for _ in range(10):
        query = [rng.choice(vocabulary) for _ in range(3)]
        expected = np.array(brute_force_bm25(query, documents))
        rows, scores = index.top(query, 7)
        assert len(rows) == 7 and list(scores) == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, expected[rows], rtol=1e-5)
        assert scores[-1] >= np.sort(expected)[-7] - 1e-5
        others = np.array([0, 5, 59])
        np.testing.assert_allclose(index.scores_at(query, others), expected[others], rtol=1e-5)
        mask = np.arange(60) % 2 == 0
        masked_rows, _ = index.top(query, 7, mask=mask)
        assert mask[masked_rows].all()


def test_round_trip_through_arrays_and_mask():
    index = KeywordIndex.build([tokenize("阿里巴巴投资3亿元"), tokenize("百度投资10亿元")])
    ((postings, base),) = index.parts
    copy = KeywordIndex([(Postings.from_arrays(postings.arrays()), base)])
    np.testing.assert_array_equal(copy.scores(tokenize("百度")), index.scores(tokenize("百度")))
    masked = index.scores(tokenize("投资"), mask=np.array([True, False]))
    assert masked[0] > 0 and masked[1] == 0


def test_segments_with_deleted_rows_score_as_one_index_built_from_scratch():
    """Postings in several segments, some rows deleted: document frequencies, the corpus size
    and the average length are those of the live passages, so every score is exact."""
    rng = random.Random(11)
    vocabulary = list("永川大数据产业园阿里百度投资政策呼叫电商人才公寓")
    segments = [
        [[rng.choice(vocabulary) for _ in range(rng.randint(1, 25))] for _ in range(size)]
        for size in (30, 7, 12)
    ]
    deleted = [{i for i in range(30) if i % 4 == 0}, {2}, set(range(0, 12, 3))]
    parts, base, live = [], 0, []
    for documents, gone in zip(segments, deleted):
        parts.append((Postings.build(documents), base))
        live.extend(i not in gone for i in range(len(documents)))
        base += len(documents)
    index = KeywordIndex(parts, np.array(live))
    final = [
        d
        for documents, gone in zip(segments, deleted)
        for i, d in enumerate(documents)
        if i not in gone
    ]
    rebuilt = KeywordIndex.build(final)
    assert index.count == rebuilt.count == len(final)
    assert index.total_length == rebuilt.total_length
    for token in vocabulary:
        assert index.token_idf(token) == rebuilt.token_idf(token)
    for _ in range(10):
        query = [rng.choice(vocabulary) for _ in range(3)]
        scores = index.scores(query)
        assert not scores[~np.array(live)].any()
        np.testing.assert_allclose(scores[np.array(live)], rebuilt.scores(query), rtol=1e-6)
        np.testing.assert_allclose(rebuilt.scores(query), brute_force_bm25(query, final), rtol=1e-5)
        some = np.array(rng.sample(range(index.rows), 15) + [0, index.rows - 1])
        np.testing.assert_allclose(index.scores_at(query, some), scores[some], rtol=1e-6)
    assert set(index.rows_with_all(["永", "川"]).tolist()) <= set(np.flatnonzero(live).tolist())


def test_tokens_are_found_by_hash_without_a_vocabulary():
    postings = Postings.build([tokenize("阿里巴巴投资3亿元"), tokenize("百度投资10亿元")])
    assert postings.tokens.dtype == np.uint64 and (np.diff(postings.tokens) > 0).all()
    (hashed,) = token_hashes(["百度"]).tolist()
    rows, tf = postings.posting(hashed)
    assert rows.tolist() == [1] and tf.tolist() == [1]
    assert len(postings.posting(int(token_hashes(["特斯拉"])[0]))[0]) == 0
