"""The abstention decision: the signals it weighs, measured on real documents, the logistic
model's weights, its thresholds, and the models chosen for the built-in and other encoders."""

from __future__ import annotations

import dataclasses
import math
import shutil

import opencc
import pytest

from conftest import PARK_ARTICLE, PARK_SIDECAR, make_hit, make_passage
from parkqa import KnowledgeBase, load_config
from parkqa.answering import (
    ABSTENTION_MODELS,
    AbstentionModel,
    Support,
    abstention_model,
    asked_attribute,
    fold,
    missing_attribute,
    run_weights,
    units,
    unstated_measure,
    verbatim_share,
)
from parkqa.colloquial import with_written_words
from parkqa.keywords import KeywordIndex, tokenize
from parkqa.questions import analyse

E5 = ABSTENTION_MODELS["builtin:e5-small"]
TYPICAL = Support(
    missing_names=(),
    coverage=0.6,
    dense=0.85,
    agree=True,
    cross_lingual=False,
    word_coverage=0.5,
    dense_margin=0.04,
    verbatim=0.3,
    same_document=False,
)
# Each signal of Support, the model weight it is multiplied by, and a change to it.
SIGNALS = [
    ("dense", "dense", 0.8),
    ("coverage", "coverage", 0.3),
    ("word_coverage", "word_coverage", 0.25),
    ("dense_margin", "dense_margin", 0.03),
    ("agree", "agree", False),
    ("missing_names", "missing_name", ("特斯拉",)),
    ("verbatim", "verbatim", 0.7),
    ("same_document", "same_document", True),
]
BOOLEAN_SIGNALS = ("agree", "missing_names", "same_document")


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def linear_model(**weights: float) -> AbstentionModel:
    """A model that weighs only the signals given (bias included), with threshold 0.5."""
    fields = {f.name: 0.0 for f in dataclasses.fields(AbstentionModel)}
    return AbstentionModel(**{**fields, "threshold": 0.5, **weights})


@pytest.mark.parametrize("model", list(ABSTENTION_MODELS.values()), ids=list(ABSTENTION_MODELS))
@pytest.mark.parametrize(("signal", "weight", "changed"), SIGNALS)
def test_each_signal_moves_the_log_odds_by_its_own_weight(model, signal, weight, changed) -> None:
    before = model.probability(TYPICAL)
    after = model.probability(dataclasses.replace(TYPICAL, **{signal: changed}))
    old = getattr(TYPICAL, signal)
    delta = float(bool(changed)) - float(bool(old)) if signal in BOOLEAN_SIGNALS else changed - old
    assert logit(after) - logit(before) == pytest.approx(getattr(model, weight) * delta, rel=1e-6)


def test_the_probability_by_hand() -> None:
    model = linear_model(bias=-1.0, dense=2.0, coverage=3.0, word_coverage=5.0, agree=7.0)
    support = dataclasses.replace(TYPICAL, dense=0.5, coverage=0.2, word_coverage=0.1, agree=False)
    z = -1.0 + 2.0 * 0.5 + 3.0 * 0.2 + 5.0 * 0.1
    assert model.probability(support) == pytest.approx(1 / (1 + math.exp(-z)))
    assert linear_model().probability(TYPICAL) == 0.5


def test_extreme_signals_give_a_probability_without_overflow() -> None:
    model = linear_model(dense=1e6)
    assert 0.0 < model.probability(dataclasses.replace(TYPICAL, dense=-1.0)) < 1e-20
    assert model.probability(dataclasses.replace(TYPICAL, dense=1.0)) == pytest.approx(1.0)


def test_abstains_strictly_below_the_threshold() -> None:
    even = linear_model()  # probability 0.5 for every question
    assert not even.should_abstain(TYPICAL)
    assert even.should_abstain(TYPICAL, threshold=0.5 + 1e-9)
    assert not even.should_abstain(TYPICAL, threshold=0.5)


def test_a_knowledge_base_threshold_replaces_the_fitted_one_unless_a_name_is_missing() -> None:
    model = linear_model(bias=logit(0.3))  # probability 0.3, fitted threshold 0.5
    assert model.should_abstain(TYPICAL)
    assert not model.should_abstain(TYPICAL, threshold=0.2)
    assert model.should_abstain(TYPICAL, threshold=0.4)
    missing = dataclasses.replace(TYPICAL, missing_names=("特斯拉",))
    assert model.should_abstain(missing, threshold=0.2)
    assert not dataclasses.replace(model, threshold=0.25).should_abstain(missing, threshold=0.2)


def test_a_question_whose_asked_attribute_no_passage_holds_is_refused_however_close():
    """A narrow knowledge base is close to every question about its subject: 「人才公寓的押金是
    多少？」 scored 0.84 against the rent sentence, whose 10元 then led as the deposit."""
    model = linear_model(bias=logit(0.9))  # probability 0.9, fitted threshold 0.5
    unheld = dataclasses.replace(TYPICAL, missing_attribute="押金")
    assert model.should_abstain(unheld)
    assert model.should_abstain(unheld, threshold=0.2)
    assert not model.should_abstain(TYPICAL, threshold=0.2)


@pytest.mark.parametrize(
    ("question", "attribute"),
    [
        ("园区人才公寓的押金是多少？", "押金"),
        ("云启智算公司的注册资本是多少？", "注册资本"),
        ("人才公寓可以养宠物吗？", "宠物"),
        ("云启一期有多少机柜？", "机柜"),
        ("園區的稅率是多少？", "税率"),
        ("园区引进的企业数量是多少？", None),  # 数量 asks for nothing in particular
        ("阿尔坎塔拉地区的人口数量是多少？", "人口"),  # the count of what 人口 names
        ("世界上约有多少百分比的机车集中于亚洲？", None),  # stated as a percentage
        ("理事会的委员中有多少人为学生？", None),  # 人 counts; 为 is no noun's
        ("根據估計華碩總品牌價值約值多少?", None),  # 约值: about (约) worth, a kind of value
        ("清廷必須賠償英國多少銀兩?", None),  # 银两 counts in a unit (四百萬兩)
        ("他们一年要交多少美元？", None),
        ("园区能提供多少公斤的原料？", "原料"),  # what the kilograms are of
        ("园区引进了多少人才？", "人才"),  # a noun may begin with 人
        ("园区有几家酒店？", "酒店"),  # 几家 is one word: a count and its measure word
        ("园区有几所学校？", "学校"),
        ("扁掌龙亚科在地球上生存了多少年？", None),  # 地球上 says where, not what is counted
        ("园区的物业费怎么收？", "物业费"),  # how a fee is charged asks its amount
        ("停车费怎么算？", "停车费"),
        ("人才公寓怎么申请？", None),  # how to apply asks for no value
        ("每个人可以拿到零点零零多少的床位？", None),  # a number, not a noun
        ("主跑道有多长？", None),
        ("阿里巴巴在哪里？", None),  # a name is checked as a name
        ("How much is the deposit?", None),
        # What a thing is or does, asked of the thing itself: its head noun is what is asked.
        ("永川的企業管家是做什麼的？", "管家"),
        ("什么是数字影棚？", "影棚"),
        ("孵化器是什么意思？", None),  # tagged a name: checked as a name
        ("园区是什么时候成立的？", None),  # a date, not what the park is
        ("这是什么？", None),
        ("园区的主导产业是什么？", None),  # 产业 is asked as a kind, its value is named
        ("园区从业人数有多少？", None),  # 人数: a count in people, of those 从业
        # A bound or an amount, which documents state as 最高20万元 or 在100万元以上.
        ("数字化改造补贴的门槛是投资多少？", None),
        ("上云补贴的上限是多少？", "补贴"),  # 上限 (tagged a verb): of the subsidy
        ("补贴额度是多少？", None),
        ("软件开发岗位的月薪范围是多少？", None),  # a range, stated as 8000—15000元
        ("房价的区间是多少？", None),
        ("园区到2025年营收目标是多少？", None),  # a goal, stated as 力争……突破500亿元
        ("园区的企业户数是多少？", None),
        ("园区的就业人数是多少？", "就业"),  # a count of people 就业: what is counted
        # Whether there is a thing: the noun after 有没有 (有无, 是否有).
        ("园区有没有医院？", "医院"),
        ("园区里有无停车场？", "停车场"),
        ("园区是否有医院？", "医院"),
        ("园区有没有人才公寓可以住？", "公寓"),
        ("有没有企业在园区投资？", None),  # 企业 is who, not a thing whose presence is asked
        # 奖励 (a verb used as a noun) after 多少 is what is counted; 技术骨干 is who gets it.
        ("年薪40万的技术骨干每年能拿多少奖励？", None),
    ],
)
def test_the_attribute_a_question_asks_the_value_of(question, attribute):
    assert asked_attribute(analyse(question)) == attribute


def unheld_in(index):
    """What a question asks the value of that the index holds nowhere (or apart from its
    name), read as answering reads it: with the written words of its spoken ones."""

    def unheld(question):
        asked = with_written_words(analyse(question), index.keywords, index.passage_text)
        return missing_attribute(asked, index.keywords, index.passage_text)

    return unheld


def test_what_counts_as_an_attribute_no_passage_holds(repo_park_kb):
    unheld = unheld_in(repo_park_kb.index())
    # A spoken word elsewhere in the question (宿舍: 公寓) does not make 押金 held.
    assert unheld("园区宿舍的押金是多少？") == "押金"
    # 投资额 is held as 投资; a share asked by 比例 is stated as a percentage.
    assert unheld("阿里巴巴的投资额是多少？") == ""
    assert unheld("人才公寓占园区楼宇的比例是多少？") == ""


def test_a_name_its_own_document_is_about_is_not_compared_with_the_attribute() -> None:
    """A document about the name (in its title or section) says what it has in words of its
    own: 尤金袋鼠 weighs 约8公斤 in its article, which never says 体重 (CMRC 2018)."""
    passages = [
        "尤金袋鼠\n\n尤金袋鼠是袋鼠科中细小的成员。",
        "尤金袋鼠\n\n尤金袋鼠很细小，约只有8公斤重。",
        "服务指南\n\n入驻企业员工可申请人才公寓。",
        "园区概况\n\n园区位于城市新区。",
        "动物园\n\n动物园里大象的体重超过5吨。",
        "园区产业\n\n园区引进博彦科技等数据处理企业30多家。",
    ]
    keywords = KeywordIndex.build([tokenize(fold(text)) for text in passages])

    def unheld(question):
        return missing_attribute(analyse(question), keywords, passages.__getitem__)

    assert unheld("尤金袋鼠的体重大约是多少？") == ""
    assert unheld("博彦科技在园区有多少员工？") == "博彦的员工"


def test_an_on_topic_question_about_something_no_passage_mentions_is_refused(repo_park_kb):
    """The park's own, lower threshold let 「人才公寓的押金是多少？」 through with the count of
    apartments; its paraphrase in the article's words is still answered."""
    refused = repo_park_kb.ask("园区人才公寓的押金是多少？")
    assert refused.abstained
    assert refused.answer == "知识库中没有找到关于“押金”的信息。"
    assert refused.missing_terms == ("押金",)
    assert refused.related  # the closest passages are still shown
    assert refused.support.to_json()["missing_attribute"] == "押金"
    assert "2600余套" in repo_park_kb.ask("园区一共有多少套人才公寓？").answer


def test_across_languages_only_the_closest_sentence_counts() -> None:
    model = dataclasses.replace(E5, cross_lingual_dense=0.8)
    english = dataclasses.replace(TYPICAL, cross_lingual=True, coverage=0.0, word_coverage=0.0)
    assert model.should_abstain(dataclasses.replace(english, dense=0.799))
    assert not model.should_abstain(dataclasses.replace(english, dense=0.8))
    assert not model.should_abstain(dataclasses.replace(english, dense=0.8), threshold=0.99)


def test_across_languages_a_question_its_translations_mostly_cover_may_be_less_close() -> None:
    # 「How many talent apartments does the park have?」: its translations (人才公寓, 园区) hold
    # 0.74 of its keyword weight, its closest sentence 0.7295, under the floor of 0.735.
    english = dataclasses.replace(TYPICAL, cross_lingual=True, dense=0.7295)
    assert not E5.should_abstain(dataclasses.replace(english, coverage=0.74))
    assert E5.should_abstain(dataclasses.replace(english, coverage=0.37))
    assert E5.should_abstain(dataclasses.replace(english, coverage=0.74, dense=0.715))


def test_the_fitted_e5_model_on_clear_cases() -> None:
    answered = dataclasses.replace(TYPICAL, dense=0.9, dense_margin=0.06, coverage=0.9)
    unrelated = Support((), coverage=0.0, dense=0.8, agree=False, cross_lingual=False)
    assert not E5.should_abstain(answered)
    assert E5.should_abstain(unrelated)


def test_other_encoders_abstain_below_the_configured_coverage() -> None:
    model = abstention_model("some-org/some-model", min_coverage=0.3, min_dense=0.27)
    assert model is not abstention_model("builtin:e5-small", 0.3, 0.27)
    assert abstention_model("builtin:e5-small", 0.3, 0.27) is E5
    assert model.should_abstain(dataclasses.replace(TYPICAL, coverage=0.29))
    assert not model.should_abstain(dataclasses.replace(TYPICAL, coverage=0.31))
    full = dataclasses.replace(TYPICAL, coverage=1.0, missing_names=("特斯拉",))
    assert model.should_abstain(full)
    english = dataclasses.replace(TYPICAL, cross_lingual=True)
    assert model.should_abstain(dataclasses.replace(english, dense=0.26))
    assert not model.should_abstain(dataclasses.replace(english, dense=0.28))


# The signals, measured on real documents: the park article, the park's visitor guide and
# policies (tests/data/natural/knowledge), and the park article in Taiwan's Traditional forms.
NATURAL = PARK_ARTICLE.parents[1] / "tests" / "data" / "natural" / "knowledge"


def test_the_verbatim_share_is_the_weight_of_the_heaviest_run_a_passage_holds() -> None:
    """Each Chinese character weighs the IDF of the pair it closes, a Latin word its own IDF
    (a stop word nothing): 南燕 is rarer than 的建立者, which both passages hold."""
    passages = [
        "南燕的建立者慕容德，於398年稱帝。",
        "北魏的建立者是拓跋珪。",
        "Murong De founded the Southern Yan.",
    ]
    keywords = KeywordIndex.build([tokenize(fold(text)) for text in passages])
    question = units(fold("南燕的建立者是誰？"))
    assert question == ["南", "燕", "的", "建", "立", "者", "是", "谁"]
    weights = run_weights(question, keywords)
    idf = keywords.token_idf
    assert weights[:3] == [0.0, idf("南燕"), idf("燕的")]
    assert weights[-1] == keywords.max_idf  # 是谁 is in no passage
    southern, northern, english = (verbatim_share(question, weights, fold(p)) for p in passages)
    assert southern == pytest.approx(sum(weights[1:6]) / sum(weights))  # 南燕的建立者
    assert northern == pytest.approx(sum(weights[3:7]) / sum(weights))  # 的建立者是: 的 opens it
    assert southern > northern and english == 0.0
    english_question = units(fold("Who founded the Southern Yan?"))
    english_weights = run_weights(english_question, keywords)
    assert english_weights[0] == 0.0  # who
    share = verbatim_share(english_question, english_weights, fold(passages[2]))
    assert share == pytest.approx(1.0)


def test_a_question_echoing_its_passage_holds_a_large_verbatim_share(park_kb) -> None:
    echoing = park_kb.ask("阿里巴巴集团永川客户体验中心将规划建设多少个席位？").support
    elsewhere = park_kb.ask("巴黎圣母院的屋顶是用什么木材建造的？").support
    # the park's own name, held by every passage, weighs little
    named = park_kb.ask("拼多多在永川大数据产业园有什么项目？").support
    assert echoing.verbatim > 0.5  # 阿里巴巴集团永川客户体验中心将规划建设
    assert elsewhere.verbatim < 0.05 and named.verbatim < 0.2


def test_an_attribute_held_only_apart_from_the_subject_asked_about_is_unheld(make_kb):
    """「博彦科技在园区有多少员工？」: the documents name 博彦科技 and speak of 员工, never in one
    passage; their only count of people is the park's."""
    kb = make_kb({path.name: path.read_text(encoding="utf-8") for path in NATURAL.iterdir()})
    kb.update()
    unheld = unheld_in(kb.index())
    assert unheld("博彦科技在园区有多少员工？") == "博彦的员工"
    assert unheld("香港电讯盈科在永川有多少名员工？") == "香港的员工"
    assert unheld("阿里巴巴永川客户体验中心有多少个席位？") == ""  # held together
    assert unheld("园区有多少员工？") == ""  # no name: the park's own count is held
    refused = kb.ask("博彦科技在园区有多少员工？")
    assert refused.abstained and refused.answer == "知识库中没有找到关于“博彦的员工”的信息。"


def test_both_retrievers_find_the_document_that_answers(make_kb) -> None:
    """The keyword and the dense retriever's best passages share a document for a question one
    document answers, and not for questions about something none of them holds."""
    kb = make_kb({path.name: path.read_text(encoding="utf-8") for path in NATURAL.iterdir()})
    kb.update()
    for question in ("人才公寓怎么申请？", "租金补贴是多少？", "阿里巴巴在永川投资了多少钱？"):
        assert kb.ask(question).support.same_document, question
    # (光合作用需要什么条件？ is left out: both retrievers find 条件 first in the safety report.)
    assert not kb.ask("如何做红烧肉？").support.same_document


def test_a_traditional_knowledge_base_is_read_in_whatever_forms_it_writes(
    park_kb, tmp_path, encoder
):
    """A question's words count as held by a knowledge base in Taiwan's forms (華為, 成為) as by
    the same article in Simplified, whichever script the question is written in (Simplified,
    OpenCC's 華爲 or Taiwan's 華為)."""
    root = tmp_path / "taiwan"
    (root / "knowledge").mkdir(parents=True)
    article = PARK_ARTICLE.read_text(encoding="utf-8")
    to_taiwan = opencc.OpenCC("s2tw").convert
    (root / "knowledge" / PARK_ARTICLE.name).write_text(to_taiwan(article), encoding="utf-8")
    shutil.copy(PARK_SIDECAR, root / "knowledge")
    (root / "parkqa.yaml").write_text("knowledge_dir: knowledge\nindex_dir: index\n")
    taiwan = KnowledgeBase(load_config(root / "parkqa.yaml"), encoder=encoder)
    taiwan.update()
    question = "华为智能工程学院将在几年内建成？"
    simplified = park_kb.ask(question).support
    for asked in (question, opencc.OpenCC("s2t").convert(question), to_taiwan(question)):
        support = taiwan.ask(asked).support
        assert support.coverage == pytest.approx(simplified.coverage, abs=0.03), asked
        assert support.word_coverage == pytest.approx(simplified.word_coverage, abs=0.03), asked
        assert support.verbatim == pytest.approx(simplified.verbatim, abs=0.03), asked


def test_a_value_no_document_mentions_is_refused_beside_the_documents_that_answer_others(
    make_kb,
) -> None:
    """With the park's rent policy indexed, every question about its apartments is close to
    it: the deposit and the registered capital, which no document mentions, are refused and
    named; the rent, which it states, is answered."""
    kb = make_kb({path.name: path.read_text(encoding="utf-8") for path in NATURAL.iterdir()})
    kb.update()
    for question, attribute in (
        ("园区人才公寓的押金是多少？", "押金"),
        ("云启智算公司的注册资本是多少？", "注册资本"),
        ("园区的健身房几点开门？", "开门时间"),  # the guide names it, with no hours
    ):
        refused = kb.ask(question)
        assert refused.abstained, (question, refused.answer)
        assert refused.answer == f"知识库中没有找到关于“{attribute}”的信息。"
    assert "10元" in kb.ask("人才公寓的租金是多少？").answer


def test_what_a_thing_no_passage_mentions_is_refused_by_its_name(make_kb):
    """「永川的企業管家是做什麼的？」 asked of the park article alone (no passage mentions 管家)
    was answered with what a district official said."""
    kb = make_kb({"butler.md": "# 服务\n\n园区为入驻企业提供政策解读和日常协调服务。\n"})
    kb.update()
    refused = kb.ask("园区的企业管家是做什么的？")
    assert refused.abstained and refused.missing_terms == ("管家",)
    assert not kb.ask("园区为入驻企业提供什么服务？").abstained


def test_a_spoken_or_compound_attribute_is_held_by_its_written_form_or_head() -> None:
    """要花钱吗 asks what it costs, which a guide states as 免费; 网上交易 is a kind of 交易,
    which a report states as 在线交易额. Neither is a thing the documents lack, as 押金 is."""
    passages = [
        "园区通勤班车：入驻企业员工凭工牌免费乘坐。",
        "2019年农产品在线交易额102.7亿元。",
        "人才公寓租金标准为每平方米每月10元。",
        "项目建成后预计年营业收入可达5亿元。",
    ]
    keywords = KeywordIndex.build([tokenize(fold(text)) for text in passages])

    def unheld(question):
        asked = with_written_words(analyse(question), keywords, passages.__getitem__)
        return missing_attribute(asked, keywords, passages.__getitem__)

    assert unheld("坐园区班车要花钱吗？") == ""
    assert unheld("农产品网上交易了多少钱？") == ""
    assert unheld("人才公寓的押金是多少？") == "押金"
    # 年收入 is a kind of 收入 (a word of the dictionary), which 年营业收入 holds; 水电费 is not
    # held by 电费, which no passage holds either.
    assert unheld("项目预计年收入多少？") == ""
    assert unheld("人才公寓的水电费是多少？") == "水电费"


@pytest.mark.parametrize(
    "question, missing",
    [
        ("园区健身房几点关门？", "关门时间"),  # had answered 另有便利店、健身房和篮球场。
        ("健身房每天几点开？", "时间"),  # a verb of one character names no time
        ("健身房几点？", "时间"),
        ("周明圆说看中了永川哪几点？", ""),  # which points, not a time
        ("通勤半车早上几点发车？", ""),  # a noun no passage holds (a typo): any time may do
        ("健身房在哪里？", ""),
    ],
)
def test_a_time_of_day_no_passage_states_is_unstated(question, missing):
    facilities = make_passage("园区内设有食堂。另有便利店、健身房和篮球场。")
    office = make_passage("服务中心办公时间为上午9:00—12:00。", doc="knowledge/office.txt")
    hits = [make_hit(facilities), make_hit(office)]  # the office's hours are not the gym's
    keywords = KeywordIndex.build([tokenize(p.text) for p in (facilities, office)])
    assert unstated_measure(analyse(question), hits, keywords) == missing


@pytest.mark.parametrize(
    "stated",
    [
        "健身房9:00—21:00开放。",
        "健身房早上七点开门。",
        "健身房晚上9点半关门。",
        "健身房24小时开放。",
    ],
)
def test_a_time_of_day_a_passage_states_is_stated(stated):
    passages = [make_passage("园区内设有健身房。"), make_passage(stated, doc="knowledge/gym.txt")]
    others = [make_passage(f"园区有{place}。", doc=f"k/{place}") for place in ("食堂", "车位")]
    keywords = KeywordIndex.build([tokenize(p.text) for p in passages + others])
    hits = [make_hit(p) for p in passages]
    assert unstated_measure(analyse("园区健身房几点关门？"), hits, keywords) == ""


def test_a_distance_no_passage_states_is_unstated():
    # 「园区离重庆主城远吗？」 was answered with the park's data-processing companies.
    passages = [
        make_passage("永川是主城都市区的战略支点。园区引进数据处理企业30多家。"),
        make_passage("永川东站到园区约12公里。", doc="knowledge/guide.txt"),
        make_passage("园区有食堂。", doc="knowledge/canteen.txt"),
    ]
    keywords = KeywordIndex.build([tokenize(p.text) for p in passages])
    hits = [make_hit(p) for p in passages]
    for question in ("园区离重庆主城远吗？", "永川离主城有多远？", "主城距离园区有多少公里？"):
        assert unstated_measure(analyse(question), hits, keywords) == "距离", question
    for question in (
        "永川东站离园区多远？",
        "园区离永川东站远不远？",
        "园区有多少家数据处理企业？",
    ):
        assert unstated_measure(analyse(question), hits, keywords) == "", question


def test_a_quantity_asked_in_a_unit_is_stated_in_that_unit_near_the_name():
    """「非洲的猴面包树果实的长度约是多少厘米？」 was refused as 非洲的长度: the passage says 长约
    15至20厘米, never 长度; a quantity in the unit asked beside the name states it."""
    rows = [
        f"植物\n\n{text}"
        for text in (
            "非洲猴面包树的果实长约15至20厘米。",
            "草原很大。",
            "雨季很长。",
            "长度单位有米。",
        )
    ]
    keywords = KeywordIndex.build([tokenize(row) for row in rows])

    def missing(question):
        return missing_attribute(analyse(question), keywords, lambda row: rows[row])

    assert missing("非洲的猴面包树果实的长度约是多少厘米？") == ""
    assert missing("非洲的猴面包树果实的长度约是多少？") == "非洲的长度"  # no unit: held apart
