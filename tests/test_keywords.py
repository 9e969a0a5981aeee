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


def test_tokens_looked_up_together_have_the_frequencies_of_one_at_a_time():
    rng = random.Random(5)
    vocabulary = list("永川大数据产业园阿里百度投资")
    segments = [
        [[rng.choice(vocabulary) for _ in range(rng.randint(1, 20))] for _ in range(n)]
        for n in (20, 9)
    ]
    parts = [(Postings.build(segments[0]), 0), (Postings.build(segments[1]), 20)]
    live = np.array([i % 5 != 0 for i in range(29)])
    asked = [*vocabulary, "永川", "不在", "园"]
    apart = KeywordIndex(parts, live)
    expected = [apart.document_frequency(token) for token in asked]
    together = KeywordIndex(parts, live)
    together.prefetch(asked)
    assert [together.document_frequency(token) for token in asked] == expected
    assert expected[vocabulary.index("永")] > 0 and expected[-2] == 0


def test_tokens_are_found_by_hash_without_a_vocabulary():
    postings = Postings.build([tokenize("阿里巴巴投资3亿元"), tokenize("百度投资10亿元")])
    assert postings.tokens.dtype == np.uint64 and (np.diff(postings.tokens) > 0).all()
    (hashed,) = token_hashes(["百度"]).tolist()
    rows, tf = postings.posting(hashed)
    assert rows.tolist() == [1] and tf.tolist() == [1]
    assert len(postings.posting(int(token_hashes(["特斯拉"])[0]))[0]) == 0


def zipf_segments(seed: int, sizes=(700, 260, 480), vocabulary=400):
    """Segments of token lists whose tokens follow Zipf's law (a few in most passages, most
    in a few), some rows deleted: the shape of a large Chinese index's postings."""
    rng = np.random.default_rng(seed)
    tokens = [f"t{i}" for i in range(vocabulary)]
    weights = 1 / np.arange(1, vocabulary + 1)
    weights /= weights.sum()
    parts, live, documents, base = [], [], [], 0
    for size in sizes:
        segment = [
            list(rng.choice(tokens, size=int(rng.integers(3, 60)), p=weights)) for _ in range(size)
        ]
        parts.append((Postings.build(segment), base))
        live.extend(rng.random(size) > 0.1)
        documents.extend(segment)
        base += size
    return KeywordIndex(parts, np.array(live)), documents, tokens


def queries(tokens: list[str], rng: random.Random) -> list[list[str]]:
    """Mixed questions, and the corner cases: only common tokens, one rare token, a token
    no passage holds, repeated tokens."""
    found = [rng.sample(tokens[:40], 3) + rng.sample(tokens[40:], 2) for _ in range(12)]
    found += [rng.sample(tokens[:6], 3) for _ in range(4)]
    found += [[tokens[-1]], [tokens[150], "absent"], [tokens[0], tokens[0], tokens[90]]]
    return found


def test_top_equals_every_row_scored_on_zipf_corpora(monkeypatch):
    """top() reads common tokens' postings only at candidate rows, yet returns the rows of
    the best scores of all rows, with those scores; with a mask, the best masked rows."""
    rng = random.Random(5)
    dense, calls = [], 0
    for seed in range(4):
        index, _, tokens = zipf_segments(seed)
        accumulate = index._accumulate

        def counted(*args, accumulate=accumulate):
            dense.append(1)
            return accumulate(*args)

        monkeypatch.setattr(index, "_accumulate", counted)
        mask = np.random.default_rng(seed).random(index.rows) > 0.3
        for query in queries(tokens, rng):
            for width, allowed in ((1, None), (10, None), (50, None), (25, mask)):
                reference = index.scores(query, allowed)
                rows, scores = index.top(query, width, mask=allowed)
                calls += 1
                expected = np.sort(reference[reference > 0])[::-1][:width]
                assert len(rows) == len(expected) and len(set(rows.tolist())) == len(rows)
                np.testing.assert_allclose(scores, expected, rtol=1e-5)
                np.testing.assert_allclose(scores, reference[rows], rtol=1e-5)
                assert index.live[rows].all() and (allowed is None or allowed[rows].all())
                assert all(
                    a > b or (a == b and r < s)
                    for a, b, r, s in zip(scores, scores[1:], rows, rows[1:])
                )
    assert dense and calls - len(dense) >= 30, "both ways of reading postings were taken"


def test_scores_at_and_row_lookups_equal_brute_force():
    """scores_at, rows_with_all and rows_with_at_least look postings up at a few rows; they
    give what scoring every row and counting every live passage's tokens give."""
    rng = random.Random(9)
    index, documents, tokens = zipf_segments(3)
    live = index.live
    holds = [set(d) for d in documents]
    for query in queries(tokens, rng):
        reference = index.scores(query)
        rows = np.array([rng.randrange(index.rows) for _ in range(30)] + [0, 0, index.rows - 1])
        np.testing.assert_allclose(index.scores_at(query, rows), reference[rows], rtol=1e-5)
        assert not index.scores_at(query, np.flatnonzero(~live)).any()
        every = [r for r in range(index.rows) if live[r] and set(query) <= holds[r]]
        assert index.rows_with_all(query).tolist() == every
        distinct = list(dict.fromkeys(query))
        for least in (1, 2, len(distinct)):
            counts = np.array([len(set(distinct) & h) for h in holds])
            counts[~live] = 0
            wanted = np.flatnonzero(counts >= least) if least else np.arange(0)
            wanted = wanted[np.argsort(-counts[wanted], kind="stable")]
            if sum(index.document_frequency(t) > 0 for t in distinct) < least:
                wanted = wanted[:0]
            assert index.rows_with_at_least(query, least).tolist() == wanted.tolist()
        posting = index.posting(query[0])
        assert posting.rows.tolist() == [
            r for r in range(index.rows) if live[r] and query[0] in holds[r]
        ]
        assert posting.lengths.tolist() == [len(documents[r]) for r in posting.rows]


def test_merged_postings_equal_those_built_from_all_passages():
    """Segments' postings merged one after another are those of one segment built from all
    their passages: the same tokens, rows in order, term frequencies and lengths."""
    rng = random.Random(4)
    vocabulary = list("永川大数据产业园阿里百度投资政策呼叫电商人才公寓") + ["l4", "2020"]
    segments = [
        [[rng.choice(vocabulary) for _ in range(rng.randint(1, 20))] for _ in range(size)]
        for size in (13, 1, 30, 7)
    ]
    segments[1] = [["独有"]]  # a token only one segment holds
    merged = Postings.merge([Postings.build(documents) for documents in segments])
    whole = Postings.build([d for documents in segments for d in documents])
    for name, array in whole.arrays().items():
        np.testing.assert_array_equal(merged.arrays()[name], array, err_msg=name)
        assert merged.arrays()[name].dtype == array.dtype, name
