from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from conftest import BACKENDS, PARK_DOC, REPO, write_knowledge_base
from parkqa import Filters, KnowledgeBase, load_config
from parkqa.answering import (
    AREA,
    COUNTED,
    DURATION,
    MONEY,
    PERCENT,
    check_names,
    count_asked,
    counts_any,
    counts_kinds_only,
    english_fact,
    english_lead,
    has_unit,
    holds_unit_asked,
    issuer_of,
    lead_fact,
    lead_of,
    likely_typo,
    posts_asked,
    shortened_in_passages,
    unheld_name_phrase,
    unit_asked,
)
from parkqa.errors import DateError, QuestionError, TagError
from parkqa.evaluation import evaluate, load_questions
from parkqa.keywords import KeywordIndex, tokenize
from parkqa.questions import analyse, question_type, resolve_follow_up, written_units
from parkqa.retrieval import in_knowledge_base_script
from parkqa.translation import name_in_passages

QUESTIONS = Path(__file__).parent / "data" / "park_questions.yaml"
NATURAL = Path(__file__).parent / "data" / "natural" / "knowledge"


def test_one_of_a_thing_is_no_count_asked_for():
    # 「园区里有多少人在上班？」 led with 一名 of 每家入驻企业都配有一名专属“企业管家”: one with its
    # classifier mostly says "a"; one year or one yuan stays a quantity.
    assert not has_unit("每家入驻企业都配有一名专属“企业管家”。", ("人", "名"))
    assert not has_unit("按每录用1名毕业生2000元的标准给予补贴。", ("人", "名"))
    assert has_unit("从业人员1.4万人。", ("人", "名"))
    assert has_unit("引进10名人才。", ("人", "名"))
    assert has_unit("单次租期最长1年。", ("年",))
    # A list item's number is no count of what the item begins with (3. 人才公寓只租不售).
    assert not has_unit("2. 具有硕士学历的人才免收租金。\n3. 人才公寓只租不售。", ("人", "名"))


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("产业楼宇70万平方米、人才公寓2600余套。", True),  # the count after what it counts
        ("园区已建成2600套人才公寓。", True),  # and before it
        ("在全国集中建设5个客户体验中心。", True),  # the head alone translated: 中心
        ("3. 人才公寓只租不售。", False),  # a list item's number
        ("其中一个人才公寓项目。", False),  # one of a thing says "a"
        ("人才公寓租金标准为每平方米每月10元。", False),  # a sum
        ("人才公寓70万平方米、产业楼宇2600余套。", False),  # another thing's count
    ],
)
def test_an_english_count_is_a_count_of_what_it_counts(text, counts):
    # "How many talent apartments does the park have?" led with 120 (of 120个独立工位): any
    # count in any measure word was taken for the answer.
    assert counts_any(text, ("人才公寓", "中心")) is counts


def test_a_head_count_asked_in_spoken_words_finds_the_count_of_people(make_kb):
    folder = Path(__file__).parent / "data" / "natural" / "knowledge"
    threshold = load_config(REPO / "parkqa.yaml").answer.abstain_below  # the park's own
    kb = make_kb(
        {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()},
        f"answer:\n  abstain_below: {threshold}\n",
    )
    kb.update()
    assert kb.ask("园区里有多少人在上班？").answer.startswith("1.4万人。")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("question", "expected", "lines"),
    [
        ("阿里巴巴在永川投资了多少钱？", "投资3亿元", (1, 3)),
        ("百度自动驾驶开放测试基地项目总投资多少？", "总投资10亿元", (5, 7)),
        ("永川出台了哪些扶持政策？", "大数据发展20条", (91, 95)),
        ("园区引进了多少家数据处理企业？", "数据处理企业30多家", (136, 141)),
        ("呼叫服务产业引进了多少家企业？", "呼叫服务企业50多家", (121, 127)),
        ("电子商务产业2019年农产品在线交易额是多少？", "102.7 亿元", (129, 132)),
    ],
)
def test_park_facts_are_answered_with_the_right_sentence_and_lines(
    park_kb, question, expected, lines
):
    answer = park_kb.ask(question)
    assert not answer.abstained
    assert expected in answer.answer
    first = answer.citations[0]
    assert first.doc == PARK_DOC and "[1]" in answer.answer
    assert expected in first.text[slice(*first.highlights[0])]
    assert first.highlight_lines[0] == lines
    assert first.lines[0] <= lines[0] and lines[1] <= first.lines[1]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("特斯拉在永川投资了多少钱？", "特斯拉"),
        ("腾讯在永川有什么项目？", "腾讯"),
        ("北京的房价是多少？", "北京"),
    ],
)
def test_off_topic_questions_abstain_and_name_the_missing_term(park_kb, question, term):
    answer = park_kb.ask(question)
    assert answer.abstained
    assert answer.answer == f"知识库中没有找到关于“{term}”的信息。"
    assert answer.citations == () and len(answer.related) > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_english_off_topic_question_abstains_in_english(park_kb):
    # France is a name no passage holds in any form: the message names it, in English.
    answer = park_kb.ask("What is the capital of France?")
    assert answer.abstained
    assert answer.answer == 'The knowledge base has no information about "France".'
    answer = park_kb.ask("How does photosynthesis work?")
    assert answer.abstained
    assert answer.answer.startswith("The documents in the knowledge base do not answer")


@pytest.mark.parametrize("backend", BACKENDS)
def test_follow_up_is_resolved_through_history(park_kb):
    answer = park_kb.ask("那百度呢？", history=["阿里巴巴在永川投资了多少钱？"])
    assert answer.resolved_question == "百度在永川投资了多少钱？"
    assert "10亿元" in answer.answer


@pytest.mark.parametrize("backend", BACKENDS)
def test_reason_question_gets_the_listed_reasons(park_kb):
    answer = park_kb.ask("阿里为什么选择永川？")
    assert "一是永川区是西部职教名城" in answer.answer and "二是硬件设施好" in answer.answer


def test_json_shape(park_kb):
    data = park_kb.ask("阿里巴巴在永川投资了多少钱？", k=2).to_json()
    assert {"question", "answer", "abstained", "citations"} <= data.keys()
    assert len(data["citations"]) == 2
    citation = data["citations"][0]
    assert {"n", "doc", "title", "section", "lines", "text", "score"} <= citation.keys()
    assert citation["n"] == 1 and citation["doc"] == PARK_DOC and citation["lines"] == [1, 10]


@pytest.mark.parametrize("backend", BACKENDS)
def test_filters_by_tag_and_date(park_kb):
    assert not park_kb.ask(
        "阿里巴巴在永川投资了多少钱？", filters=Filters(tags=("招商引资",))
    ).abstained
    outside = park_kb.ask("阿里巴巴在永川投资了多少钱？", filters=Filters(date_from="2021"))
    assert outside.abstained and "筛选" in outside.answer
    inside = park_kb.ask(
        "阿里巴巴在永川投资了多少钱？", filters=Filters(date_from="2020-01", date_to="2020-12")
    )
    assert not inside.abstained


def test_question_is_cleaned_and_empty_is_refused(park_kb):
    answer = park_kb.ask("\x1b[31m阿里巴巴\u202e在永川投资了\x07多少钱？\x1b[0m")
    assert answer.question == "阿里巴巴在永川投资了 多少钱？" and "3亿元" in answer.answer
    assert answer.notes
    with pytest.raises(QuestionError, match="empty"):
        park_kb.ask(" \t\n ")


def test_question_types():
    assert question_type("百度什么时候开工？") == "date"
    assert question_type("投资了多少钱？") == "quantity"
    assert question_type("哪些企业落户了？") == "who"
    assert question_type("为什么选择永川？") == "reason"
    assert question_type("How much did Alibaba invest?") == "quantity"
    assert question_type("When did it start?") == "date"


def test_a_time_of_day_is_asked_as_a_time_not_a_count(make_kb):
    # 「企业服务中心几点开门？」 led with "2" (of 2号楼): 几点 was read as 几, a count.
    assert question_type("企业服务中心几点开门？") == "date"
    assert question_type("班车早上几点发车？") == "date"
    kb = make_kb(
        {
            "service.md": "# 企业服务中心\n\n企业服务中心设在园区2号楼一楼大厅，办理企业入驻等"
            "事项。办公时间为周一至周五上午9:00—12:00、下午14:00—17:30，法定节假日休息。\n"
        }
    )
    kb.update()
    answer = kb.ask("企业服务中心几点开门？").answer
    assert answer.startswith("9:00。 办公时间为"), answer  # the time it opens, then its sentence


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("报道里是哪位领导讲阿里为啥来永川的？", "who"),  # who said why
        ("苻坚热爱汉文化的原因和谁有关？", "who"),
        ("李白因为得罪了谁而离开长安？", "who"),
        ("为什么谁都不愿意去？", "reason"),  # 谁都: anyone, not who
        ("企业服务中心几点开门？", "date"),  # 几点: a time of day
        ("董事长看中了永川哪几点？", "what"),  # 哪几点: which points, neither a time nor a count
        ("园区有哪几个片区？", "what"),
        ("Who explained why Alibaba came?", "who"),
    ],
)
def test_a_question_for_the_person_behind_a_reason_asks_who(question, kind):
    assert question_type(question) == kind


def test_follow_up_rewriting_without_an_index():
    assert (
        resolve_follow_up("那百度呢？", ["阿里巴巴在永川投资了多少钱？"])
        == "百度在永川投资了多少钱？"
    )
    assert (
        resolve_follow_up("What about Baidu?", ["How much did Alibaba invest?"])
        == "How much did Baidu invest?"
    )
    assert resolve_follow_up("永川有多少企业？", ["阿里巴巴投资了多少？"]) == "永川有多少企业？"
    # 「X呢？」 alone, without 那 before it, asks the same of X.
    assert resolve_follow_up("阿里呢？", ["百度在永川投资了多少？"]) == "阿里在永川投资了多少？"
    assert resolve_follow_up("硕士的呢？", ["博士的安家补贴是多少？"]) == "硕士的安家补贴是多少？"
    # A follow-up that names nothing asks about the earlier question's topic.
    assert resolve_follow_up("为什么呢？", ["百度在永川投资了多少？"]) == "百度为什么呢？"
    # A kind of the thing the earlier question counts stands in for that kind, not its subject.
    assert resolve_follow_up("那人工智能项目呢？", ["论坛签约的工业互联网项目有几个？"]) == (
        "论坛签约的人工智能项目有几个？"
    )
    assert resolve_follow_up("那数字内容企业呢？", ["园区有多少家数据处理企业？"]) == (
        "园区有多少家数字内容企业？"
    )
    # A question of its own that ends in 呢 is no 「X呢？」: X is a name or a noun alone.
    for question in ("园区的租金贵不贵呢？", "班车几点发车呢？", "园区在哪呢？"):
        assert resolve_follow_up(question, ["百度在永川投资了多少？"]) == question


@pytest.mark.parametrize(
    ("follow_up", "previous", "resolved"),
    [
        (
            "二期呢？",
            "云启智算的计算中心一期什么时候建成？",
            "云启智算的计算中心二期什么时候建成？",
        ),
        ("那2020年呢？", "园区2019年营业收入多少？", "园区2020年营业收入多少？"),
        ("第三届呢？", "第二届智博会签约了多少项目？", "第三届智博会签约了多少项目？"),
        ("下半年呢？", "园区上半年签约了多少项目？", "园区下半年签约了多少项目？"),
        ("二期呢？", "阿里巴巴在永川投资了多少？", "二期 阿里巴巴在永川投资了多少？"),
    ],
)
def test_a_follow_up_naming_another_phase_or_period_asks_the_same_of_it(
    follow_up, previous, resolved
):
    """「二期呢？」 after a question about 一期 asks the same of the second phase: the phase,
    period, edition or year the earlier question names is replaced, not its subject."""
    assert resolve_follow_up(follow_up, [previous]) == resolved


def test_question_analysis_keeps_words_whole_and_finds_names():
    asked = analyse("有限公司在线多媒体")
    assert asked.content_words == ("有限公司", "在线", "多媒体")
    asked = analyse("特斯拉在永川投资了多少钱？")
    assert "特斯拉" in asked.names and asked.kind == "quantity"
    assert "投资" in asked.content_words and "多少" not in asked.content_words
    for ordinary in (
        "园区里有多少人在上班？",
        "在园区办公租金贵不贵？",
        "员工能享受什么待遇？",
        "投产以后一年能产多少钱的东西？",  # 东西 (tagged a place) is the thing asked
        "园区能买到什么东西？",
        "哪些东西可以带进会场？",
    ):
        assert analyse(ordinary).names == (), ordinary


def test_traditional_question_words_are_question_words():
    asked = analyse("這篇文章由誰寫的？第幾款產品？甚麼時候上市？")
    assert asked.script == "traditional"
    assert not {"誰", "谁", "几", "甚么", "什么"} & set(asked.content_words)
    assert analyse("園區有幾家企業？").kind == "quantity"
    assert analyse("由誰負責？").kind == "who"


@pytest.mark.parametrize(
    ("question", "about"),
    [
        ("玄奘是哪一個朝代的人?", {"玄奘", "朝代", "人"}),
        ("超級盃是哪一種體育項目的獎項?", {"超级杯", "体育项目", "奖项"}),
        ("園區引進了哪一家公司?", {"园区", "引进", "公司"}),
        ("園區成立幾年了?", {"园区", "成立"}),
        ("韓國將什麼東西稱之為第二經濟?", {"韩国", "将", "称之为", "第二", "经济"}),
        ("園區引進了哪幾家公司?", {"园区", "引进", "公司"}),
    ],
)
def test_the_count_or_thing_after_which_or_what_asks_with_it(question, about):
    # 哪一個 is split 哪 / 一个, and 什麼東西 什么 / 东西 ("what thing", tagged a place): the
    # count and the thing were words (and a name) the question is about, which no passage
    # answering it needs to hold.
    asked = analyse(question)
    assert set(asked.content_words) == about
    assert "东西" not in asked.names


def test_years_and_periods_are_found():
    asked = analyse("2021年第一季度园区营业收入是多少？")
    assert asked.years == ("2021",) and asked.periods == ("第一季度",)


def test_a_long_question_of_rare_characters_is_analysed_quickly():
    import random
    import time

    rng = random.Random(1)
    question = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(2000))
    started = time.perf_counter()
    analyse(question)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_names_are_looked_up_in_the_passages(park_kb):
    index = park_kb.index()
    assert name_in_passages("阿里巴巴", index.keywords, index.passage_text)
    assert not name_in_passages("特斯拉", index.keywords, index.passage_text)
    assert name_in_passages("阿裏巴巴", index.keywords, index.passage_text)  # Traditional


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_name_written_with_a_variant_character_is_found(make_kb):
    # 秘魯 and 祕魯 are both Traditional spellings of Peru; OpenCC converts only to the latter.
    kb = make_kb({"cup.md": "# 世界盃\n\n1978年小組賽，阿根廷以6比0大勝秘魯，晉級決賽。\n"})
    kb.update()
    index = kb.index()
    assert name_in_passages("祕魯", index.keywords, index.passage_text)
    assert name_in_passages("秘鲁", index.keywords, index.passage_text)
    assert not name_in_passages("智利", index.keywords, index.passage_text)


def test_a_place_asked_about_as_a_region_is_not_missing(make_kb):
    # The word splitter takes 青海地区 for one place name; the passage says 青海.
    kb = make_kb({"qing.md": "# 清朝\n\n清朝时，理藩院管理蒙古、西藏和青海的事务。\n"})
    kb.update()
    answer = kb.ask("清朝时哪一机构会管理青海地区？")
    assert answer.support.missing_names == ()
    assert not answer.abstained and "理藩院" in answer.answer
    missing = kb.ask("清朝时哪一机构会管理江苏地区？").support.missing_names
    assert missing and all("江苏" in name for name in missing)


@pytest.mark.parametrize(
    ("question", "standard"),
    [
        ("办公室一平米一个月多少钱？", "平方米"),
        ("房租多少块钱？", "元"),
        ("补贴有几万块？", "几万元"),
    ],
)
def test_a_colloquial_unit_is_also_read_in_its_standard_form(question, standard):
    assert standard in analyse(question).content_words


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("云启智算公司的注册资本是多少？", MONEY),
        ("园区2019年的营业收入有多少？", MONEY),
        ("人才公寓的押金是多少？", MONEY),
        ("软件企业的增值税税率是多少？", PERCENT),
        ("本地员工的比例是多少？", PERCENT),
        ("注册资本有多少亿？", ("亿",)),  # the unit said is the unit asked
        ("园区有多少家企业？", ("家",)),
        # A head count asked without its unit is counted in people.
        ("园区的员工总数大概是多少？", ("人", "名")),
        ("园区的从业人员有多少？", ("人", "名")),
        ("永川在校学生数量是多少？", ("人", "名")),
        ("项目的就业人数是多少？", ("人", "名")),
        ("在园区上班的人有多少？", ("人", "名")),  # the people who work there: how many
        ("在园区上班的人多不多？", ("人", "名")),  # asked "many or not": the count says
        ("员工的工资是多少？", MONEY),  # what staff are paid, not how many
        ("做数据标注一个月能挣多少？", MONEY),  # what one earns: led with 350个 (jobs)
        ("开网店一年能赚多少？", MONEY),
        ("招聘会上做客服的一个月能拿多少？", MONEY),  # led with 500个 (jobs)
        ("一家企业一年能领多少张算力券？", ("张",)),  # vouchers, not a sum
        ("锐芯电子被罚了多少？", MONEY),  # a fine: led with 30天 of its deadline
    ],
)
def test_a_sum_or_a_rate_is_asked_for_by_what_is_asked_about(question, unit):
    assert unit_asked(analyse(question)) == unit


def test_no_sum_or_area_leads_a_count():
    # "How many talent apartments does the park have?" led with 10 yuan (the flats' rent).
    asked = analyse("How many staff live in talent apartments?")
    assert lead_fact(asked, "人才公寓租金标准为每平方米每月10元。") is None
    assert lead_fact(asked, "园区建成产业楼宇70万平方米，可容纳员工1.4万人。") == "1.4万人"
    # Nor a count of another thing a head count: "How many people work in the park?" led with
    # 1,800 (of 1800个车位).
    people = analyse("How many people work in the park?")
    assert lead_fact(people, "园区地下停车场共有1800个车位，员工月卡每月150元。") is None
    flats = analyse("How many talent apartments does the park have?")
    assert lead_fact(flats, "园区已建成产业楼宇70万平方米、人才公寓2600余套。") == "2600余套"


def test_a_count_in_a_longer_measure_word_is_not_a_count_in_its_first_character():
    # 126人次 counts visits, not people: "园区里有多少人在上班？" led with 126人 and the sentence
    # of an inspection's visits.
    sentence = "本次检查共出动检查人员126人次，检查企业214家、产业楼宇17栋。"
    assert not has_unit(sentence, ("人", "名"))
    assert lead_fact(analyse("这次检查去了多少人次？"), sentence) == "126人次"
    assert lead_fact(analyse("园区里有多少人在上班？"), sentence) is None


@pytest.mark.parametrize(
    ("question", "sentence", "lead"),
    [
        ("检查了几栋楼？", "本次检查共出动检查人员126人次，检查企业214家、产业楼宇17栋。", "17栋"),
        ("还有多少处隐患没改完？", "将对48处未完成整改的隐患逐一复查。", "48处"),
        ("去年发生了几起事故？", "全年发生事故3起，比上年减少2起。", "3起"),
        ("园区今年发生了几起火灾？", "灭火器过期等问题共发现63处。", None),
        ("园区有几栋楼？", "园区建成产业楼宇70万平方米，可容纳员工1.4万人。", None),
    ],
)
def test_a_count_asked_by_its_measure_word_leads_only_in_it(question, sentence, lead):
    assert lead_fact(analyse(question), sentence) == lead


def test_once_in_a_question_is_no_number_it_states():
    # 一次 says "once": its 1 is no figure the question already knows (led with 5年).
    sentence = "单次租期最长1年，期满可续租，累计租住不超过5年。"
    assert lead_fact(analyse("人才公寓一次最长能租多久？"), sentence) == "1年"


def test_a_count_stated_per_thing_answers_only_a_question_per_thing():
    # "园区里有多少人在上班？" led with 2名 of a training rule's 每家企业……派2名员工.
    sentence = "第四季度起，园区将每月组织一次消防安全知识培训，每家企业每季度至少派2名员工参加。"
    total = analyse("园区里有多少人在上班？")
    assert not count_asked(total)(sentence)
    assert lead_fact(total, sentence) is None
    per_company = analyse("每家企业每个季度要派几个人去培训？")
    assert count_asked(per_company)(sentence)
    assert lead_fact(per_company, sentence) == "2名"
    # A limit is a limit per thing, asked with or without 每.
    limit = "每1000卡时发放一张算力券，每家企业全年最多领取40张。"
    assert lead_fact(analyse("算力券一年最多能领几张？"), limit) == "40张"
    assert count_asked(analyse("How many vouchers can a company get in a year?"))(limit)
    # A sum per thing stays a sum: what one costs is asked without 每.
    assert lead_fact(analyse("工位租金多少钱？"), "每个工位每月租金300元。") == "300元"


def test_a_rank_asked_leads_with_a_rank_or_nothing():
    # 「园区的营收在重庆排第几？」 led with 244.7亿元, the revenue, not its rank.
    asked = analyse("园区的营收在全省排第几？")
    sentence = "2019年实现营业收入244.7亿元，是全省规模最大的产业基地。"
    assert lead_fact(asked, sentence) is None
    assert lead_fact(asked, "园区营业收入244.7亿元，在全省排名第三。") == "第三"
    assert lead_fact(analyse("该校的排名是第几名？"), "该校在全国高校中位列第12名。") == "第12名"


def test_an_english_range_asked_leads_whole():
    # "What is the salary range for software testing jobs?" led with 15,000 yuan.
    sentence = "软件开发及测试类岗位约200个，月薪8000—15000元；"
    asked = analyse("What is the salary range for software testing jobs?")
    assert english_lead(asked, lead_fact(asked, sentence)) == "8,000–15,000 yuan"
    highest = analyse("What is the highest salary for software testing jobs?")
    assert lead_fact(highest, sentence) == "15000元"


def test_a_fee_asked_of_something_free_leads_with_free():
    # 「参加招聘会的企业需要交多少展位费？」 led with 4000—6000元, a salary of another sentence.
    asked = analyse("参加招聘会的企业需要交多少展位费？")
    sentence = "展位免费提供，按报名先后顺序安排。"
    assert count_asked(asked)(sentence) and lead_fact(asked, sentence) == "免费"
    assert not count_asked(asked)("每家企业限报1个展位。")
    assert lead_of(asked, ["每家企业限报1个展位。", sentence]) == "免费"  # the later one's
    english = analyse("How much is the fee for a booth?")
    assert english_lead(english, lead_fact(english, sentence)) == "free"


def test_a_contact_asked_leads_with_the_person_of_a_contact_line():
    # "Who should companies contact about the job fair?" led with the office, not the person.
    line = "联系人：园区人力资源服务中心 陈思远，电话 023-49881310。"
    for question in ("招聘会的联系人是谁？", "Who should companies contact about the job fair?"):
        assert lead_fact(analyse(question), line) == "陈思远"
    assert (
        lead_fact(analyse("政策咨询找谁？"), "政策咨询：园区经济发展局 王婷，电话 023-49881236。")
        == "王婷"
    )
    assert lead_fact(analyse("联系人是谁？"), "联系人：王婷，电话 023-49881236。") == "王婷"


def test_colloquial_when_and_where_ask_a_date_and_a_place():
    # 「企业最晚啥时候要交回执？」 was read as asking "what", and refused.
    assert analyse("企业最晚啥时候要交回执？").kind == "date"
    assert analyse("食堂在啥地方？").kind == "place"


def test_a_month_of_this_year_leads_whole():
    # 「云启的计算中心打算什么时候动工？」 led with 今年 of 今年9月底前.
    asked = analyse("计算中心打算什么时候动工？")
    assert lead_fact(asked, "力争项目在今年9月底前开工建设。") == "今年9月底"
    assert lead_fact(asked, "项目去年3月开工。") == "去年3月"


def test_no_count_leads_when_an_area_is_asked():
    # 「园区的数字影棚有多大？」 led with 40多家 (the companies of the sentence naming the studio).
    sentence = "引进航天科工、达瓦科技等数字内容企业40多家，建成国内一流的数字影棚。"
    assert lead_fact(analyse("园区的数字影棚有多大？"), sentence) is None
    studio = "园区建成3000平方米的数字影棚，引进企业40多家。"
    assert lead_fact(analyse("园区的数字影棚有多大？"), studio) == "3000平方米"


def test_no_count_of_something_else_leads_when_a_sum_or_a_rate_is_asked():
    # 「注册资本是多少？」 led with "7个" (of 考察了7个城市), the tax rate with "130多家".
    assert lead_fact(analyse("公司的注册资本是多少？"), "公司考察了7个城市。") is None
    assert lead_fact(analyse("公司的注册资本是多少？"), "公司注册资本5000万元。") == "5000万元"
    assert lead_fact(analyse("软件企业的税率是多少？"), "引进软件企业130多家。") is None
    assert lead_fact(analyse("软件企业的税率是多少？"), "软件企业税率为6%。") == "6%"


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("How much does a meal cost in the staff canteen?", MONEY),  # not the staff counted
        ("How much is the monthly parking pass?", MONEY),  # how much it is: its price
        ("How much will the company invest?", MONEY),
        ("How many staff work in the canteen?", ("人", "名")),
        ("How many companies pay the fee?", ("家",)),
        ("How many seats will the centre have?", COUNTED),  # seats: counted by a measure word
        ("What is the salary of the staff?", MONEY),
        ("How much land does the project cover?", AREA),
        ("How large will the digital content park be?", AREA),  # a place's size: its area
        ("How big is the largest talent apartment?", AREA),
        ("How big is the housing allowance for a graduate?", MONEY),  # a sum's size
        # How long a span of time named lasts (a lease, a term, a trip), not how long a thing is.
        ("How long is a single lease of a talent apartment?", DURATION),
        ("How long is the trip from Chongqing West to Yongchuan East?", DURATION),
        # The plural after "how many" is what is counted, not a word before it.
        ("How many talent apartments does the park have?", COUNTED),
        ("How many people work in the park?", ("人", "名")),
        ("How many jobs will the project create?", ("人", "名")),
        ("How many square metres of office space are there?", AREA),
        # Schools and institutes are counted in 所 (8所高校和科研院所).
        ("How many universities and research institutes attended the forum?", ("所",)),
        ("How many vocational colleges does the city have?", ("所",)),
    ],
)
def test_an_english_question_asks_in_the_unit_of_what_follows_how_much_or_many(question, unit):
    assert unit_asked(analyse(question)) == unit


def test_a_count_in_a_measure_word_english_lacks_names_what_it_counts():
    # 「8所高校和科研院所」: 所 has no English word; the question's own words say what is counted.
    from parkqa.answering import english_lead

    asked = analyse("How many universities and research institutes attended the forum?")
    assert english_lead(asked, "8所") == "8 universities and research institutes"


def test_an_english_price_leads_with_the_sum_not_a_count():
    # "How much does a meal cost in the staff canteen?" led with "3" (of 3个职工食堂).
    sentence = "园区内设有3个职工食堂，工作餐每餐12元；"
    assert lead_fact(analyse("How much does a meal cost in the staff canteen?"), sentence) == "12元"
    parking = "园区地下停车场共有1800个车位，入驻企业员工办理月卡每月150元。"
    assert lead_fact(analyse("How much is the monthly parking pass?"), parking) == "150元"


def test_the_count_of_the_thing_asked_for_leads():
    # 「客服中心要服务多少商家？」 led with 20亿 (the consumers), not 1000万户 (the merchants).
    sentence = "中心将为阿里平台上20亿消费者、1000万户商家提供客服服务。"
    assert lead_fact(analyse("客服中心要服务多少商家？"), sentence) == "1000万户"
    assert lead_fact(analyse("客服中心要服务多少消费者？"), sentence) == "20亿消费者"
    assert lead_fact(analyse("中心有几个席位、几家商家？"), "中心有5000个席位。") == "5000个"


def test_an_ordinal_is_no_quantity():
    # 「办法管几年？」 led with 三年 of 第三年 ahead of 有效期3年.
    asked = analyse("这个办法管几年？")
    assert lead_fact(asked, "第一年、第二年全额补贴，第三年补贴一半。") is None
    assert lead_fact(asked, "第三年补贴一半，办法有效期3年。") == "3年"
    assert not has_unit("第三年补贴一半。", ("年",))


@pytest.mark.parametrize(
    "question",
    ["项目占地多大？", "办公室最小多大？", "影棚面积是多少？", "公寓有多少平？", "项目占地多少？"],
)
def test_a_size_asked_for_leads_with_an_area(question):
    # 「项目占地多大？」 led with the 7个 of 考察了7个城市.
    asked = analyse(question)
    assert asked.kind == "quantity"
    assert lead_fact(asked, "公司考察了7个城市，项目占地约80亩。") == "80亩"
    # a range leads whole, unless the question asks one end of it
    whole = "80平方米" if "最小" in question else "80平方米到1500平方米"
    assert lead_fact(asked, "共有120个工位，面积从80平方米到1500平方米不等。") == whole


def test_a_range_leads_whole():
    # 「软件开发及测试类岗位的月薪范围是多少？」 led with 15000元, the range's end.
    pay = "软件开发及测试类岗位约200个，月薪8000—15000元；"
    assert lead_fact(analyse("软件开发及测试类岗位的月薪范围是多少？"), pay) == "8000—15000元"
    assert lead_fact(analyse("做软件开发一个月能拿多少钱？"), pay) == "8000—15000元"
    assert lead_fact(analyse("软件开发岗位月薪最高多少？"), pay) == "15000元"
    assert lead_fact(analyse("软件开发岗位招多少人？"), pay) == "200个"


def test_a_size_of_something_not_measured_in_area_is_not_asked_as_one():
    assert unit_asked(analyse("疫情对园区的影响有多大？")) is None
    assert unit_asked(analyse("他今年多大了？")) is None
    assert unit_asked(analyse("周明远今年多大？")) is None
    assert unit_asked(analyse("服务器的内存有多大？")) is None
    # The price of a site is a sum, not an area.
    assert unit_asked(analyse("租场地多少钱？")) == MONEY
    assert unit_asked(analyse("园区工业用地多少钱一亩？")) == MONEY
    assert lead_fact(analyse("租场地多少钱？"), "场地面积200平方米，租金每月5000元。") == "5000元"


def test_pieces_counted_in_kuai_are_no_money():
    assert written_units("他获得了两块金牌，奖金几万块。") == "他获得了两块金牌，奖金几万元。"
    assert written_units("一万块砖要几万块钱？") == "一万块砖要几万元？"
    assert "一万元" not in analyse("一万块砖多少钱？").content_words
    assert "几万元" in analyse("补贴有几万块？").content_words


def test_pieces_asked_for_are_counted_not_priced():
    assert unit_asked(analyse("园区有几块地？")) is None
    assert unit_asked(analyse("获得了多少块金牌？")) is None
    assert unit_asked(analyse("房租多少块钱？")) == ("元",)
    assert lead_fact(analyse("房租多少块钱？"), "房租每月2000元。") == "2000元"


def test_a_traditional_question_is_embedded_with_units_written_out(park_kb):
    index = park_kb.index()
    asked = analyse("房租多少塊錢？")
    assert "塊錢" not in in_knowledge_base_script(asked, index.keywords)


def test_rent_asked_per_ping_mi_finds_the_rent_per_square_metre(make_kb):
    # 平米 is how people say 平方米: the rent per square metre (the policy's 28元) answers,
    # not the shared desk's 300元 a month (the visitors' guide).
    folder = Path(__file__).parent / "data" / "natural" / "knowledge"
    kb = make_kb({p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()})
    kb.update()
    answer = kb.ask("在园区租办公室一平米一个月多少钱？")
    assert answer.answer.startswith("28元。")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_name_one_character_away_is_a_likely_typo(park_kb):
    index = park_kb.index()
    assert likely_typo("阿里巴吧", index.keywords, index.passage_text) == "阿里巴巴"
    assert likely_typo("特斯拉", index.keywords, index.passage_text) is None


@pytest.mark.parametrize("typed", ["邓雯", "鄧雯"])
def test_a_homophone_of_a_name_in_traditional_documents_is_a_likely_typo(typed):
    # Readings are looked up as Simplified characters; documents in Traditional script hold
    # 鄧文, so no word read as deng wen was found in them.
    text = "據區委書記鄧文透露，園區規劃了三大板塊。"
    keywords = KeywordIndex.build([tokenize(text)])
    assert likely_typo(typed, keywords, lambda row: text) == "鄧文"


def test_a_three_character_name_s_typo_reads_near_the_name():
    """In a large knowledge base, many three-character names are one character from a name
    asked about (张天霖, 张作霖): a three-character typo replaces a character with one read
    alike or near (an input method's fuzzy readings: zh/z, n/l, ang/an); a longer name may
    have any one character wrong."""
    text = "據記載，張作霖當年駐守奉天，劉德華與博彥科技的人員同行。"
    keywords = KeywordIndex.build([tokenize(text)])
    typo = lambda name: likely_typo(name, keywords, lambda row: text)  # noqa: E731
    assert typo("張天霖") is None  # 天 tian for 作 zuo: another name
    assert typo("張做霖") == "張作霖"  # 做 for 作: read alike
    assert typo("張左霖") == "張作霖"  # zuo for zuo
    assert typo("牛德華") == "劉德華"  # niu for liu: n and l confused
    assert typo("博彥科枝") == "博彥科技"  # four characters: any one slip


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("长崎", "园区长期坚持招商引资。"),  # chang qi: an adverb, not a name
        ("德意志", "他得意之时写下此诗。"),  # de yi zhi: a phrase ending in 之
        ("乐山市", "他在这里工作了三十年。"),  # le shan shi: 了 and a number
        ("西德", "西的一侧是山。"),  # xi de: a word and 的
    ],
)
def test_a_name_is_not_read_as_a_phrase_of_ordinary_words(name, text):
    """A typo is read as a name of the knowledge base, never as ordinary words read alike."""
    keywords = KeywordIndex.build([tokenize(text)])
    assert likely_typo(name, keywords, lambda row: text) is None


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("亞太基金會的研究內容是什麼？", "亚太基金会"),  # 亞太 and 基金會 apart, never together
        ("乌石渔港在哪里？", "乌石渔港"),
        ("亚太地区有哪些基金会？", ""),  # nothing named that no passage holds
        ("乌石港口有多大？", ""),  # held as written
        ("距离乌石最近的港口在哪里？", ""),  # 距离 does not name a kind of 乌石
        ("乌石地区的渔民多吗？", ""),  # the area and the period of a name are the name's
        ("乌石时期的渔民有多少？", ""),
        ("乌石长眠于何处？", ""),  # a word before 于 is a verb (长眠于, 位于), no noun
        ("亞太基金會于哪一年成立？", "亚太基金会"),  # a noun before 于 stays one
    ],
)
def test_a_name_with_the_thing_it_names_that_no_passage_holds(question, phrase):
    """A question about 亚太基金会 is about something a knowledge base that mentions 亚太
    and 基金会 apart does not hold: a measured signal of the abstention model."""
    text = "亞太地區的基金會很多。乌石港口面积不大，乌石的渔民很多。"
    keywords = KeywordIndex.build([tokenize(text)])
    assert unheld_name_phrase(analyse(question), keywords, lambda row: text) == phrase


def test_the_answer_records_a_name_with_a_noun_no_passage_holds(park_kb):
    """The park article names 阿里巴巴 and never a 基金会 of it: the support signals say so."""
    support = park_kb.ask("阿里巴巴基金会在哪里？").support
    assert support.unheld_phrase == "阿里巴巴基金会"
    assert park_kb.ask("阿里巴巴在永川投资了多少钱？").support.unheld_phrase == ""


def test_a_typo_is_one_slip_of_the_keys_not_the_same_characters_shuffled(park_kb):
    """A typo is a homophone (pinyin input), one other character, or two neighbours
    swapped; characters of another phrase in another order are not a typo of it."""
    index = park_kb.index()
    typo = lambda name: likely_typo(name, index.keywords, index.passage_text)  # noqa: E731
    assert typo("文思辉海") == "文思海辉"  # two neighbours swapped
    assert typo("闻思辉海") == "文思海辉"  # and a homophone
    assert typo("博彦科枝") == "博彦科技"  # one character
    assert typo("海文思辉") is None  # shuffled
    assert typo("园业产") is None  # 产业园 shuffled


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_misspelt_company_is_answered_and_the_match_is_said(park_kb):
    answer = park_kb.ask("博颜科技是做什么的？")
    assert not answer.abstained and "博彦科技" in answer.answer
    assert any("博彦科技" in note for note in answer.notes)


def test_the_fact_asked_for_leads():
    asked = analyse("阿里巴巴在永川投资了多少钱？")
    sentence = (
        "4月8日，我市与阿里巴巴集团举行活动，其中一个重点项目，就是投资3亿元建设客户体验中心。"
    )
    assert lead_fact(asked, sentence) == "3亿元"
    assert lead_fact(analyse("云签约活动是哪天举行的？"), sentence) == "4月8日"
    subsidies = "安家补贴：本科毕业生1万元，硕士研究生5万元，博士研究生12万元。"
    assert lead_fact(analyse("博士的安家补贴是多少钱？"), subsidies) == "12万元"


def test_the_value_the_question_s_words_surround_leads():
    """Each of the question's words counts once, at its nearest place: 2018年 stands among
    开始, 举办 and 博览会; 2019年8月 only near a second 博览会. A date may come before the
    event it dates."""
    sentence = "2018年开始举办的智能产业博览会，使本地产业迎来机遇，在2019年8月举行的第二届博览会上签约83个项目。"
    assert lead_fact(analyse("博览会是从哪一年开始举办的？"), sentence) == "2018年"
    assert lead_fact(analyse("第二届博览会上签约了多少个项目？"), sentence) == "83个项目"


def test_a_quantity_the_question_states_does_not_lead():
    # 「每录用一个能补多少？」 led with 1名, the 一个 it asks about.
    sentence = "按每录用1名毕业生2000元的标准给予企业培训补贴。"
    assert lead_fact(analyse("企业每录用一个毕业生能补多少？"), sentence) == "2000元"
    assert lead_fact(analyse("每录用几名毕业生给补贴？"), sentence) == "1名"


def test_a_span_of_dates_leads_whole():
    sentence = "补贴每年集中申报一次，申报时间为每年6月1日至6月30日。"
    assert lead_fact(analyse("补贴每年在什么时间申报？"), sentence) == "6月1日至6月30日"


def test_a_time_counted_back_from_now_is_a_date():
    # 「园区什么时候开始做呼叫服务的？」 was answered by a sentence with no time in it, beside
    # 早在10多年前，永川……就决定“无中生有”发展以呼叫服务为主的……产业.
    sentence = "早在10多年前，永川就决定发展以呼叫服务为主的产业。"
    assert lead_fact(analyse("园区什么时候开始做呼叫服务的？"), sentence) == "10多年前"
    assert lead_fact(analyse("公司是何时成立的？"), "公司成立于二十年前。") == "二十年前"
    assert lead_fact(analyse("什么时候开始的？"), "三个月前开始试运行。") == "三个月前"
    assert lead_fact(analyse("园区有多少家企业？"), "10多年前只有3家企业。") == "3家企业"


def test_a_part_of_a_month_leads_with_the_month():
    """「補貼什麼時候撥付？」 led with 2022年10月 of 于2022年10月底前拨付: by the end of
    October, not in it."""
    sentence = "补贴资金预计于2022年10月底前拨付到企业对公账户。"
    assert lead_fact(analyse("补贴什么时候拨付？"), sentence) == "2022年10月底"
    assert lead_fact(analyse("项目几月开工？"), "项目计划于9月中旬开工。") == "9月中旬"


@pytest.mark.parametrize(
    ("fact", "english"),
    [
        ("3亿元", "300 million yuan"),
        ("244.7亿元", "24.47 billion yuan"),
        ("3月9日", "March 9"),
        ("2020年4月8日", "April 8, 2020"),
        ("1年", "1 year"),
        ("1名", "1 person"),
        ("20个工作日", "20 working days"),
        ("3个月", "3 months"),
        ("12千米", "12 km"),
        ("5千元", "5,000 yuan"),
        ("2022年底", "the end of 2022"),  # was "2,022"
        ("2024年初", "early 2024"),
        ("2022年10月底", "the end of October, 2022"),
        ("9月中旬", "mid-September"),
        ("3月初", "early March"),
        ("2019年", "2019"),
        ("6月1日至6月30日", "June 1 to June 30"),  # was "6"
        ("9:00—12:00", "9:00—12:00"),
        ("80平方米到1500平方米", "80 square metres to 1,500 square metres"),
        ("8000—15000元", "8,000–15,000 yuan"),  # was "8000—15000元"
        ("3—5亿元", "300–500 million yuan"),
        ("今年9月底", "the end of September this year"),  # was "今年9月底"
        ("去年3月", "March last year"),
        ("10多年前", "more than 10 years ago"),
        ("二十年前", "20 years ago"),
        ("三个月前", "3 months ago"),
        ("几年前", "a few years ago"),
        ("千年前", "千年前"),  # a count of no number English reads: as it is stated
    ],
)
def test_a_fact_is_given_in_english_form(fact, english):
    assert english_fact(fact) == english


@pytest.mark.parametrize("question", ["阿里在永川砸了多少钱？", "How much did Alibaba invest?"])
def test_no_number_leads_when_a_sum_is_asked_and_the_sentence_states_none(question):
    """A count of consumers is no sum of money: the sentence is given without a lead."""
    sentence = "客服中心将为阿里平台上20亿消费者、1000万户商家提供服务。"
    assert lead_fact(analyse(question), sentence) is None


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("据区委常委、管委会书记邓文透露，园区规划了三大板块。", "邓文"),
        ("公司董事长周明远在签约仪式上介绍了园区规划。", "周明远"),
        ("園區規劃由區委書記張明介紹。", "張明"),
        ("园区组建了由管委会副主任李晓燕牵头的专班，介绍了园区规划。", "李晓燕"),
        ("会议由区长王强主持，介绍了园区规划。", "王强"),
        ("园区规划由总经理陈立负责介绍。", "陈立"),
    ],
)
def test_asked_which_person_the_name_after_the_post_leads(sentence, name):
    assert lead_fact(analyse("哪位领导介绍了园区规划？"), sentence) == name


def test_an_adverb_after_a_post_is_no_name():
    asked = analyse("哪位领导带队考察了永川？")
    for adverb in ("亲自", "专门", "全程"):
        assert lead_fact(asked, f"区委书记{adverb}带队考察了永川。") is None, adverb
    assert lead_fact(asked, "区长王强带队考察了永川。") == "王强"


def test_asked_who_holds_a_post_only_a_name_after_that_post_leads():
    # 「永川区区长是谁？」 led with 周明远, a chairman.
    sentence = "云启智算董事长周明远在签约仪式上表示，公司最终选择永川。"
    assert lead_fact(analyse("永川区区长是谁？"), sentence) is None
    assert lead_fact(analyse("云启智算的董事长是谁？"), sentence) == "周明远"
    assert lead_fact(analyse("哪位领导在签约仪式上讲话？"), sentence) == "周明远"


def test_asked_who_holds_a_post_no_passage_names_the_post_is_refused_naming_it(repo_park_kb):
    # 「永川区区长是谁？」 was answered with a sentence about the district's early policy: no
    # passage names a 区长, so none can say who it is.
    answer = repo_park_kb.ask("永川区区长是谁？")
    assert answer.abstained and answer.missing_terms == ("区长",)
    assert "区长" in answer.answer
    held = repo_park_kb.ask("新城建管委党工委书记是谁？")
    assert not held.abstained and held.answer.startswith("邓文。")


def test_a_sum_asked_for_leads_from_the_answer_sentence_that_states_it(repo_park_kb):
    """The sentence closest to 砸了多少钱 states no sum (5000个席位); the answer also gives
    the closest one that does, in a passage ranked behind, and that sum leads."""
    answer = repo_park_kb.ask("阿里在永川砸了多少钱？").answer
    assert "投资3亿元" in answer
    assert answer.startswith("3亿元。")


@pytest.mark.parametrize(
    "question",
    ["审核补贴申报需要多长时间？", "审核要多久？", "How long does the review take?"],
)
def test_a_duration_asked_for_leads_with_the_duration(question):
    # Before, the first number of the sentence led (1 of 第1步), not how long it takes.
    sentence = "第1步：企业服务中心在受理后20个工作日内完成审核，并于3月底前公示。"
    assert lead_fact(analyse(question), sentence) == "20个工作日"
    assert lead_fact(analyse(question), "第1步：企业在线提交申报材料。") is None


def test_an_english_question_for_a_price_or_rent_leads_with_the_sum():
    # "What is the rent" was no quantity question, so nothing led; "per square metre" is what
    # the sum is counted by, not what is asked.
    sentence = "园区办公用房租金标准为每平方米每月28元，工作餐每餐12元。"
    asked = analyse("What is the rent for office space per square metre per month?")
    assert asked.kind == "quantity"
    assert lead_fact(asked, sentence) == "28元"
    assert lead_fact(analyse("What is the price of a meal?"), "工作餐每餐12元。") == "12元"


def test_a_duration_is_read_in_either_script_and_in_months_or_hours():
    traditional = "第1步：企業服務中心在受理後20個工作日內完成審核。"
    assert lead_fact(analyse("審核要多久？"), traditional) == "20個工作日"
    assert lead_fact(analyse("审核需要几个月？"), "审核在受理后3个月内完成。") == "3个月"
    assert lead_fact(analyse("How many weeks does the review take?"), "审核需2周。") == "2周"
    # A length is no duration: the road's 3公里 still leads.
    assert lead_fact(analyse("How long will the new road be?"), "新建道路长3公里。") == "3公里"


def test_a_count_leads_the_same_whatever_is_counted():
    # The lead is the number and its measure word; the noun after it is the sentence's.
    for noun in ("席位", "车位", "机柜", "展位"):
        asked = analyse(f"中心将建设多少个{noun}？")
        assert lead_fact(asked, f"中心将规划建设5000个{noun}，明年建成。") == "5000个", noun


@pytest.mark.parametrize(
    ("question", "lead"),
    [("园区有多少从业人员？", "1.4万人"), ("園區的從業人員有多少？", "1.4萬人")],
)
def test_a_passage_retrieved_close_behind_the_best_gives_the_sentence_that_answers(
    park_kb, question, lead
):
    """The passage that holds 从业人员 is retrieved third, its score a quarter below the
    first's, whose sentences hold neither the words nor a count of people: the sentence with the
    words and the count is the answer."""
    answer = park_kb.ask(question)
    assert answer.answer.startswith(f"{lead}。")


def test_park_question_file_scores(make_kb):
    """With the project's own configuration (its knowledge base's abstention threshold)."""
    threshold = load_config(REPO / "parkqa.yaml").answer.abstain_below
    kb = make_kb(config=f"answer:\n  abstain_below: {threshold}\n")
    kb.update()
    report = evaluate(load_questions(QUESTIONS), lambda q, history: kb.ask(q, history, k=5))
    assert report.top5 == 1.0
    assert report.answer_hit >= 0.9
    assert report.abstention_precision == 1.0 and report.abstention_recall >= 0.8


def test_the_fitted_threshold_refuses_what_the_knowledge_base_lacks(park_kb):
    for question in ("今天天气怎么样？", "量子计算机的原理是什么？", "推荐一部好看的电影"):
        assert park_kb.ask(question).abstained, question


def test_a_document_titled_like_the_question_still_gives_its_sentence(make_kb):
    notice = (
        "<html><head><title>数据中心电价优惠</title></head><body><h1>数据中心电价优惠</h1>"
        "<p>入驻永川大数据产业园的数据中心，用电价格每千瓦时0.35元。</p></body></html>"
    )
    kb = make_kb({"notice.html": notice})
    kb.update()
    answer = kb.ask("数据中心的电价是多少？", k=1)
    assert "每千瓦时0.35元" in answer.answer and "[1]" in answer.answer
    assert len(answer.citations) == 1 and answer.citations[0].doc == "knowledge/notice.html"


def test_the_answering_passage_is_cited_even_with_k_1(park_kb):
    answer = park_kb.ask("阿里为什么选择永川？", k=1)
    cited = {f"[{c.n}]" for c in answer.citations}
    assert answer.citations and all(
        marker in cited for marker in set(re.findall(r"\[\d+\]", answer.answer))
    )


@pytest.mark.parametrize("value", ["last year", "2020-13", "2020-02-31", "2020-4", "0000"])
def test_filters_refuse_what_is_not_a_date(value):
    for name in ("date_from", "date_to"):
        with pytest.raises(DateError) as error:
            Filters(**{name: value})
        assert (
            str(error.value) == f"{name} '{value}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD"
        )
    assert Filters(date_from="2020-02-29", date_to="2020").date_to == "2020"


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [("2021", "2019"), ("2020-05", "2020-04-30"), ("2020-01-02", "2020-01-01")],
)
def test_filters_refuse_a_range_that_ends_before_it_starts(date_from, date_to):
    with pytest.raises(QuestionError, match=f"{date_from} is after {date_to}; swap"):
        Filters(date_from=date_from, date_to=date_to)


def test_filters_take_one_tag_given_as_text_as_one_tag():
    assert Filters(tags="产业政策").tags == ("产业政策",)
    assert Filters(tags=["产业政策", "园区"]).tags == ("产业政策", "园区")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unknown_tag_is_refused_with_the_known_ones(park_kb):
    with pytest.raises(TagError) as error:
        park_kb.ask(
            "阿里巴巴在永川投资了多少钱？", filters=Filters(tags=("招商引资", "园区", "政策"))
        )
    assert str(error.value) == (
        "unknown tags '园区', '政策'; the documents' tags are: 产业政策, 招商引资, 永川大数据产业园"
    )


def test_support_signals_are_typed_fields_of_the_answer(park_kb):
    from parkqa.citations import SupportSignals

    answer = park_kb.ask("阿里巴巴在永川投资了多少钱？")
    assert isinstance(answer.support, SupportSignals)
    assert 0 < answer.support.probability <= 1 and answer.support.coverage > 0.5
    assert not answer.support.cross_lingual and answer.dropped_sentences == ()
    data = answer.to_json()
    assert data["support"]["probability"] == round(answer.support.probability, 6)
    assert data["support"]["coverage"] == round(answer.support.coverage, 3)
    assert data["dropped_sentences"] == []
    refused = park_kb.ask("特斯拉在永川投资了多少钱？")
    assert refused.abstained and isinstance(refused.support, SupportSignals)


def test_a_two_character_name_typed_with_a_homophone_is_read_as_the_name(park_kb):
    # Pinyin input gives homophones: 邓雯 (Deng Wen) for the 邓文 the documents name. Two
    # characters are too short for the one-character-away rule, the same reading is not.
    answer = park_kb.ask("邓雯是谁？")
    assert not answer.abstained and "邓文" in answer.answer
    assert any("邓文" in note and "邓雯" in note for note in answer.notes)
    unchanged = park_kb.ask("园区有多少家企业？")
    assert not unchanged.notes


def test_a_homophone_name_the_word_splitter_cuts_apart_is_read_as_the_name(repo_park_kb):
    # 邓闻 is cut 邓 (a surname) / 闻 (a verb), so it was no name to check, and the question
    # of two stray characters was refused.
    answer = repo_park_kb.ask("邓闻在区里担任什么职务？")
    assert not answer.abstained and "书记邓文" in answer.answer
    assert any("邓文" in note and "邓闻" in note for note in answer.notes)
    assert not repo_park_kb.ask("园区有多少家企业？").notes


def test_a_surname_and_a_function_word_after_it_are_no_name_to_correct() -> None:
    """「五月艾所生长的地区海拔约是多少米？」 is cut 艾 (a surname) / 所 (a conjunction): 艾所
    was read as 艾沙, a name of CMRC 2018's passages, and the question refused."""
    passages = ["五月艾\n\n五月艾生长于海拔1500米的山坡。", "艾沙\n\n艾沙是一名演员。"]
    keywords = KeywordIndex.build([tokenize(text) for text in passages])
    asked, missing, corrected = check_names(
        analyse("五月艾所生长的地区海拔约是多少米？"), keywords, passages.__getitem__
    )
    assert corrected == {} and missing == []
    assert "艾沙" not in asked.resolved


def test_a_figure_about_another_company_is_not_given_as_the_answer(park_kb):
    # 华为 is in the article, but not where investments are; its closest passage is about
    # 阿里巴巴's 3亿元, which was stated as Huawei's investment.
    answer = park_kb.ask("华为在永川投资了多少钱？")
    assert answer.answer.startswith("文中关于“华为”的内容没有回答这个问题"), answer.answer
    assert not answer.answer.startswith("3亿元")
    assert park_kb.ask("阿里巴巴在永川投资了多少钱？").answer.startswith("3亿元。")
    traditional = park_kb.ask("華為在永川投資了多少錢？")
    assert traditional.answer.startswith("文中關於“華為”的內容沒有回答這個問題"), traditional.answer


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("谁介绍了园区规划？", "园区负责人表示，园区规划了三大板块。"),
        ("谁介绍了园区规划？", "区委书记指出，园区规划了三大板块。"),
        ("哪位领导谈了园区规划？", "据记者了解，园区规划了三大板块。"),
    ],
)
def test_a_verb_after_a_post_is_no_name(question, sentence):
    assert lead_fact(analyse(question), sentence) is None


@pytest.mark.parametrize("question", ["为什么企业选择永川？", "为什么公司要搬迁？"])
def test_why_a_company_did_something_asks_a_reason(question):
    assert question_type(question) == "reason"


@pytest.mark.parametrize(
    ("question", "posts"),
    [
        ("谁在园区长期投资？", []),
        ("谁推动了城市长期发展？", []),
        ("永川区区长是谁？", ["区长"]),
        ("谁是区委书记？", ["书记"]),
    ],
)
def test_the_posts_asked_about_are_whole_words(question, posts):
    assert posts_asked(analyse(question)) == posts


@pytest.mark.parametrize(
    "question", ["投资的企业有多少？", "获得补贴的企业有多少？", "享受税收优惠的企业有多少？"]
)
def test_a_money_word_that_is_not_what_is_counted_asks_no_sum(question):
    assert unit_asked(analyse(question)) is None
    assert lead_fact(analyse(question), "共有30家企业在园区投资。").startswith("30家")


def test_an_english_count_of_a_thing_not_translated_leads_with_a_count_not_a_sum(make_kb):
    # "racks" is in no dictionary meaning the documents hold: the sentence naming the centre
    # (its total investment, 8.6亿元, and its signing date) led instead of 1200个机柜.
    kb = make_kb(
        {
            "centre.md": "# 计算中心\n\n6月17日，云启公司签约，总投资8.6亿元建设云启计算中心。"
            "中心分两期建设。一期投资3.2亿元，部署1200个机柜。\n"
        }
    )
    kb.update()
    answer = kb.ask("How many racks will the first phase of the Yunqi computing centre have?")
    assert answer.answer.startswith("1,200")


def test_how_long_something_stays_valid_or_open_asks_a_span_of_time():
    # "How long is the rent subsidy policy valid?" was read as a price (rent, subsidy).
    from parkqa.answering import DURATION

    assert unit_asked(analyse("How long is the rent subsidy policy valid?")) == DURATION
    assert unit_asked(analyse("How long will the canteen stay open?")) == DURATION
    assert unit_asked(analyse("How long is the bridge?")) is None


def test_a_later_sentence_leads_only_when_it_speaks_of_what_is_asked():
    # 「论坛一共开了几天？」 led with 20个工作日, of a sentence about reviewing applications.
    asked = analyse("论坛一共开了几天？")
    sentences = ["西部地区数字经济规模有望在三年内翻一番。", "审核在受理后20个工作日内完成。"]
    assert lead_of(asked, sentences) is None
    assert lead_of(asked, [sentences[0], "论坛为期2天。"]) == "2天"


def test_a_span_asked_in_a_unit_leads_only_with_a_span_in_that_unit():
    # 「论坛一共开了几天？」 led with 三年 (of 三年内翻一番).
    sentence = "他表示，西部地区数字经济规模有望在三年内翻一番。"
    assert lead_fact(analyse("论坛一共开了几天？"), sentence) is None
    assert lead_fact(analyse("要多久？"), sentence) == "三年"
    days = "审核在受理后20个工作日内完成，公示7天。"
    assert lead_fact(analyse("审核要几天？"), days) == "20个工作日"
    assert lead_fact(analyse("公示多少天？"), "公示期为7天。") == "7天"
    assert lead_fact(analyse("要等几个月？"), "评审需要3个月。") == "3个月"


def test_an_area_asked_with_a_word_between_is_an_area():
    # 「补贴面积最多多大？」 led with 60% (of 使用面积低于租用面积60%): 最多 stood between.
    # 「年收入两个亿的公司最多能补多大面积？」 led with 1亿元: 多大 came before 面积.
    for question in (
        "补贴面积最多多大？",
        "办公面积一般有多大？",
        "占地大约多少？",
        "年收入两个亿的公司最多能补多大面积？",
        "能租多少面积的办公室？",
    ):
        assert unit_asked(analyse(question)) == AREA, question
    assert unit_asked(analyse("使用面积低于一半的企业有多少家？")) != AREA


def test_what_is_paid_or_invested_and_a_price_per_period_are_sums():
    # 「阿里巴巴在永川投了多少？」 led with 5000个 (seats), 「停车一个月要多少」 with 1800个.
    for question in (
        "阿里巴巴在永川投了多少？",
        "停车一个月要多少",
        "人才公寓一年多少？",
        "要花多少？",
    ):
        assert unit_asked(analyse(question)) == MONEY, question
    assert unit_asked(analyse("园区一年能处理多少数据？")) != MONEY


def test_a_fee_of_any_kind_is_asked_as_a_sum():
    # 「人才公寓一个月水电费大概多少？」 led with 30平方米 (a flat's area).
    for question in ("人才公寓一个月水电费大概多少？", "停车费是多少？", "物业管理费一年多少？"):
        assert unit_asked(analyse(question)) == MONEY, question
    flats = "人才公寓分为单间（约30平方米）和一室一厅（约50平方米）两种户型。"
    assert lead_fact(analyse("人才公寓一个月水电费大概多少？"), flats) is None


def test_a_mistyped_name_the_word_splitter_cut_into_ordinary_words_is_read_as_the_name():
    # 知道创语 is cut 知道 / 创 / 语 (know + two characters), so no name was checked: 创语 was
    # refused as a thing no passage holds.
    passages = [
        "园区引进博彦科技、文思海辉、知道创宇等数据处理企业30多家。",
        "人才公寓租金标准为每平方米每月10元。",
    ]
    keywords = KeywordIndex.build([tokenize(text) for text in passages])
    asked, _, corrected = check_names(
        analyse("知道创语是做什么的？"), keywords, passages.__getitem__
    )
    assert corrected == {"知道创语": "知道创宇"} and "知道创宇" in asked.resolved
    _, _, corrected = check_names(analyse("人才公寓的押金是多少？"), keywords, passages.__getitem__)
    assert corrected == {}


def test_one_of_a_thing_in_another_unit_does_not_lead_a_count():
    # 「园区一共多少家企业，多少人？」 led with 一名, of 每家企业都配有一名专属“企业管家”.
    asked = analyse("园区一共多少家企业，多少人？")
    assert lead_fact(asked, "每家入驻企业都配有一名专属“企业管家”，负责日常协调。") is None
    assert lead_fact(asked, "园区已聚集企业330家，从业人员1.4万人。") == "330家"
    # a count in another measure word still leads when it is more than one of a thing
    assert lead_fact(analyse("园区签了多少个项目？"), "园区共签约83项。") == "83项"


def test_a_count_before_a_list_separator_is_not_the_next_item_s():
    # 「园区有多少人才公寓？」 led with 70万平方米 of 产业楼宇70万平方米、人才公寓2600余套: the
    # quantity before 、 belongs to the item before it.
    sentence = "园区已建成产业楼宇70万平方米、人才公寓2600余套，可为企业提供便捷的入驻条件；"
    assert lead_fact(analyse("园区有多少人才公寓？"), sentence) == "2600余套"
    assert lead_fact(analyse("阿里要服务多少商家？"), "为20亿消费者、1000万户商家提供服务。") == (
        "1000万户"
    )


def test_an_answer_does_not_repeat_a_sentence_two_passages_share(park_kb):
    # Neighbouring passages overlap; the runner-up sentence of the second was the same
    # sentence again: 「……3万平方米数字内容产业园…… [1] ……3万平方米数字内容产业园…… [2]」.
    answer = park_kb.ask("How large will the digital content industrial park be?").answer
    assert answer.count("建设3万平方米数字内容产业园") == 1, answer


def test_a_mistyped_word_the_word_splitter_cut_into_characters_is_read_as_its_homophone():
    # Pinyin input gives homophones: 收如 for 收入 is cut 收 / 如 and found nothing; the
    # answer was another year's figure of another sentence.
    passages = [
        "2019年园区实现营业收入244.7亿元，从业人员1.4万人。",
        "2019年呼叫企业完成营业额60亿元。",
    ]
    keywords = KeywordIndex.build([tokenize(text) for text in passages])
    for typed, meant in (("营业收如", "营业收入"), ("从业人圆", "从业人员")):
        asked, missing, corrected = check_names(
            analyse(f"园区2019年{typed}多少？"), keywords, passages.__getitem__
        )
        assert meant in asked.resolved and not missing, typed
        assert typed[-2:] in corrected
    # The word splitter may take the two characters for an unknown name (营叶 / 收入): it is
    # the same typo, not a missing name.
    asked, missing, corrected = check_names(
        analyse("园区2019年的营叶收入是多少？"), keywords, passages.__getitem__
    )
    assert "营业收入" in asked.resolved and not missing and corrected == {"营叶": "营业"}
    # Characters the documents hold as written are not corrected (收 and 入 read alike too).
    for question in ("园区2019年营业收入多少？", "呼叫企业完成营业额多少？"):
        _, _, corrected = check_names(analyse(question), keywords, passages.__getitem__)
        assert corrected == {}, question


def test_an_organisation_leads_by_its_whole_name_without_the_verb_before_it():
    # "Which companies are in the data processing sector?" led with 引进博彦科技; a company's
    # full name was cut at 科技, leaving 有限公司 to lead another question.
    sentence = (
        "在数据处理产业上，园区围绕数据标注等方向，引进博彦科技、文思海辉等数据处理企业30多家。"
    )
    assert lead_fact(analyse("哪家公司在园区做数据处理？"), sentence) == "博彦科技"
    signed = "6月17日，重庆云启智算科技有限公司与园区管委会正式签约，建设计算中心。"
    assert lead_fact(analyse("哪家公司在园区建设计算中心？"), signed) == "重庆云启智算科技有限公司"


@pytest.mark.parametrize(
    ("name", "held"),
    [
        ("本科生", True),  # 本科毕业生: the documents' longer form
        ("本科业生", True),  # 本科毕业生 without 毕
        ("本科學生", False),  # 学 is in no passage after 本科
        ("本毕生", False),  # the first two characters must be written together
        ("本科生员", False),  # 员 is not within reach of 生
        ("科生", False),  # two characters match too much by chance to tell
    ],
)
def test_a_name_shortened_from_a_term_of_the_documents_is_held(name, held):
    """Chinese shortens a term by dropping characters (本科生 for 本科毕业生): a question
    naming the short form is about something the documents hold, not a name they lack."""
    text = "安家補貼：本科畢業生1萬元，碩士研究生5萬元，在園區工作滿3年。"
    keywords = KeywordIndex.build([tokenize(text)])
    assert shortened_in_passages(name, keywords, lambda row: text) == held


@pytest.fixture(scope="module")
def notice_kb(tmp_path_factory, encoder) -> KnowledgeBase:
    """The park article, its guide and policies, and a later subsidy notice (added/) whose
    words are close to many questions about the others."""
    documents = [*NATURAL.iterdir(), *(NATURAL.parent / "added").iterdir()]
    extra = {path.name: path.read_text(encoding="utf-8") for path in documents}
    root = tmp_path_factory.mktemp("notice")
    kb = KnowledgeBase(load_config(write_knowledge_base(root, extra)), encoder=encoder)
    kb.update()
    return kb


def test_a_short_form_of_a_documents_term_is_answered_not_refused(notice_kb):
    """「本科生来园区工作能拿多少补贴？」: the policy says 本科毕业生 (jieba tags 本科生 a
    proper noun); with a second subsidy notice indexed beside it, the question was refused
    naming 本科生."""
    answer = notice_kb.ask("本科生来园区工作能拿多少补贴？")
    assert not answer.abstained and "本科生" not in answer.missing_terms
    assert "1万元" in answer.answer


def test_a_quantity_asked_for_a_year_is_looked_for_where_the_year_is_named():
    """Asked 「园区2019年营业收入多少？」, a passage with a sum and no 2019 (上年度营业收入不低于
    200万元) holds no answer of the kind asked: the sum must be for the year."""
    holds = holds_unit_asked(analyse("园区2019年营业收入多少？"))
    assert not holds("上年度营业收入不低于200万元。")
    assert holds("目前园区已聚集企业330家，2019年实现营业收入244.7亿元。")
    assert not holds("2019年实现营业收入两百多亿。")  # no sum in a unit
    assert holds_unit_asked(analyse("园区营业收入多少？"))("上年度营业收入不低于200万元。")


def test_a_year_asked_about_leads_to_that_year_s_figure_beside_another_subsidy_notice(
    notice_kb,
):
    """With a notice whose 上年度营业收入不低于200万元 is close to any question about revenue
    indexed beside the article, 「园区2019年营业收入多少？」 led with 200万元."""
    assert notice_kb.ask("园区2019年营业收入多少？").answer.startswith("244.7亿元")


def test_the_materials_an_application_needs_are_listed_whole(notice_kb):
    """「申报补贴要交哪些材料？」 was answered with 在线提交申报材料 of another section; the
    section headed 三、申报材料 lists them, never saying 材料."""
    answer = notice_kb.ask("申报补贴要交哪些材料？").answer
    for item in ("补贴申请表", "营业执照复印件", "云服务合同", "立项文件", "财务报表"):
        assert item in answer, answer


def test_a_name_led_with_begins_where_a_word_begins():
    """An organisation's name is at most twelve characters before its kind (中心): the pattern
    took 南区域运营总部和算力调度中心 out of 西南区域……, cutting 西南 in two."""
    sentence = "同时，云启智算还将在园区设立西南区域运营总部和算力调度中心，负责川渝地区客户的算力资源调度。"
    fact = lead_fact(analyse("云启智算的技术负责人是谁？"), sentence)
    assert fact is None or not fact.startswith("南区域")
    assert lead_fact(
        analyse("哪家企业在永川建了客服中心？"), "阿里巴巴集团在永川建设客户体验中心。"
    ) == ("阿里巴巴集团")


def test_no_organisation_leads_when_the_holder_of_a_post_is_asked():
    """「云启智算的技术负责人是谁？」 asks for a person: a sentence naming an operations centre
    and no one holds no answer to lead with."""
    sentence = "同时，该公司还将设立算力调度中心，负责川渝地区的算力资源调度。"
    assert lead_fact(analyse("云启智算的技术负责人是谁？"), sentence) is None
    named = "云启智算董事长周明远在签约仪式上表示，公司考察了7个城市。"
    assert lead_fact(analyse("云启智算的董事长是谁？"), named) == "周明远"
    company = "阿里巴巴集团在永川建设客户体验中心。"
    assert lead_fact(analyse("谁在永川建设客户体验中心？"), company) == "阿里巴巴集团"


@pytest.mark.parametrize(
    ("text", "kinds_only"),
    [
        ("引进博彦科技等数据处理企业30多家，年处理数据12.6亿条。", True),  # 数据处理 企业
        ("园区已引进阿里巴巴等呼叫服务企业50多家。", True),
        ("引进中国普天等软件信息相关企业130多家。", True),  # 软件信息 相关 企业
        ("目前，永川大数据产业园已聚集企业330家，从业人员1.4万人。", False),  # 聚集 企业
        ("园区共有入驻企业120家。", False),
        ("园区有各类企业300余家。", False),
        ("园区今年新建厂房5栋。", False),  # counts no 企业 at all
        ("以上8家单位合计企业42家。", False),  # a total: 合计 says it, it names no kind
        ("以上8家企业合计营业收入19.1亿元。", True),  # those listed above, not all of them
    ],
)
def test_a_count_of_a_kind_of_the_thing_asked_is_told_apart(text, kinds_only):
    """「园区有多少家企业？」 asks how many companies, not how many of one kind: a count whose
    noun a noun qualifies (数据处理企业30多家) is of a kind."""
    assert counts_kinds_only(text, "企业", ("家",)) == kinds_only


def test_how_many_companies_leads_with_the_count_of_all_of_them(notice_kb):
    """「园区有多少家企业？」 led with 30多家 of 数据处理企业30多家; the article counts them all
    (已聚集企业330家)."""
    assert notice_kb.ask("园区有多少家企业？").answer.startswith("330家")


def test_a_count_asked_without_its_measure_word_leads_with_a_count_of_the_thing():
    """「园区有多少企业？」 led with 2 of 园区2号楼, and 「园区一共有多少企业？」 with 1800个 of
    1800个车位: a count asked of a noun (多少企业) is a count of that noun, in any measure
    word."""
    assert lead_fact(analyse("园区有多少企业？"), "企业服务中心设在园区2号楼一楼大厅。") is None
    parking = "园区地下停车场共有1800个车位，入驻企业员工办理月卡每月150元。"
    assert lead_fact(analyse("园区一共有多少企业？"), parking) is None
    total = "目前，永川大数据产业园已聚集企业330家，从业人员1.4万人。"
    assert lead_fact(analyse("园区有多少企业？"), total) == "330家"


def test_how_many_companies_leads_with_their_count_from_the_park_article_alone(park_kb):
    """With the park article alone, 「园区有多少家企业？」 led with 24条 (of 职教发展24条, the
    best sentence once 数据处理企业30多家 no longer counted as the kind asked for): a later
    sentence's count in the unit asked for leads instead."""
    answer = park_kb.ask("园区有多少家企业？").answer
    # and the sentence stating it comes right after it, before the best sentence, which does not
    assert answer.startswith("330家。 三是永川具有良好的产业生态体系"), answer
    assert (
        lead_of(
            analyse("园区有多少家企业？"),
            ["政策包括“大数据发展20条”“职教发展24条”。", "园区已聚集企业330家。"],
        )
        == "330家"
    )


def test_an_english_question_for_a_percentage_asks_a_share():
    # "What percentage of cloud service fees does the park subsidise?" led with 5,000 yuan.
    asked = analyse("What percentage of cloud service fees does the park subsidise?")
    assert unit_asked(asked) == PERCENT
    sentence = "企业购买公有云服务的，按实际支付费用的30%给予补贴，每家企业最高20万元。"
    assert lead_fact(asked, sentence) == "30%"


@pytest.mark.parametrize(
    ("question", "counted", "sentence", "fact"),
    [
        # "How many consumers…" led with 1000万户 (the merchants): the only count with a
        # measure word, though 20亿 counts the consumers.
        (
            "How many consumers will the service centre serve?",
            ("消费者",),
            "为平台上20亿消费者、1000万户商家提供客服服务。",
            "20亿",
        ),
        # The longest translation need not be the word the sentence uses (院校, not 大学).
        (
            "How many vocational colleges does Yongchuan have?",
            ("大学", "院校", "学院"),
            "一是永川区是西部职教名城，有15所职业院校、13万名在校学生，人才资源丰富；",
            "15所",
        ),
        (
            "How many orders did the call centres handle in 2019?",
            ("订单", "程序"),
            "园区引进呼叫服务企业50多家，2019年受理各类订单9.8亿单。",
            "9.8亿单",
        ),
    ],
)
def test_an_english_count_leads_with_the_count_of_what_it_counts(question, counted, sentence, fact):
    import dataclasses

    asked = dataclasses.replace(analyse(question), counted=counted)
    assert lead_fact(asked, sentence) == fact


def test_a_count_without_a_measure_word_leads_with_the_noun_it_counts(notice_kb):
    # 「多少卡时能换一张算力券？」 led with a bare 1000; 「能为多少消费者提供服务？」 with 20亿.
    assert notice_kb.ask("多少卡时能换一张算力券？").answer.startswith("1000卡时。")
    served = "为平台上20亿消费者、1000万户商家提供客服服务。"
    assert lead_fact(analyse("它能为多少消费者提供服务？"), served) == "20亿消费者"


def test_a_count_of_a_kind_named_by_the_noun_asked_counts_no_amount_of_it():
    # 「计算中心一期能有多少算力？」 led with 3家 of 3家算力配套企业: the companies are counted,
    # 算力 only says which kind.
    sentence = "当天，园区还与3家数据服务企业签订了合作协议。"
    assert lead_fact(analyse("中心每年能处理多少数据？"), sentence) is None
    assert lead_fact(analyse("中心每年能处理多少数据？"), "中心年处理12.6亿条数据。") == "12.6亿条"


def test_a_phone_number_leads_whole():
    # 「王停的电话是多少？」 led with 023, the area code alone.
    sentence = "政策咨询：园区经济发展局 王婷，电话 023-49881236。"
    assert lead_fact(analyse("王婷的电话是多少？"), sentence) == "023-49881236"
    assert lead_fact(analyse("What is Wang Ting's phone number?"), sentence) == "023-49881236"
    assert lead_fact(analyse("王婷的电话是多少？"), "王婷负责政策咨询，共3人。") is None


@pytest.mark.parametrize(
    "question",
    ["大学生来园区找工作能拿多少安家费？", "企业每录用一个能补多少？", "人才最多奖多少？"],
)
def test_a_sum_asked_after_how_much_or_by_what_is_paid_is_a_sum(question):
    # 「大学生来园区找工作能拿多少安家费？」 led with 3年 (of 签订3年以上劳动合同).
    assert unit_asked(analyse(question)) == MONEY
    assert unit_asked(analyse("园区有多少补贴项目？")) != MONEY


def test_a_quantity_that_sets_a_condition_does_not_lead_before_the_one_granted():
    # 「年薪高的人才园区每年最多奖多少？」 led with 30万元 (of 年薪30万元以上的人才).
    sentence = "入驻企业引进年薪30万元以上的高级管理人才，每人每年给予最高8万元的奖励。"
    assert lead_fact(analyse("年薪高的人才园区每年最多奖多少钱？"), sentence) == "8万元"
    # … unless the condition is what is asked.
    assert lead_fact(analyse("年薪至少要多少钱才能拿奖励？"), sentence) == "30万元"


def test_the_item_of_a_list_the_question_names_leads():
    # 「刚毕业的硕士来园区能拿多少钱补贴？」 led with 1万元 (本科毕业生's): 毕业 is said of every
    # graduate in the sentence, 硕士 of one item only.
    sentence = (
        "入驻企业新引进的全日制大学毕业生，给予一次性安家补贴：本科毕业生1万元，"
        "硕士研究生5万元，博士研究生12万元。"
    )
    assert lead_fact(analyse("刚毕业的硕士来园区能拿多少钱补贴？"), sentence) == "5万元"
    assert lead_fact(analyse("刚毕业的博士能拿多少钱？"), sentence) == "12万元"
    # The words before the first figure say what every item is (安家补贴分3年发放): 每年发
    # names the second.
    paid = "安家补贴分3年发放，每年发放三分之一。"
    assert lead_fact(analyse("安家补贴每年发多少？"), paid) == "三分之一"


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # "How big is the largest office unit in the park?" led with 80平方米, the smallest.
        ("How big is the largest office unit in the park?", "1500平方米"),
        ("最大的办公单元有多大？", "1500平方米"),
        ("How big is the smallest office unit?", "80平方米"),
        ("面积最小的办公单元多大？", "80平方米"),
    ],
)
def test_a_superlative_asked_of_a_range_leads_with_its_end(question, fact):
    sentence = "园区产业楼宇提供标准办公单元，面积从80平方米到1500平方米不等，均为精装修交付。"
    assert lead_fact(analyse(question), sentence) == fact


def test_a_superlative_the_sentence_states_is_read_where_it_stands():
    # A cap the sentence states itself (最长1年) is not the largest of its figures.
    sentence = "单次租期最长1年，期满可续租，累计租住不超过5年。"
    assert lead_fact(analyse("单次租期最长多久？"), sentence) == "1年"


def test_an_english_count_leads_with_what_it_counts(notice_kb):
    # "How many cities did Yunqi look at before choosing Yongchuan?" led with a bare "7."
    answer = notice_kb.ask("How many cities did Yunqi look at before choosing Yongchuan?")
    assert answer.answer.startswith("7 cities.")


def test_a_bracketed_figure_belongs_to_the_item_before_it(notice_kb):
    # 「两室一厅的人才公寓多大？」 led with 30平方米 (the 单间's): the brackets cut each figure
    # off from the item it measures.
    assert notice_kb.ask("两室一厅的人才公寓多大？").answer.startswith("75平方米。")
    assert notice_kb.ask("一室一厅的人才公寓多大？").answer.startswith("50平方米。")


def test_a_share_is_asked_by_its_proportion_and_stated_as_a_fraction():
    # 「数字化改造补贴按投资额的多少比例补？」 led with nothing; 「安家补贴每年发多少？」 with 3年.
    asked = analyse("数字化改造补贴按投资额的多少比例补？")
    assert unit_asked(asked) == PERCENT
    sentence = "项目投资额在100万元以上的，按投资额的15%给予补贴，单个项目最高150万元。"
    assert lead_fact(asked, sentence) == "15%"
    assert lead_fact(analyse("比例是多少？"), "每年发放三分之一。") == "三分之一"


@pytest.mark.parametrize(
    ("question", "previous", "resolved"),
    [
        # 「每家最多多少？」 after 「上云补贴按多少比例补？」 was asked on its own (and led with
        # a talent apartment's lease, 1年).
        ("每家最多多少？", "上云补贴按多少比例补？", "上云补贴每家最多多少？"),
        ("几点下班？", "企业服务中心在哪里？", "企业服务中心几点下班？"),
        ("一年最多领几张？", "算力券一张能抵多少钱？", "算力券一年最多领几张？"),
        # The earlier question's subject, not the attribute it asked (租金) of it.
        ("能住多久？", "人才公寓的租金是多少？", "人才公寓能住多久？"),
    ],
)
def test_a_follow_up_that_names_nothing_asks_about_the_earlier_questions_topic(
    question, previous, resolved
):
    assert resolve_follow_up(question, [previous]) == resolved


def test_a_short_question_that_names_something_stands_on_its_own():
    assert resolve_follow_up("停车费多少？", ["上云补贴按多少比例补？"]) == "停车费多少？"


def test_a_share_asked_in_tenths_and_a_sum_asked_with_its_limit_between():
    # 「买云服务的费用能补贴几成？」 led with 20万元, 「申报企业上年度营收最低要求是多少？」
    # with 两年 (of 成立未满两年).
    assert unit_asked(analyse("买云服务的费用能补贴几成？")) == PERCENT
    asked = analyse("申报企业上年度营收最低要求是多少？")
    assert unit_asked(asked) == MONEY
    sentence = "上年度营业收入不低于200万元（初创企业成立未满两年的不受此限）。"
    assert lead_fact(asked, sentence) == "200万元"


@pytest.mark.parametrize(
    "question",
    [
        "上云补贴的通知是哪天发的？",
        "这个补贴通知什么时候发布的？",
        "When was the cloud subsidy notice issued?",
    ],
)
def test_when_a_document_was_issued_is_read_from_its_signature(notice_kb, question):
    # 「上云补贴的通知是哪天发的？」 led with 2021年7月1日 (when the cloud services bought may
    # begin); a notice gives its date of issue on its last line, under the issuer's name.
    answer = notice_kb.ask(question).answer
    assert answer.startswith(("2022年4月15日", "April 15, 2022")), answer


def test_a_date_in_a_sentence_is_no_signature():
    from parkqa.answering import signature_date

    assert signature_date("永川大数据产业园管理委员会经济发展局2022年4月15日") == "2022年4月15日"
    assert signature_date("2022年4月15日") == "2022年4月15日"
    assert signature_date("本办法自2021年4月1日起施行，有效期3年。") is None
    assert signature_date("申报时间为2022年7月1日至7月31日") is None


def test_another_direction_or_number_in_a_name_is_no_typo(notice_kb):
    # 「从重庆北站坐高铁到永川要多久？」 was read as 重庆西站 (“重庆北站”按知识库中的“重庆西站”理解)
    # and answered with its 30分钟: 北 and 西 name different stations, as 一 and 二 name
    # different phases; a slip of the keys does not turn one into the other.
    from parkqa.answering import one_slip

    assert not one_slip("重庆北站", "重庆西站")
    assert not one_slip("第二中学", "第一中学")
    assert one_slip("博彦科枝", "博彦科技")
    answer = notice_kb.ask("从重庆北站坐高铁到永川要多久？")
    assert not any("重庆西站" in note for note in answer.notes)


def test_a_follow_up_replaces_its_counterpart_when_the_earlier_question_has_no_noun_subject():
    # 「那两室一厅呢？」 after 「一室一厅的人才公寓多大？」 was read as 「两室一厅 一室一厅的人才公寓
    # 多大？」 and led with 一室一厅's 50平方米: the word splitter reads 一室一厅 as numerals, so
    # the earlier question had no subject to replace; the span it shares most characters
    # with, in their places, is what the follow-up asks in its stead.
    assert (
        resolve_follow_up("那两室一厅呢？", ["一室一厅的人才公寓多大？"])
        == "两室一厅的人才公寓多大？"
    )


def test_a_time_of_day_asked_leads_with_a_clock_time_not_a_date():
    # 「招聘会几点结束？」 led with 2022年9月20日, the date the notice was signed.
    held = "招聘会于2022年10月15日9:00—15:00在园区会展中心一楼举行。"
    assert lead_fact(analyse("招聘会几点结束？"), held) == "15:00"
    assert lead_fact(analyse("招聘会几点开始？"), held) == "9:00"
    assert lead_fact(analyse("What time does the job fair end?"), held) == "15:00"
    assert lead_fact(analyse("招聘会几点结束？"), "人力资源服务中心2022年9月20日") is None
    assert lead_fact(analyse("招聘会是哪天？"), held) == "2022年10月15日"


def test_asked_a_time_of_day_the_sentence_stating_one_is_chosen(make_kb):
    kb = make_kb(
        {
            "fair.md": "# 招聘会通知\n\n招聘会于2022年10月15日9:00—15:00在会展中心举行。"
            "会展中心设有展位80个。\n\n永川大数据产业园人力资源服务中心\n\n2022年9月20日\n"
        }
    )
    kb.update()
    assert kb.ask("招聘会几点结束？").answer.startswith("15:00。")


def test_the_time_of_day_of_the_run_asked_by_its_order_leads():
    # 「班车早上第二班几点发？」 led with 7:40, the first of 7:40和8:10.
    held = "园区通勤班车：工作日早上7:40和8:10从永川东站发车，下午18:00从园区返回。"
    assert lead_fact(analyse("班车早上第二班几点发？"), held) == "8:10"
    assert lead_fact(analyse("班车早上第一班几点发？"), held) == "7:40"
    assert lead_fact(analyse("下午班车几点从园区返回？"), held) == "18:00"


def test_a_count_in_another_measure_word_of_another_noun_does_not_lead():
    # 「招聘会有多少家企业参加？」 led with 3人, the people each company may send.
    fair = "每家企业限报1个展位、参会人员不超过3人。"
    assert lead_fact(analyse("招聘会有多少家企业参加？"), fair) is None
    assert (
        lead_fact(analyse("园区有多少家企业？"), "园区已聚集企业330家，从业人员1.4万人。")
        == "330家"
    )
    signed = "上半年园区新签约项目27项，协议总投资46.5亿元。"
    assert lead_fact(analyse("园区上半年签约了多少个项目？"), signed) == "27项"


def test_a_deadline_asked_leads_with_the_date_things_must_be_done_by(make_kb):
    # 「企业报名截止到什么时候？」 led with 6月, of 每年6月集中申报期间……值班.
    assert lead_fact(
        analyse("报名截止到什么时候？"), "申报时间为2022年7月1日至7月31日，逾期不予受理。"
    ) == ("7月31日")
    assert lead_fact(
        analyse("回执最晚哪天交？"), "9月1日起接受报名，请于10月8日17:00前提交回执。"
    ) == ("10月8日")
    kb = make_kb(
        {
            "fair.md": "# 招聘会\n\n每年6月集中申报期间，周六上午也安排专人值班。\n\n"
            "# 报名\n\n参会企业请于10月8日17:00前登录平台填写参会回执。\n"
        }
    )
    kb.update()
    assert kb.ask("企业报名截止到什么时候？").answer.startswith("10月8日。")


@pytest.mark.parametrize("question", ["秋季招聘会谁主办的？", "这个通知是哪个部门发的？"])
def test_who_issued_a_document_is_read_from_its_signature(make_kb, question):
    # 「秋季招聘会谁主办的？」 was answered with 本次招聘会预计提供岗位1200余个.
    kb = make_kb(
        {
            "fair.md": "# 关于举办秋季人才招聘会的通知\n\n"
            "园区定于2022年10月15日举办秋季人才招聘会，本次招聘会预计提供岗位1200余个。"
            "每家企业限报1个展位，由园区人力资源服务中心统一安排。\n\n"
            "联系人：陈思远，电话 023-49881310。\n\n"
            "永川大数据产业园人力资源服务中心\n\n2022年9月20日\n"
        }
    )
    kb.update()
    answer = kb.ask(question).answer
    assert answer.startswith("永川大数据产业园人力资源服务中心"), answer


def test_the_issuer_of_a_signature_line():
    assert (
        issuer_of("永川大数据产业园管理委员会经济发展局2022年4月15日")
        == "永川大数据产业园管理委员会经济发展局"
    )
    assert issuer_of("永川大数据产业园人力资源服务中心") == "永川大数据产业园人力资源服务中心"
    assert issuer_of("每家企业限报1个展位，由园区人力资源服务中心统一安排。") is None
    assert issuer_of("2022年9月20日") is None


FORUM = (
    "# 2022永川数字经济发展论坛举行\n\n11月18日，以“数字赋能·智造未来”为主题的2022永川数字经济发展"
    "论坛在永川大数据产业园会展中心举行。来自国内40余家数字经济企业、8所高校和科研院所的230余名"
    "代表参加论坛。\n\n永川区委副书记、区长张志刚出席论坛并致辞。他表示，永川将用三年时间，把大数据"
    "产业园建设成为西部领先的数字经济产业集聚区，力争到2025年园区营业收入突破500亿元。\n"
)


def test_a_day_asked_leads_with_a_date_that_names_a_day():
    # 「数字经济论坛是哪天开的？」 led with 2025年, of 力争到2025年……
    asked = analyse("数字经济论坛是哪天开的？")
    assert lead_fact(asked, "他表示，力争到2025年园区营业收入突破500亿元。") is None
    assert lead_fact(asked, "11月18日，数字经济论坛在园区会展中心举行。") == "11月18日"
    assert lead_fact(analyse("论坛是哪一年开始举办的？"), "论坛于2018年11月18日首次举办。") == (
        "2018年11月18日"
    )


def test_asked_a_day_or_a_place_the_sentence_stating_it_is_chosen(make_kb):
    kb = make_kb({"forum.md": FORUM})
    kb.update()
    assert kb.ask("数字经济论坛是哪天开的？").answer.startswith("11月18日。")
    place = kb.ask("论坛在哪里举办？").answer
    assert place.startswith("11月18日，以“数字赋能·智造未来”为主题"), place


def test_an_english_count_names_what_it_counts_only_when_the_documents_say_it(make_kb):
    # "How many booths are there at the job fair?" led with "more than 1,200 booths.": the
    # count was of 岗位 (jobs), and no passage holds any translation of "booths".
    kb = make_kb(
        {
            "fair.md": "# 招聘会\n\n本次招聘会预计提供岗位1200余个，主要包括客服岗位约500个。"
            "会展中心设有标准展位80个。\n"
        },
        "answer:\n  abstain_below: 0.0005\n",
    )
    kb.update()
    lead = kb.ask("How many booths are there at the job fair?").answer.split(". ")[0]
    assert "booth" not in lead, lead


ROW = "企业名称：锐芯电子，入驻年份：2017，员工人数：420，2023年营业收入：5.6亿元，办公地点：B区。"


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("锐芯电子有多少员工？", "420"),  # the cell under 员工人数, a number of no unit
        ("锐芯在哪栋楼办公？", "B区"),
        ("锐芯营收多少？", "5.6亿元"),
        ("锐芯是哪年入驻的？", "2017"),
    ],
)
def test_the_fact_of_a_table_row_is_the_cell_under_the_label_asked(question, fact):
    """A row read with its header (员工人数：420) answers with the cell whose label holds what
    the question asks."""
    assert lead_fact(analyse(question), ROW) == fact


def test_the_one_of_a_word_is_no_count():
    """唯一一家 (the only one) counts nothing: it led 「园区有多少家企业？」 with 一一家."""
    assert lead_fact(analyse("园区有多少家企业？"), "锐芯电子是园区唯一一家芯片企业。") is None


@pytest.mark.parametrize("question", ["How many companies are in the park?", "园区有几家公司？"])
def test_a_count_of_those_listed_is_no_total(question):
    """以上8家企业 counts the companies a list gave, not all of them: asked how many companies
    there are, no answer leads with it."""
    text = "以上8家企业2023年合计营业收入19.1亿元。园区已聚集企业330家。"
    assert lead_fact(analyse(question), text) == "330家"


def test_an_english_question_takes_the_cell_under_the_label_most_of_its_words_name():
    """ "How much is the monthly rent subsidy for a PhD?" led with the row's first sum (15万元,
    the settling-in subsidy): its translations (月, 租金, 补贴) name 每月租房补贴 most."""
    row = "人才类别：博士研究生，一次性安家补贴：15万元，每月租房补贴：2000元，补贴期限：3年。"
    question = dataclasses.replace(
        analyse("How much is the monthly rent subsidy for a PhD?"),
        translations=("月", "租金", "补贴"),
    )
    assert lead_fact(question, row) == "2000元"


def test_a_word_ending_in_one_hides_only_a_count_of_one():
    """唯一一家 counts nothing, but 高一米 (高 and 一米) and 超一万人 are quantities."""
    assert lead_fact(analyse("树有多高？"), "这棵树高一米。") == "一米"
    assert lead_fact(analyse("园区有多少家企业？"), "园区目前120家企业入驻。").startswith("120家")
