"""Spoken questions find the documents' written words."""

from __future__ import annotations

from pathlib import Path

from parkqa.colloquial import SPOKEN_TO_WRITTEN, with_written_words
from parkqa.config import load_config
from parkqa.questions import analyse


def written(kb, question):
    index = kb.index()
    return with_written_words(analyse(question), index.keywords, index.passage_text).written


def test_spoken_words_add_the_written_words_the_knowledge_base_holds(park_kb):
    index = park_kb.index()
    asked = with_written_words(
        analyse("园区里有多少人在上班？"), index.keywords, index.passage_text
    )
    assert "从业人员" in asked.written
    assert "从业人员" in asked.keyword_text
    # 利润 is a written word for 赚钱, but the park article never says it.
    assert "利润" in SPOKEN_TO_WRITTEN["赚钱"]
    assert "利润" not in written(park_kb, "园区赚钱吗？")
    # 看了几个 is said as 看/了/几个.
    assert "考察" in written(park_kb, "阿里在重庆看了几个地方？")
    # Written words are never added for formal ones: 住房公积金 is no apartment.
    assert written(park_kb, "住房公积金缴存比例是多少？") == ()
    # A company's 员工 counted in total is what reports call 从业人员.
    assert "从业人员" in written(park_kb, "园区的员工总数大概是多少？")


def test_a_spoken_word_counts_only_as_whole_words_of_the_question(park_kb):
    # 盖了 (built) is inside 覆盖了 (covered): no 建设 for a question about coverage.
    assert "建设" in written(park_kb, "园区盖了多少楼？")
    assert written(park_kb, "业务覆盖了多少个国家？") == ()


def test_a_question_in_written_words_or_in_english_is_left_as_it_is(park_kb):
    index = park_kb.index()
    for question in ("园区的从业人员有多少？", "How many people work in the park?"):
        asked = analyse(question)
        assert with_written_words(asked, index.keywords, index.passage_text) is asked


def test_a_spoken_question_is_answered_from_the_written_passage(repo_park_kb):
    # Before, 挣钱 found passages on prices (每月租金300元) and no passage on 营业收入.
    answer = repo_park_kb.ask("园区2019年一共挣了多少钱？")
    assert not answer.abstained
    assert answer.answer.startswith("244.7亿元")


NATURAL = Path(__file__).resolve().parent / "data" / "natural" / "knowledge"


def test_how_long_a_rule_holds_and_its_first_years_asked_in_spoken_words(make_kb):
    """管几年 asks how long a rule is in force (有效期), 头两年 its first and second year;
    the rent policy says both in written words (asked with the park's own threshold)."""
    threshold = load_config(NATURAL.parents[3] / "parkqa.yaml").answer.abstain_below
    kb = make_kb(
        {path.name: path.read_text(encoding="utf-8") for path in NATURAL.iterdir()},
        config=f"answer:\n  abstain_below: {threshold}\n",
    )
    kb.update()
    assert "有效期3年" in kb.ask("这个房租补贴办法管几年？").answer
    assert "全额补贴" in kb.ask("新来的企业头两年房租要自己出吗？").answer


def test_taking_a_taxi_said_as_da_di_is_a_taxi(make_kb):
    # 「去园区打的要多少钱？」 was answered with the office rent, 28元.
    kb = make_kb({"guide.md": "# 交通\n\n永川东站到园区约12公里，乘出租车约20分钟。\n"})
    kb.update()
    assert "出租车" in written(kb, "去园区打的要多久？")


def test_asked_when_in_spoken_words_the_date_is_looked_for_not_the_word_time(make_kb):
    """啥时候 asks a date, as 什么时候 does; read as 时间 as well, it made passages that say
    时间 (申报时间, 办公时间) outrank the one that says when the 回执 is due."""
    kb = make_kb(
        {
            "fair.md": "# 招聘会通知\n\n参会企业请于10月8日17:00前登录服务平台填写参会回执。\n",
            "policy.md": (
                "# 补贴办法\n\n申报时间为每年6月1日至6月30日，逾期不予受理。\n\n"
                "# 服务中心\n\n服务中心办公时间为周一至周五，企业可到现场办理。\n"
            ),
        }
    )
    kb.update()
    assert "时间" not in written(kb, "企业最晚啥时候要交回执？")
    assert kb.ask("企业最晚啥时候要交回执？").answer.startswith("10月8日")
