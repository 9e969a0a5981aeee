from __future__ import annotations

import math
import random

import numpy as np

from parkqa.keywords import KeywordIndex, tokenize


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


def test_round_trip_through_arrays_and_mask():
    index = KeywordIndex.build([tokenize("阿里巴巴投资3亿元"), tokenize("百度投资10亿元")])
    copy = KeywordIndex.from_arrays(index.meta(), index.arrays())
    np.testing.assert_array_equal(copy.scores(tokenize("百度")), index.scores(tokenize("百度")))
    masked = index.scores(tokenize("投资"), mask=np.array([True, False]))
    assert masked[0] > 0 and masked[1] == 0


def test_an_updated_index_equals_one_built_from_scratch():
    rng = random.Random(11)
    vocabulary = list("永川大数据产业园阿里百度投资政策呼叫电商人才公寓")
    old = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 25))] for _ in range(30)]
    new = [[rng.choice(vocabulary) + "新" for _ in range(rng.randint(1, 25))] for _ in range(7)]
    kept = [i for i in range(30) if i % 4]  # drop every fourth passage
    final = [old[i] for i in kept] + new
    order = list(range(len(final)))
    rng.shuffle(order)  # final rows in another order, as passages sorted by document are
    final = [final[i] for i in order]
    position = {source: row for row, source in enumerate(order)}
    new_row_of_old = np.full(30, -1)
    for slot, i in enumerate(kept):
        new_row_of_old[i] = position[slot]
    rows = np.array([position[len(kept) + j] for j in range(len(new))])
    updated = KeywordIndex.build(old).updated(new_row_of_old, new, rows, len(final))
    rebuilt = KeywordIndex.build(final)
    assert updated.count == rebuilt.count and set(updated.vocabulary) == set(rebuilt.vocabulary)
    for _ in range(10):
        query = [rng.choice(vocabulary) for _ in range(2)] + [rng.choice(vocabulary) + "新"]
        np.testing.assert_allclose(updated.scores(query), rebuilt.scores(query), rtol=1e-5)
        np.testing.assert_allclose(updated.scores(query), brute_force_bm25(query, final), rtol=1e-5)
