"""Citations: numbering, order, limit, and the spans and lines of the answering sentences."""

from __future__ import annotations

from conftest import make_hit, make_passage
from parkqa.citations import cite

FIRST = make_passage("园区新建厂房两座。厂房面积共1万平方米。年底交付使用。", first_line=10)
SECOND = make_passage("阿里巴巴投资3亿元。", doc="knowledge/alibaba.md", first_line=3)
THIRD = make_passage("百度投资10亿元。项目明年开工。", doc="knowledge/baidu.md", first_line=20)
FOURTH = make_passage("园区有五家银行。", first_line=40)
HITS = [
    make_hit(FIRST, score=0.9),
    make_hit(SECOND, score=0.8),
    make_hit(THIRD, score=0.7),
    make_hit(FOURTH, score=0.6),
]


def test_passages_answering_come_first_in_order_of_first_use() -> None:
    citations = cite(HITS, {2: [0], 0: [1]})
    assert [c.n for c in citations] == [1, 2, 3, 4]
    assert [c.passage_id for c in citations] == [
        THIRD.id,
        FIRST.id,
        SECOND.id,
        FOURTH.id,
    ]
    assert [c.score for c in citations] == [0.7, 0.9, 0.8, 0.6]


def test_each_citation_carries_its_passage_and_highlights_its_sentences() -> None:
    first, *_ = cite(HITS, {0: [2, 1]})
    assert (first.doc, first.title, first.section) == ("knowledge/news.txt", "园区动态", "")
    assert first.lines == (10, 12) and first.text == FIRST.text
    assert [first.text[start:end] for start, end in first.highlights] == [
        "厂房面积共1万平方米。",
        "年底交付使用。",
    ]
    assert first.highlight_lines == ((11, 11), (12, 12))


def test_a_passage_cited_without_an_answer_sentence_has_no_highlights() -> None:
    citations = cite(HITS, {1: [0]})
    assert citations[0].highlights == ((0, 10),) and citations[0].highlight_lines == ((3, 3),)
    assert all(c.highlights == () and c.highlight_lines == () for c in citations[1:])


def test_the_limit_counts_citations_but_keeps_every_answering_passage() -> None:
    assert len(cite(HITS, {}, limit=2)) == 2
    assert [c.passage_id for c in cite(HITS, {0: [0]}, limit=2)] == [FIRST.id, SECOND.id]
    kept = cite(HITS, {3: [0], 1: [0], 2: [1]}, limit=1)
    assert [c.passage_id for c in kept] == [FOURTH.id, SECOND.id, THIRD.id]
    assert [c.n for c in kept] == [1, 2, 3]
    assert len(cite(HITS, {0: [0]})) == len(HITS)


def test_related_reading_is_numbered_in_rank_order() -> None:
    related = cite(HITS[:3], {})
    assert [(c.n, c.passage_id) for c in related] == [(1, FIRST.id), (2, SECOND.id), (3, THIRD.id)]
    assert cite([], {}) == ()
