from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from parkqa import cli
from parkqa.citations import Answer
from parkqa.evaluation import (
    EvalFileError,
    EvalQuestion,
    QuestionResult,
    _contains,
    evaluate,
    first_sentence,
    load_questions,
    score,
    summarize,
)

ALIBABA = "阿里巴巴在永川投资了多少钱？"

QUESTIONS = f"""\
- question: {ALIBABA}
  answers: [3亿元]
  kind: direct
- question: 阿里巴巴在永川投資了多少錢？
  answers: [3亿元]
  kind: traditional
- question: 阿里巴巴在永川投资了多少钱？
  answers: [3億元]   # expected answer written in Traditional
  kind: traditional
- question: 那百度呢？
  answers: [10亿元]
  kind: follow-up
  history: [{ALIBABA}]
- question: 特斯拉在永川投资了多少钱？
  answers: []
  kind: unanswerable
"""


@pytest.fixture
def question_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.yaml"
    path.write_text(QUESTIONS, encoding="utf-8")
    return path


def test_kind_and_history_are_read(question_file):
    questions = load_questions(question_file)
    assert [q.kind for q in questions] == [
        "direct",
        "traditional",
        "traditional",
        "follow-up",
        "unanswerable",
    ]
    assert questions[3] == EvalQuestion("那百度呢？", ("10亿元",), "follow-up", (ALIBABA,))
    assert questions[0].history == () and questions[4].answers == ()


def test_questions_without_kind_or_history_still_load(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": ALIBABA, "answer": "3亿元"}) + "\n", encoding="utf-8")
    assert load_questions(path) == [EvalQuestion(ALIBABA, ("3亿元",))]


def test_unquoted_dates_in_a_question_file_are_read_as_text(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text(
        "- question: 哪天开园？\n  answers: [2020-02-30, 2020-04-08]\n", encoding="utf-8"
    )
    assert load_questions(path) == [EvalQuestion("哪天开园？", ("2020-02-30", "2020-04-08"))]


def test_a_question_file_of_the_wrong_shape_is_refused_in_one_line(tmp_path):
    path = tmp_path / "q.json"
    path.write_text('{"data": [{"paragraphs": [{"qas": 3}]}]}', encoding="utf-8")
    with pytest.raises(EvalFileError, match="SQuAD"):
        load_questions(path)


def test_a_bad_history_is_refused_by_name(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("- question: 那百度呢？\n  answers: []\n  history: {a: 1}\n", encoding="utf-8")
    with pytest.raises(EvalFileError, match="entry 1: 'history'"):
        load_questions(path)


def test_answers_match_across_scripts_and_widths():
    assert _contains("3億元。就是投資3億元建設客戶體驗中心。", ("3亿元",))
    assert _contains("就是投资3亿元建设客户体验中心。", ("投資3億元",))
    assert _contains("ＬＯＧＯ 3 亿元", ("logo3亿元",))
    assert not _contains("就是投资3亿元。", ("10億元",))
    assert not _contains("", ("3亿元",))
    assert _contains("5,000 seats.", ("5000",))
    assert _contains("1,200,000 yuan", ("1200000",)) and not _contains("1,20", ("120",))
    # A Chinese comma between numbers is a clause break, not a digit group.
    assert not _contains("企业330，200家", ("330200",)) and not _contains("1,2345", ("12345",))


def test_evaluate_asks_with_the_history():
    asked = []

    def ask(question, history):
        asked.append((question, history))
        return Answer(question, "10亿元。", abstained=False, seconds=0.002)

    questions = [
        EvalQuestion(ALIBABA, ("3亿元",)),
        EvalQuestion("那百度呢？", ("10亿元",), "follow-up", (ALIBABA,)),
    ]
    report = evaluate(questions, ask)
    assert asked == [(ALIBABA, ()), ("那百度呢？", (ALIBABA,))]
    assert [r.outcome for r in report.results] == ["wrong", "ok"]
    assert report.by_kind["follow-up"].answer_hit == 1.0
    assert report.by_kind["(no kind)"].answer_hit == 0.0


def _result(answers, abstained, hit=False, ms=1.0, kind=""):
    item = EvalQuestion("q", tuple(answers), kind)
    return QuestionResult(item, "", abstained, hit, hit, hit, ms)


def test_summarize_counts_refusals_and_abstentions():
    results = [
        _result(["a"], abstained=False, hit=True, ms=10),
        _result(["a"], abstained=False, hit=False, ms=20),
        _result(["a"], abstained=True, ms=30),  # answerable, refused
        _result([], abstained=True, ms=40),  # right to abstain
        _result([], abstained=False, ms=50),  # should have abstained
    ]
    scores = summarize(results)
    assert (scores.questions, scores.answerable, scores.abstained) == (5, 3, 2)
    assert scores.answer_hit == pytest.approx(1 / 3) and scores.refused == pytest.approx(1 / 3)
    assert scores.abstention_precision == 0.5 and scores.abstention_recall == 0.5
    assert scores.mean_ms == 30 and scores.p95_ms == 50
    assert [r.outcome for r in results] == ["ok", "wrong", "refused", "ok", "wrong"]
    only_unanswerable = summarize(results[3:])
    assert math.isnan(only_unanswerable.answer_hit) and math.isnan(only_unanswerable.refused)


def test_figures_per_kind_on_the_park_article(park_kb, question_file):
    report = evaluate(
        load_questions(question_file), lambda q, history: park_kb.ask(q, history, k=5)
    )
    assert list(report.by_kind) == ["direct", "traditional", "follow-up", "unanswerable"]
    traditional = report.by_kind["traditional"]
    assert (traditional.questions, traditional.answerable) == (2, 2)
    assert traditional.answer_hit == 1.0 and traditional.top1 == 1.0
    assert report.by_kind["direct"].answer_hit == 1.0
    assert report.by_kind["follow-up"].answer_hit == 1.0, report.results[3].answer
    unanswerable = report.by_kind["unanswerable"]
    assert unanswerable.abstention_recall == 1.0 and math.isnan(unanswerable.answer_hit)
    assert report.questions == 5 and report.answerable == 4
    assert report.answer_hit == 1.0 and report.refused == 0.0
    assert report.abstention_precision == 1.0 and report.abstention_recall == 1.0
    assert 0 < report.mean_ms <= report.p95_ms


def test_eval_command_prints_a_table_per_kind(capsys, monkeypatch, encoder, park_kb, question_file):
    monkeypatch.setattr("parkqa.knowledge_base.make_encoder", lambda config: encoder)
    config = str(park_kb.config.root / "parkqa.yaml")

    assert cli.main(["--config", config, "eval", str(question_file)]) == 0
    out = capsys.readouterr().out
    assert "answerable but refused" in out and "per kind" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[-5:]}
    assert rows["kind"][:5] == ["kind", "questions", "answerable", "answer", "acc"]
    assert rows["traditional"][1:4] == ["2", "2", "1.000"]
    assert rows["unanswerable"][1:3] == ["1", "0"]

    assert cli.main(["--config", config, "eval", str(question_file), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["answer_hit"] == 1.0 and scores["refused"] == 0.0
    assert scores["by_kind"]["follow-up"]["answer_hit"] == 1.0
    assert scores["by_kind"]["unanswerable"]["answer_hit"] is None


def test_eval_without_kinds_prints_no_kind_table(capsys, monkeypatch, encoder, park_kb, tmp_path):
    monkeypatch.setattr("parkqa.knowledge_base.make_encoder", lambda config: encoder)
    path = tmp_path / "q.yaml"
    path.write_text(f"- question: {ALIBABA}\n  answers: [3亿元]\n", encoding="utf-8")
    config = str(park_kb.config.root / "parkqa.yaml")
    assert cli.main(["--config", config, "eval", str(path)]) == 0
    out = capsys.readouterr().out
    assert "answer in the answer text" in out and "per kind" not in out


def test_an_answer_that_says_the_asked_period_is_not_covered_counts_as_declining():
    declined = Answer(
        question="q", answer="文中没有2015年的数据：……", abstained=False, missing_terms=("2015",)
    )
    assert score(EvalQuestion("q", (), "unanswerable"), declined).outcome == "ok"
    assert score(EvalQuestion("q", ("3亿元",), "direct"), declined).outcome == "refused"


def test_a_year_the_documents_do_not_cover_is_named_not_answered(park_kb):
    answer = park_kb.ask("2017年呼叫服务企业完成的营业额是多少？")
    assert not answer.abstained
    assert answer.answer.startswith("文中没有2017年的数据，只有2019年的数据")
    assert answer.missing_terms == ("2017",)


def test_a_year_the_answer_sentence_does_not_state_is_named_not_answered(park_kb):
    # 2018 is in the article (2018年开始举办的智博会), but the projects signed are 2019's: the
    # 83 projects were stated as 2018's.
    answer = park_kb.ask("永川大数据产业园2018年签约了多少个项目？")
    assert not answer.abstained
    assert answer.answer.startswith("文中没有2018年的数据，只有2019年的数据"), answer.answer
    assert answer.missing_terms == ("2018",)
    stated = park_kb.ask("永川大数据产业园2019年签约了多少个项目？")
    assert stated.answer.startswith("83个项目。") and stated.missing_terms == ()


def test_an_abbreviation_does_not_end_the_first_sentence():
    answer = "Mr. Deng Wen, Dr. Li and No. 3 hall. 邓文表示…… [1]"
    assert first_sentence(answer) == "Mr. Deng Wen, Dr. Li and No. 3 hall"


def test_the_fact_counts_as_leading_only_in_the_answer_s_first_sentence():
    # in Chinese form, or for an English question in English form too
    sentence = "中心将为20亿消费者、1000万户商家提供服务。 [1]"
    item = EvalQuestion("中心要服务多少商家？", ("1000万户",))
    led = score(item, Answer("q", f"1000万户。 {sentence}", abstained=False))
    assert led.answer_hit and led.lead_hit
    other = score(item, Answer("q", f"20亿。 {sentence}", abstained=False))
    assert other.answer_hit and not other.lead_hit
    english = score(item, Answer("q", f"10 million households. {sentence}", abstained=False))
    assert not english.lead_hit
    no_lead = score(EvalQuestion("q", ("20亿消费者",)), Answer("q", sentence, abstained=False))
    assert no_lead.lead_hit
    assert summarize([led, other]).lead_hit == 0.5
    # An English question's answer leads with the fact in English form (330 companies); the
    # expected string is the Chinese one the cited sentence holds.
    sentence = "园区已聚集企业330家，从业人员1.4万人。 [1]"
    asked = EvalQuestion("How many companies are in the park?", ("330家",))
    led = score(asked, Answer("q", f"330 companies. {sentence}", abstained=False))
    assert led.answer_hit and led.lead_hit
    other = score(asked, Answer("q", f"14,000 people. {sentence}", abstained=False))
    assert other.answer_hit and not other.lead_hit


def test_a_quarter_or_season_the_documents_do_not_cover_is_named_not_answered(park_kb, make_kb):
    # The article covers 今年一季度; a question about the second quarter got the first's figure.
    answer = park_kb.ask("园区今年第二季度签约了多少个项目？")
    assert answer.answer.startswith("文中没有第二季度的数据"), answer.answer
    assert answer.missing_terms == ("第二季度",)
    assert park_kb.ask("园区今年一季度签约了多少个项目？").missing_terms == ()
    # 「春季招聘会是哪天？」 was answered with the autumn fair's date.
    kb = make_kb(
        {"fair.md": "# 秋季招聘会\n\n园区定于2022年10月15日举办秋季人才招聘会，设展位80个。\n"}
    )
    kb.update()
    spring = kb.ask("春季招聘会是哪天？")
    assert spring.missing_terms == ("春季",) and spring.answer.startswith("文中没有春季的数据")
    assert kb.ask("秋季招聘会是哪天？").missing_terms == ()
    assert kb.ask("When is the spring job fair?").missing_terms == ("spring",)


def test_a_quarter_the_cited_passage_does_not_cover_is_named_when_it_covers_another(make_kb):
    # 「第四季度检查发现了多少隐患？」 was answered with a third-quarter report's 389处 as if it
    # were the fourth quarter's: the report names 第四季度 once, for training that starts then.
    natural = Path(__file__).parent / "data" / "natural" / "knowledge"
    kb = make_kb({p.name: p.read_text(encoding="utf-8") for p in natural.iterdir()})
    kb.update()
    fourth = kb.ask("第四季度检查发现了多少隐患？")
    assert fourth.missing_terms == ("第四季度",)
    assert fourth.answer.startswith("文中没有第四季度的数据"), fourth.answer
    assert kb.ask("第三季度检查发现了多少隐患？").missing_terms == ()
