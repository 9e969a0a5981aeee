from __future__ import annotations

from conftest import PARK_ARTICLE
from parkqa.cleaning import clean_lines, find_headings


def park_lines() -> list[str]:
    return PARK_ARTICLE.read_text(encoding="utf-8").rstrip().split("\n")


def test_headings_and_captions_of_the_park_article_are_found():
    assert sorted(find_headings(park_lines())) == [12, 14, 15, 55, 110, 157, 225, 226, 227]


def test_wrapped_lines_are_joined_and_mapped_back_to_their_lines():
    sections = clean_lines(park_lines())
    lead = sections[0]
    phrase = "就是投资3亿元在永川大数据产业园建设客户体验中心"
    start = lead.text.index(phrase)
    assert lead.heading == ""
    assert lead.lines[start] == 2 and lead.lines[start + len(phrase) - 1] == 3
    assert lead.text.startswith("4月8日，我市与阿里巴巴集团以视频连线方式举行“云签约”活动")
    assert lead.lines[0] == 1


def test_paragraph_broken_at_a_column_end_is_mended():
    text = "\n".join(section.text for section in clean_lines(park_lines()))
    assert "首先是出于企业发展需要。" in text
    assert "呼叫服务企业50多家" in text
    assert "努力塑造“西南智慧教育先导区”。" in text


def test_sections_carry_their_heading():
    headings = [section.heading for section in clean_lines(park_lines())]
    assert headings == [
        "",
        "阿里选择永川的三个原因",
        "从“呼叫”起步构建产业生态",
        "重庆“云谷”初露峥嵘",
        "抢抓机遇打造“智能智慧之城”",
    ]


def test_latin_words_get_a_space_and_hyphenated_words_are_rejoined():
    lines = [
        "Overview",
        "",
        "The park hosts call centres and inter-",
        "national data services for",
        "many firms.",
    ]
    sections = clean_lines(lines)
    assert sections[0].heading == "Overview"
    assert (
        sections[0].text
        == "The park hosts call centres and international data services for many firms."
    )


def test_known_headings_from_markup_are_kept():
    lines = ["政策", "第一条内容。", "第二条内容。"]
    sections = clean_lines(lines, frozenset({1}))
    assert sections[0].heading == "政策"
    assert sections[0].text == "第一条内容。第二条内容。"


def test_captions_after_the_last_paragraph_are_kept_as_text():
    last = clean_lines(park_lines())[-1]
    assert last.text.endswith(
        "\n2019年重庆市大数据产业人才联盟在永川成立\n永川大数据产业园 摄/陈科儒\n永川软件服务外包园"
    )
    assert last.lines[-1] == 227


TABLE = [
    "各企业情况如下。",
    "",
    "| 序号 | 企业名称 | 员工人数 | 办公地点 |",
    "|---|:---|---:|---|",
    "| 1 | 星河呼叫 | 1860 | 1号楼 |",
    "| 2 | 锐芯电子 | 420 |  |",
    "",
    "以上为2023年数据。",
]


def test_a_table_row_is_read_as_a_sentence_of_its_headers_and_cells():
    """A row of numbers means nothing without its header: each row is a sentence of
    header：cell pairs on the row's own line, so that it is cited by that line."""
    sections = clean_lines(TABLE)
    text = sections[0].text
    paragraphs = text.split("\n")
    assert paragraphs == [
        "各企业情况如下。",
        "企业名称：星河呼叫，员工人数：1860，办公地点：1号楼。",  # the row numbers say nothing
        "企业名称：锐芯电子，员工人数：420。",  # an empty cell is left out
        "以上为2023年数据。",
    ]
    row = paragraphs[2]
    at = text.index(row)
    assert set(sections[0].lines[at : at + len(row)]) == {6}


def test_a_table_in_english_reads_in_english_punctuation():
    lines = ["| Company | Staff |", "| --- | --- |", "| Xinghe Call | 1860 |"]
    assert clean_lines(lines)[0].text == "Company: Xinghe Call, Staff: 1860."


def test_lines_with_bars_but_no_header_rule_are_no_table():
    lines = ["a | b | c", "1 | 2 | 3"]
    assert "|" in clean_lines(lines)[0].text


def _texts(lines):
    return [p for section in clean_lines(lines) for p in section.text.split("\n")]


def test_a_table_of_one_column_or_no_rows_keeps_its_text():
    """A page laid out in a table of one cell, or a table of one row, is text, not a header."""
    assert _texts(["| 园区简介 永川园区成立于2015年。 |", "| --- |"]) == [
        "园区简介 永川园区成立于2015年。"
    ]
    layout = ["| 园区简介 |", "| --- |", "| 永川园区成立于2015年。 |", "| 现有企业120家。 |"]
    assert _texts(layout) == ["园区简介", "永川园区成立于2015年。", "现有企业120家。"]
    assert _texts(["| 联系电话 | 023-1234 |", "| --- | --- |"]) == ["联系电话，023-1234"]


def test_tables_that_touch_are_read_apart():
    lines = [
        "| 企业 | 员工 |",
        "| --- | --- |",
        "| 甲 | 4 |",
        "| 年份 | 收入 |",
        "| --- | --- |",
        "| 2023 | 5亿元 |",
    ]
    assert _texts(lines) == ["企业：甲，员工：4。", "年份：2023，收入：5亿元。"]


def test_a_rows_cells_are_kept_as_written():
    lines = [
        "| 楼栋 | 层数 | 备注 |",
        "| --- | --- | --- |",
        "| 1 | 1 | 新建，待验收 |",
        "| 2 | 2 |  | 另附 |",
    ]
    assert _texts(lines) == [
        "楼栋：1，层数：1，备注：新建、待验收。",  # numbers under a header of their own are kept
        "楼栋：2，层数：2，另附。",  # a cell beyond the header is kept, unlabelled
    ]
    assert _texts(["| | 企业 |", "|---|---|", "| 甲 | A栋 |"]) == ["甲，企业：A栋。"]
    assert _texts(["| 企业 | 投资 |", "|---|---|", "| 甲 | 1,860万元 |"]) == [
        "企业：甲，投资：1,860万元。"
    ]
