"""Answer-sentence choice: the question's words, meaning, the kind of answer asked for, how far
the passage's score falls behind the best one's, a close runner-up and listed items, each
weighed as documented."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import make_hit, make_passage
from parkqa.answering import (
    BEHIND_PENALTY,
    CANDIDATE_PASSAGES,
    DURATION,
    RUNNER_UP,
    SEMANTIC_WEIGHT,
    TYPE_BONUS,
    choose_sentences,
    has_unit,
    introduces,
)
from parkqa.keywords import KeywordIndex, tokenize
from parkqa.passages import Passage
from parkqa.questions import analyse
from parkqa.retrieval import Hit

TITLE = "本周要闻"
OUTPUT = "智能工厂的产值是多少？"  # a quantity question about 智能 工厂 产值


def passage(text: str, doc: str = "knowledge/news.txt") -> Passage:
    return make_passage(text, title=TITLE, doc=doc)


def choose(question: str, hits: list[Hit], max_sentences: int = 1) -> dict[int, list[int]]:
    keywords = KeywordIndex.build(
        [tokenize(f"{h.passage.title}\n{h.passage.section}\n{h.passage.text}") for h in hits]
    )
    return choose_sentences(analyse(question), hits, keywords, max_sentences)


def test_the_sentence_holding_the_question_words_is_chosen() -> None:
    text = "园区今年新建了两座厂房。阿里巴巴在永川投资了3亿元。百度也来了。"
    assert choose("阿里巴巴在永川投资了多少钱？", [make_hit(passage(text))]) == {0: [1]}


@pytest.mark.parametrize("closest", [0, 1, 2])
def test_meaning_decides_between_sentences_without_question_words(closest: int) -> None:
    similarities = [0.2, 0.4, 0.3]
    similarities[closest] = 0.9
    hit = make_hit(passage("今天天气晴朗。湖边风景很好。晚上有雨。"), tuple(similarities))
    assert choose(OUTPUT, [hit]) == {0: [closest]}


@pytest.mark.parametrize(("offset", "chosen"), [(-0.05, {1: [0]}), (0.05, {0: [0]})])
@pytest.mark.parametrize("behind", [0.1, 0.2])
def test_the_penalty_for_a_passage_behind_against_meaning(
    behind: float, offset: float, chosen: dict[int, list[int]]
) -> None:
    """The same answering sentence in the first passage and in one whose retrieval score is a
    share behind it: the second passage's wins only when its meaning score is ahead by more
    than the penalty for that share."""
    closeness = 1 - BEHIND_PENALTY * behind / SEMANTIC_WEIGHT + offset
    first = make_hit(passage("智能工厂的产值达到五十亿元。今天天气晴朗。"), (closeness, 0.0), 1.0)
    second = make_hit(
        passage("智能工厂的产值达到五十亿元。", doc="knowledge/b.txt"), (1.0,), 1.0 - behind
    )
    assert choose(OUTPUT, [first, second]) == chosen


@pytest.mark.parametrize(("offset", "chosen"), [(-0.05, [1]), (0.05, [0])])
def test_the_bonus_for_the_kind_of_answer_asked_for(offset: float, chosen: list[int]) -> None:
    """Two sentences with the question's words: the one stating a quantity wins unless the
    other is closer in meaning by more than the bonus."""
    closeness = TYPE_BONUS / SEMANTIC_WEIGHT + offset
    text = "智能工厂的产量很高。智能工厂的产量是五十万台。今天天气晴朗。"
    hit = make_hit(passage(text), (closeness, 0.0, 1.0))
    assert choose("智能工厂的产量是多少？", [hit]) == {0: chosen}  # in no unit (产值: 元)


def test_a_question_word_in_most_sentences_counts_less() -> None:
    """工厂 is in two sentences of three and 产值 in one: the sentence with 产值 says more."""
    hit = make_hit(passage("工厂很大。产值很高。工厂很新。"))
    assert choose("工厂的产值是多少？", [hit]) == {0: [1]}


def test_a_quantity_in_the_unit_asked_for_outweighs_meaning() -> None:
    """一万名 is counted in people, 五十家 in companies: asked 多少人, the first wins even
    when the second is the closest sentence in meaning."""
    hit = make_hit(passage("园区有一万名员工。园区有五十家企业。今天天气晴朗。"), (0.0, 1.0, 0.5))
    assert choose("园区有多少人？", [hit]) == {0: [0]}
    assert choose("园区有多少家？", [hit]) == {0: [1]}


def test_only_the_top_passages_are_read() -> None:
    hits = [
        make_hit(passage(f"第{n}段没有相关内容。", doc=f"knowledge/{n}.txt"), (0.0,))
        for n in range(3)
    ]
    answer = make_hit(passage("智能工厂的产值很高。", doc="knowledge/answer.txt"), (1.0,))
    assert CANDIDATE_PASSAGES == 3
    assert choose(OUTPUT, [*hits, answer]) == {0: [0]}
    assert choose(OUTPUT, [*hits[:2], answer]) == {2: [0]}


def test_a_passage_further_down_is_read_when_no_top_one_holds_the_kind_asked() -> None:
    """A quantity asked, and none of the top passages states one: the first passage further
    down that does is read too (多少家企业, the top ones counting only kinds of them)."""
    hits = [
        make_hit(passage(f"第{n}段没有相关内容。", doc=f"knowledge/{n}.txt"), (0.0,))
        for n in range(4)
    ]
    answer = make_hit(passage("智能工厂的产值达到五十亿元。", doc="knowledge/answer.txt"), (1.0,))
    assert choose(OUTPUT, [*hits, answer]) == {4: [0]}
    assert choose("智能工厂在哪里？", [*hits, answer]) == {0: [0]}


@pytest.mark.parametrize(
    ("offset", "max_sentences", "chosen"),
    [(0.05, 2, [0, 1]), (-0.05, 2, [0]), (0.05, 1, [0])],
)
def test_a_close_runner_up_is_kept(offset: float, max_sentences: int, chosen: list[int]) -> None:
    """The second sentence is kept when its score is at least RUNNER_UP of the best's."""
    best = 1 + SEMANTIC_WEIGHT
    closeness = (RUNNER_UP * best - 1) / SEMANTIC_WEIGHT + offset
    text = "智能工厂的产值很高。智能工厂的产值增长很快。今天天气晴朗。"
    hit = make_hit(passage(text), (1.0, closeness, 0.0))
    assert choose(OUTPUT, [hit], max_sentences) == {0: chosen}


@pytest.mark.parametrize(
    ("question", "text", "max_sentences", "chosen"),
    [
        (
            "企业为什么选择园区？",
            "企业选择园区有三个原因，一是交通便利。二是人才充足。三是成本较低。园区还有公园。",
            3,
            [0, 1, 2],
        ),
        (
            "企业为什么选择园区？",
            "企业选择园区有三个原因，一是交通便利。二是人才充足。三是成本较低。园区还有公园。",
            2,
            [0, 1],
        ),
        (
            "企业为什么选择园区？",
            "企业选择园区有三个原因，一是交通便利。二是人才充足。园区还有公园。三是成本较低。",
            3,
            [0, 1],
        ),
        (
            "企业选择园区的三个原因是什么？",
            "企业选择园区有三个原因，一是交通便利。二是人才充足。三是成本较低。四是政策优惠。",
            1,
            [0, 1, 2],
        ),
    ],
)
def test_listed_items_follow_the_best_sentence(
    question: str, text: str, max_sentences: int, chosen: list[int]
) -> None:
    """A list is answered whole, up to max_sentences or the number of items asked for, and
    stops at the first sentence that is not an item."""
    assert choose(question, [make_hit(passage(text))], max_sentences) == {0: chosen}


def test_no_passages_no_answer() -> None:
    assert choose(OUTPUT, []) == {}


def test_who_someone_is_is_answered_by_the_sentence_giving_their_role(park_kb):
    # Before, 「邓文是谁？」 was answered with what 邓文 said (邓文表示……), not who 邓文 is;
    # news text gives a person's post right before the name (区委常委……书记邓文).
    for question in ("邓文是谁？", "鄧文是誰？"):
        answer = park_kb.ask(question)
        assert not answer.abstained
        first = answer.citations[0]
        sentence = first.text[slice(*first.highlights[0])]
        assert "区委常委" in sentence, (question, answer.answer)


def test_a_post_asked_of_someone_is_answered_by_the_sentence_giving_it(repo_park_kb):
    # 「邓文担任什么职务？」 was answered with what 邓文 said (邓文说……): the post is a kind of
    # value documents give before the name, without the word 职务.
    for question in ("邓文担任什么职务？", "邓文的职务是什么？", "鄧文擔任甚麼職務？"):
        answer = repo_park_kb.ask(question)
        assert not answer.abstained
        first = answer.citations[0]
        sentence = first.text[slice(*first.highlights[0])]
        assert "区委常委" in sentence, (question, answer.answer)


def test_a_date_is_no_span_of_time_asked_for() -> None:
    # 6月 of 6月1日 was read as a quantity in months, so the dates got the bonus of the unit a
    # 多长时间 question asks for, and were chosen over the time the review takes.
    text = (
        "房租补贴和人才补贴每年集中申报一次，申报时间为每年6月1日至6月30日。"
        "园区企业服务中心在受理后20个工作日内完成审核。"
    )
    hits = [make_hit(passage(text), (0.86, 0.80))]
    assert choose("企业服务中心审核补贴申报需要多长时间？", hits) == {0: [1]}
    assert not has_unit("申报时间为每年6月1日至6月30日。", DURATION)
    assert has_unit("在受理后20个工作日内完成审核。", DURATION)


def test_a_post_before_a_name_is_found_in_traditional_text() -> None:
    sentence = "據永川區委常委、區新城建管委黨工委書記鄧文透露，阿里將中心放在永川。"
    assert introduces(sentence, ("邓文",))
    assert not introduces("鄧文說，永川將持續用力。", ("邓文",))


@pytest.mark.parametrize(
    ("question", "best", "answering", "left_out"),
    [
        # the sum in a passage behind; the same sum out of reach (UNIT_REACH of the best score)
        (
            "阿里巴巴在园区砸了多少钱？",
            "阿里巴巴在园区建设客服中心，设有5000个席位。",
            ("阿里巴巴投资三亿元。", 0.0, 0.8),
            ("阿里巴巴投资三亿元。", 0.0, 0.1),
        ),
        # the date of birth in another document; someone else's date of birth
        (
            "鲁迅出生于哪一年？",
            "鲁迅出生于浙江绍兴的一个士大夫家庭，是家里的长子。",
            ("鲁迅生于1881年9月。", 0.8, 0.9),
            ("郭沫若生于1892年11月。", 0.8, 0.9),
        ),
    ],
)
def test_the_closest_sentence_of_the_kind_asked_for_joins_a_best_sentence_without_it(
    question: str,
    best: str,
    answering: tuple[str, float, float],
    left_out: tuple[str, float, float],
) -> None:
    """Asked 多少钱, the best sentence holds no sum of money; asked 哪一年, none states a date
    (its passage ranks first and it is closest in meaning). The best-scored sentence that
    does is given too, unless it is out of reach, about someone else, or one sentence is
    asked for."""
    first = make_hit(passage(best), (1.0,), 1.0)

    def other(text: str, similarity: float, score: float) -> Hit:
        return make_hit(passage(text, doc="knowledge/b.txt"), (similarity,), score)

    assert choose(question, [first, other(*answering)], max_sentences=3) == {0: [0], 1: [0]}
    assert choose(question, [first, other(*answering)], max_sentences=1) == {0: [0]}
    assert choose(question, [first, other(*left_out)], max_sentences=3) == {0: [0]}


def test_asked_who_did_something_a_sentence_naming_someone_after_their_post_wins() -> None:
    """哪位领导: the sentence naming 书记张明 wins over one closer in meaning that names no
    one; asked which company, it does not."""
    text = "园区规划了三大产业板块。区委书记张明在会上介绍了园区规划。"
    hit = make_hit(passage(text), (1.0, 0.6))
    assert choose("哪位领导介绍了园区规划？", [hit]) == {0: [1]}
    assert choose("哪家企业参与了园区规划？", [hit]) == {0: [0]}


def test_a_longer_name_after_the_post_does_not_introduce_a_shorter_one() -> None:
    # 书记邓文华 introduces 邓文华, not 邓文; a name followed by something else still counts.
    assert not introduces("区委书记邓文华表示，园区将持续用力。", ("邓文",))
    assert introduces("区委书记邓文华表示，园区将持续用力。", ("邓文华",))
    assert introduces("区委书记邓文一行考察了园区。", ("邓文",))


def test_a_sentence_in_the_unit_asked_for_about_someone_else_does_not_join() -> None:
    # Asked what 阿里巴巴 spent, 腾讯's 三亿元 is no answer, however it is counted.
    first = make_hit(passage("阿里巴巴在园区建设客服中心，设有5000个席位。"), (1.0,), 1.0)
    other = make_hit(passage("腾讯在园区投资三亿元。", doc="knowledge/b.txt"), (0.5,), 1.0)
    assert choose("阿里巴巴在园区砸了多少钱？", [first, other], max_sentences=3) == {0: [0]}


def test_the_sentence_in_the_unit_asked_for_takes_the_runner_up_s_place() -> None:
    # Within max_sentences: the sentence that states a sum is worth more than a runner-up
    # that states none.
    text = "阿里巴巴在园区建设客服中心。阿里巴巴在园区建设呼叫中心。"
    first = make_hit(passage(text), (1.0, 1.0), 1.0)
    second = make_hit(passage("阿里巴巴投资三亿元。", doc="knowledge/b.txt"), (0.5,), 0.9)
    chosen = choose("阿里巴巴在园区砸了多少钱？", [first, second], max_sentences=2)
    assert chosen == {0: [0], 1: [0]}


def test_asked_which_company_a_sentence_naming_an_official_gets_no_bonus() -> None:
    text = "阿里巴巴参与了园区规划。区委书记张明参与了园区规划。今天天气晴朗。"
    hit = make_hit(passage(text), (1.0, 0.6, 0.0))
    assert choose("哪家企业参与了园区规划？", [hit]) == {0: [0]}


def test_a_sentence_naming_the_year_asked_about_beats_one_naming_none() -> None:
    # 「园区2019年营业收入多少？」 led with a policy's 上年度营业收入超过1亿元 (no year), from the
    # better-ranked passage, over 2019年实现营业收入244.7亿元 a passage behind.
    policy = make_hit(
        passage("上年度营业收入超过1亿元的企业，补贴面积上限可提高至6000平方米。", "k/policy.md"),
        (0.879,),
        score=1.27,
    )
    article = make_hit(
        passage(
            "园区已建成产业楼宇70万平方米。目前，园区已聚集企业330家，2019年实现营业收入244.7亿元。"
        ),
        (0.859, 0.862),
        score=1.0,
    )
    assert choose("园区2019年营业收入多少？", [policy, article]) == {1: [1]}


def test_a_year_earns_no_bonus_to_a_sentence_whose_fact_is_of_another_year() -> None:
    # A table row read with its header holds 2019 as a company's year of arrival and the
    # revenue asked of 2023: it led 「园区2019年营业收入多少？」 with "文中没有2019年的数据".
    table = make_hit(
        make_passage("企业名称：数联云，入驻年份：2019，2023年营业收入：4.8亿元。", "园区企业名录"),
        (0.889,),
        score=1.0,
    )
    article = make_hit(
        passage("园区已建成产业楼宇70万平方米。园区已聚集企业330家，2019年实现营业收入244.7亿元。"),
        (0.85, 0.871),
        score=0.84,
    )
    assert choose("园区2019年营业收入多少？", [table, article]) == {1: [1]}


def test_a_count_per_thing_earns_no_bonus_for_counting_the_thing() -> None:
    # 「园区有多少家企业？」 led with 每家入驻企业都配有一名专属“企业管家” (one per company).
    hit = make_hit(
        passage("园区每家入驻企业都配有一名专属企业管家。园区入驻企业共计330家。今天天气晴朗。"),
        (0.86, 0.85, 0.7),
    )
    assert choose("园区有多少家企业？", [hit]) == {0: [1]}


def test_a_sentence_stating_what_is_asked_the_value_of_is_preferred() -> None:
    # 「云启智算预计年收入多少？」 led with the centre's 8.6亿元 (the sentence naming the company)
    # over 预计年营业收入可达5亿元 (the sentence stating the revenue asked about).
    hit = make_hit(
        passage(
            "6月17日，重庆云启智算科技有限公司正式签约，总投资8.6亿元建设计算中心项目。"
            "据测算，项目全部建成达产后，预计年营业收入可达5亿元，带动直接就业600人。"
            "园区还设有职工食堂。"
        ),
        (0.868, 0.83, 0.80),
    )
    assert choose("云启智算预计年收入多少？", [hit]) == {0: [1]}


def test_asked_what_is_required_a_sentence_stating_a_requirement_wins() -> None:
    # 「申请人才公寓需要什么条件？」 led with the flats' sizes, the sentence with 须 close behind.
    text = (
        "人才公寓分为单间、一室一厅和两室一厅三种户型，员工可直接入住。"
        "申请人须为入驻企业员工，并在该企业缴纳社会保险。"
        "园区环境优美。"
    )
    hit = make_hit(passage(text), (0.9, 0.86, 0.5))
    assert choose("申请人才公寓需要什么条件？", [hit]) == {0: [1]}
    assert choose("人才公寓申请要交什么材料？", [hit]) == {0: [1]}
    # Any other question is left to its words and meaning.
    assert choose("人才公寓有哪些户型？", [hit]) == {0: [0]}


def _section(text: str, section: str, doc: str = "knowledge/notice.md") -> Passage:
    return dataclasses.replace(make_passage(text, title="申报通知", doc=doc), section=section)


MATERIALS = "补贴申请表；营业执照复印件；上年度财务报表。所有复印件须加盖企业公章。"
TIMES = "申报时间为7月1日至7月31日。企业在线提交申报材料，纸质材料送至服务窗口。"


@pytest.mark.parametrize(
    "question",
    ["申报补贴要交哪些材料？", "申报材料有哪些？", "申報材料有哪些？"],
)
def test_a_list_asked_for_by_its_section_s_name_is_answered_whole(question: str) -> None:
    """Asked which materials an application needs, the section headed 三、申报材料 is the
    answer, every item of it, though the items never say 材料 and a sentence of another
    section does (提交申报材料)."""
    hits = [
        make_hit(_section(TIMES, "四、申报时间和方式"), (0.5, 0.9), 1.0),
        make_hit(_section(MATERIALS, "三、申报材料"), (0.6, 0.5, 0.4, 0.3), 0.9),
    ]
    assert choose(question, hits, max_sentences=2) == {1: [0, 1, 2, 3]}


@pytest.mark.parametrize(
    "question",
    [
        "复印件要盖什么章？",  # asks one thing the section says, not its list
        "申报材料交到哪里？",  # asks a place: the section's name is only what it is about
        "申报材料有多少页？",
    ],
)
def test_a_question_naming_a_section_without_asking_its_list_gets_its_sentence(question):
    hits = [
        make_hit(_section(TIMES, "四、申报时间和方式"), (0.5, 0.9), 1.0),
        make_hit(_section(MATERIALS, "三、申报材料"), (0.6, 0.5, 0.4, 0.3), 0.9),
    ]
    chosen = choose(question, hits, max_sentences=2)
    assert sum(map(len, chosen.values())) <= 2


def test_a_section_about_the_subject_is_not_the_list_of_what_is_asked():
    """「申请人才公寓需要什么条件？」 holds the heading 三、人才公寓, but asks for conditions,
    which that section does not list."""
    hits = [
        make_hit(
            _section("入驻企业员工可申请人才公寓。人才公寓只租不售。租期最长1年。", "三、人才公寓"),
            (0.9, 0.3, 0.2),
        ),
        make_hit(_section("申请人须为入驻企业员工。", "3. 怎么申请？"), (0.8,), 0.5),
    ]
    assert sum(map(len, choose("申请人才公寓需要什么条件？", hits, 2).values())) <= 2


def test_a_list_item_s_label_comes_with_the_sentence_chosen_from_the_item() -> None:
    # 「检查里最常见的问题是什么？」 answered 部分呼叫中心工位区域存在插线板串联使用……是本次检查
    # 发现最多的问题 without the item's label, 电气线路私拉乱接, which names the problem.
    text = (
        "消防通道被占用。部分楼宇的疏散通道堆放杂物，共发现52处。\n"
        "2. 电气线路私拉乱接。部分工位区域存在插线板串联使用等问题，共发现97处，"
        "是本次检查发现最多的问题。\n"
        "3. 消防设施过期。灭火器超过有效期等问题共发现63处。\n"
    )
    hits = [make_hit(passage(text), (0.2, 0.2, 0.2, 0.9, 0.2, 0.2))]
    assert choose("检查里最常见的问题是什么？", hits, max_sentences=2) == {0: [3, 2]}
    assert choose("灭火器过期的有多少处？", hits) == {0: [5, 4]}
    # A short sentence opening a line with no list number is no label.
    assert choose("疏散通道堆放杂物的有多少处？", hits) == {0: [1]}
