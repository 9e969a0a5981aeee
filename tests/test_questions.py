"""Question analysis against the knowledge base's own words."""

from __future__ import annotations

import pytest

from parkqa.questions import analyse, join_held_characters

# A term of the documents that the word splitter's dictionary lacks (算力: computing power).
HELD = {"算力", "云启", "计算中心"}


def test_single_characters_a_passage_holds_together_are_one_word() -> None:
    asked = analyse("云启的计算中心一期能有多少算力？")
    assert "算力" not in asked.content_words  # the dictionary splits it: 算 / 力
    joined = join_held_characters(asked, HELD.__contains__)
    assert "算力" in joined.content_words and "算" not in joined.content_words
    assert "云启" in joined.content_words
    assert "算力" in joined.keyword_text.split()


def test_characters_no_passage_holds_together_stay_apart() -> None:
    asked = analyse("云启的计算中心一期能有多少算力？")
    assert join_held_characters(asked, set().__contains__) == asked
    # function words and verbs alone are never joined (能 / 有: 能有)
    joined = join_held_characters(asked, {"能有", "算力"}.__contains__)
    assert "能有" not in joined.content_words


def test_a_new_term_finds_the_sentence_that_states_it(make_kb) -> None:
    kb = make_kb(
        {
            "computing-centre.txt": (
                "计算中心项目\n\n"
                "6月17日，星河数据公司与园区正式签约，总投资8.6亿元建设星河计算中心项目。"
                "该项目分两期建设。一期投资3.2亿元，部署1200个标准机柜，建成后人工智能算力规模"
                "达到300PFlops，计划2022年底建成投用。\n"
            )
        }
    )
    kb.update()
    answer = kb.ask("星河计算中心一期能有多少算力？")
    assert "300PFlops" in answer.answer.split("[1]")[0], answer.answer


def test_a_verb_that_stands_next_to_any_noun_joins_nothing() -> None:
    # 此剧的制作人是谁？: 人是 is in many passages, and no term.
    asked = analyse("此剧的制作人是谁？")
    assert join_held_characters(asked, lambda term: True) == asked


def test_full_width_digits_and_years_in_chinese_numerals_are_read_as_digits():
    # 「２０１９年园区营业收入多少？」 and 「二〇一九年…」 found no year: the answer led with
    # another sentence's sum.
    for question in ("２０１９年园区营业收入多少？", "二〇一九年园区营业收入多少？"):
        asked = analyse(question)
        assert asked.years == ("2019",), question
        assert asked.simplified.startswith("2019年")
        assert asked.as_written("园区") == "园区"
    assert analyse("一共有一二三四个吗？").years == ()  # no 年 after it: no year


def test_the_periods_a_question_names():
    assert analyse("园区今年第二季度签约了多少个项目？").periods == ("第二季度",)
    assert analyse("春季招聘会是哪天？").periods == ("春季",)
    assert analyse("When is the spring job fair?").periods == ("spring",)
    # a festival is no season
    assert analyse("How long is the Spring Festival holiday?").periods == ()
    assert analyse("春节放几天假？").periods == ()


@pytest.mark.parametrize("question", ["安全检查是哪几个部门一起搞的？", "排球比赛在哪里举行？"])
def test_two_ordinary_words_the_word_splitter_tags_a_name_are_no_name(question) -> None:
    # 安全检查 (safety inspection), tagged a person's name by the word splitter's dictionary,
    # was refused as a missing name: "知识库中没有找到关于“安全检查”的信息".
    asked = analyse(question)
    assert asked.names == ()
    assert asked.words[0][1] == "n"


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("狄拉克長眠於何處?", ("狄拉克",)),  # 长眠 (eternal rest), tagged a place
        ("这座城市明白这个道理吗？", ()),  # 城市 tagged a place, 明白 a person
        ("華為在永川投資了多少錢？", ("华为", "永川")),  # names the dictionary capitalises
    ],
)
def test_one_ordinary_word_the_word_splitter_tags_a_name_is_no_name(question, names) -> None:
    # A word the Chinese-English dictionary reads only as an ordinary word (长眠, 城市) was a
    # name no passage holds: a refusal signal for a question about something the documents do
    # hold.
    assert analyse(question).names == names


def test_a_name_the_dictionary_knows_stays_a_name() -> None:
    assert "中央军委" in analyse("中央军委在哪一年成立？").names
