from __future__ import annotations

from itertools import pairwise

from conftest import PARK_ARTICLE
from parkqa.cleaning import Section, clean_lines
from parkqa.passages import make_passages, split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_split_on_chinese_and_latin_end_punctuation_but_not_in_numbers():
    text = "营业收入244.7亿元。你好吗？很好！一是人才；二是设施. Next one. 结束"
    assert sentences(text) == [
        "营业收入244.7亿元。",
        "你好吗？",
        "很好！",
        "一是人才；",
        "二是设施.",
        "Next one.",
        "结束",
    ]


def test_a_list_item_is_one_sentence_without_its_number_or_bullet():
    text = "1. 租金标准为每月10元。\n2. 两年免收租金。\n  3. Rent is free.\nb. 只租不售。\n- 高铁：约30分钟。\n第3. 项"
    assert sentences(text) == [
        "租金标准为每月10元。",
        "两年免收租金。",
        "Rent is free.",
        "只租不售。",
        "高铁：约30分钟。",
        "第3.",
        "项",
    ]
    # A capital and a point opening a line are an initial, kept: A. Smith.
    assert sentences("A. Smith said the park is big.\nB) 第二项") == [
        "A. Smith said the park is big.",
        "第二项",
    ]


def test_closing_quotes_stay_with_their_sentence():
    assert sentences("“现代服务业是城市发展的加速器！”邓文说。") == [
        "“现代服务业是城市发展的加速器！”",
        "邓文说。",
    ]


def park_passages(max_chars: int = 300, overlap: int = 1):
    lines = PARK_ARTICLE.read_text(encoding="utf-8").rstrip().split("\n")
    return make_passages(clean_lines(lines), "knowledge/park.txt", "永川", max_chars, overlap)


def test_passages_respect_the_size_and_overlap():
    passages = park_passages()
    assert all(len(p.text) <= 300 for p in passages)
    for before, after in pairwise(passages):
        if before.section == after.section:
            last = before.sentence_text(before.sentences[-1])
            assert after.text.startswith(last)


def test_passage_records_its_line_span_and_the_sentence_spans():
    first = park_passages()[0]
    assert (first.line_start, first.line_end) == (1, 10)
    sentence = first.sentences[0]
    assert first.sentence_text(sentence).endswith(
        "就是投资3亿元在永川大数据产业园建设客户体验中心。"
    )
    assert (sentence.line_start, sentence.line_end) == (1, 3)


def test_ids_are_stable_content_hashes():
    a, b = park_passages(), park_passages()
    assert [p.id for p in a] == [p.id for p in b]
    assert len({p.id for p in a}) == len(a)


def test_long_sentence_is_cut_at_commas():
    text = "，".join(["永川大数据产业园持续引进企业"] * 40) + "。"
    section = Section("", text, tuple([1] * len(text)))
    passages = make_passages([section], "d.txt", "t", max_chars=100, overlap_sentences=0)
    assert len(passages) > 1 and all(len(p.text) <= 100 for p in passages)
    assert "".join(p.text for p in passages) == text


def test_embedding_text_carries_title_and_section():
    passage = park_passages()[1]
    texts = passage.sentence_embedding_texts()
    assert len(texts) == len(passage.sentences)
    assert all(t.startswith("永川 / 阿里选择永川的三个原因\n") for t in texts)


def test_a_plain_text_article_is_titled_by_its_headline_not_its_dateline(tmp_path):
    # A news article of plain text: headline, dateline, body. The dateline heads the first
    # section with text, and was taken for the title.
    from parkqa.indexing import document_passages

    path = tmp_path / "news.txt"
    path.write_text(
        "云启智算人工智能计算中心落户产业园\n\n2021年6月18日　区融媒体中心\n\n"
        "6月17日，云启智算科技有限公司与产业园管委会正式签约，总投资8.6亿元建设计算中心。\n",
        encoding="utf-8",
    )
    _, passages = document_passages(path, "knowledge/news.txt")
    assert passages[0].title == "云启智算人工智能计算中心落户产业园"
