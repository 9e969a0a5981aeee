"""Choose the sentences that answer a question, lead with the fact asked for, or decide that
the knowledge base cannot answer."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from parkqa.chinese import (
    CJK_RANGES,
    has_cjk,
    is_cjk,
    script_forms,
    to_simplified,
    to_traditional,
    units,
)
from parkqa.cleaning import LABEL_PATTERN
from parkqa.colloquial import written_forms
from parkqa.keywords import ENGLISH_STOPWORDS, KeywordIndex, normalize, tokenize
from parkqa.lexicon import lexicon
from parkqa.passages import Passage
from parkqa.questions import (
    LIGHT_VERBS,
    NAME_TAGS,
    QUESTION_WORDS,
    Question,
    analyse,
    written_units,
)
from parkqa.retrieval import Hit, query_tokens, query_weights, sentence_evidence
from parkqa.translation import (
    homophones,
    missing_names,
    mostly_unknown,
    name_in_passages,
    passages_holding,
    pinyin_reader,
    translate,
    unread_share,
)

_MEASURE = (
    r"(?:%|％|元|美元|个工作日|工作日|个自然日|自然日|个小时|个月|个星期|星期|周|秒|个|家|人次|人|名|"
    r"平方米|平米|㎡|平方公里|平方千米|公顷|亩|台|条|套|所|项|座|层|席位|单|倍|公里|千米|米|吨|年|"
    r"分钟|小时|天|月|届|款|部|辆|张|间|位|户|栋|处|起|次|件|批|种)"
)
_UNIT = rf"(?:[亿万千百]?{_MEASURE}|[亿万千百])"
# Digits with the commas and points inside them (1,800; 1.4), never one after them (3. of a
# list item, 2019, of a list of years).
_DIGIT_RUN = r"\d(?:[\d,.]*\d)?"
_NUMBER = rf"(?:{_DIGIT_RUN}|[一二三四五六七八九十百千万两]+)"
QUANTITY = re.compile(
    rf"{_NUMBER}分之{_NUMBER}|{_NUMBER}\s*(?:多|余|几)?\s*{_UNIT}(?:项目|企业)?|{_DIGIT_RUN}"
)  # a fraction (三分之一), a quantity in its unit, a number
# A time counted back from now (10多年前, 三个月前, 几年以前).
_AGO = re.compile(r"(\d+|[一二两三四五六七八九十百千几]+)(多)?个?([年月])(?:以)?前")
DATE = re.compile(
    rf"{_AGO.pattern}|"
    r"(?:(?:19|20)\d{2}\s*年|[今去明]年)?\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号]|底|末|初|[上中下]旬)?"
    r"(?:[至到-]\s*(?:\d{1,2}\s*月\s*)?\d{1,2}\s*[日号])?"
    r"|(?:19|20)\d{2}\s*年(?:底|初|内|年底|上半年|下半年)?|今年|去年|明年|年初|年底|"
    r"第?[一二三四]季度|[一二三四五六七八九十]+月|\b(?:19|20)\d{2}\b|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)(?: \d{1,2})?",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"\d{1,2}[:：]\d{2}")  # a time of day (9:00)
_WHEN = re.compile(f"{DATE.pattern}|{_CLOCK.pattern}", re.IGNORECASE)  # a date or a time
# A question asking a time of day (几点结束？ "what time does it end?"), and one asking when
# something ends or closes, which a range of times (9:00—15:00) states last.
_CLOCK_ASKED = re.compile(r"(?<!哪)几点|\bwhat time\b|\bat what hour\b", re.IGNORECASE)
_END_ASKED = re.compile(
    r"(?:结束|截止|关门|下班|闭馆|散场|停止)|\b(?:end|ends|close|closes|finish|finishes)\b",
    re.IGNORECASE,
)
# A question asking by when, and what says a date is one: 前 or 为止 after it, 截止 before it.
_DEADLINE_ASKED = re.compile(
    r"截止|截至|最晚|最迟|\bdeadline\b|\bby when\b|\blast day\b", re.IGNORECASE
)
_BY_DATE = re.compile(r"[\d:：\s]*(?:前|之前|以前|为止|截止)")
_DEADLINE_BEFORE = re.compile(r"(?:截止|截至)(?:到|于|日期为|时间为)?\s*$")
# What joins the two ends of a range: 9:00—15:00, 8000—15000元, 80平方米到1500平方米, 7月1日至7月31日.
_RANGE_JOINERS = "—–\\-~～至到"
_RANGE_JOIN = re.compile(rf"\s*[{_RANGE_JOINERS}]\s*")
_RANGE_DASH = re.compile(rf"[{_RANGE_JOINERS}]\s*$")  # what comes before a range's end
_DATE_SPAN_END = re.compile(rf"[{_RANGE_JOINERS}]\s*(?P<end>\d)")
# A question asking the day (哪天开的, 几号, "what date"), and a date naming one (11月18日).
_DAY_ASKED = re.compile(
    r"哪天|哪一天|几号|几月几[日号]|\bwhat (?:date|day)\b|\bwhich day\b", re.IGNORECASE
)
_DAY_DATE = re.compile(
    r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\b(?:january|february|march|april|may|june|july|august|"
    r"september|october|november|december) \d{1,2}\b",
    re.IGNORECASE,
)
# Where something is or takes place, stated: 在……会展中心举行, 设在……, 位于…….
_PLACE_STATED = re.compile(
    r"(?:在|于)[^，。；,;]{2,30}?(?:举行|举办|召开|开幕|开展|落户|建设|办公|办理)|位于|地处|设在|坐落"
)
_RUN_ORDER = re.compile(r"第(?P<n>[一二三四五六七八九1-9])(?:班|趟|场|次|轮|批)")  # 第二班: the 2nd
_REASON = re.compile(
    r"因为|由于|原因|之所以|为了|为此|因此|所以|一是|首先|得益于|because|due to|since",
    re.IGNORECASE,
)
_ORGANISATION_KIND = re.compile(r"集团|公司|企业|科技|银行|大学|学院|政府|委员会|研究院|中心")
_ORGANISATION = re.compile(
    rf"[{CJK_RANGES}]{{2,12}}?(?:{_ORGANISATION_KIND.pattern})"
    r"(?:(?:股份)?有限(?:责任)?公司|集团|公司)?"  # 云启智算科技有限公司: the whole name
)
# Posts that news text gives right before a person's name (区委常委、……书记邓文; 董事长周明远).
_POSTS = (
    r"(?:书记|主任|常委|委员|主席|部长|局长|厅长|处长|科长|省长|市长|区长|县长|镇长|校长|院长|"
    r"所长|会长|社长|行长|董事长|董事|总经理|经理|总裁|总监|负责人|创始人|教授|研究员|院士|"
    r"记者|主编|主任医师)"
)
_POST = re.compile(rf"{_POSTS}$")
_REPORTING = r"(?:透露|表示|说|指出|介绍|认为|强调|提出|称|告诉|坦言|了解|获悉|谈到|提到)"
# What a person named after a post does next (区长王强主持, 副主任李晓燕牵头).
_ACTING = (
    r"(?:牵头|负责|主持|带队|率队|率领|带领|出席|参加|担任|兼任|分管|主管|签署|会见|调研|"
    r"宣布|致辞|讲话|发言|陪同|考察|视察)"
)
# The name itself: two or three characters, ended by what a report says next (透露, 在, ，).
# How a report says someone acted (书记亲自带队): no name.
_MANNER = (
    r"(?:亲自|专门|全程|一同|共同|分别|随后|率先|正在|先后|一起|亲临|当场|现场|首先|再次|还|也|都)"
)
_NAME_AFTER_POST = re.compile(
    rf"{_POSTS}(?!{_REPORTING}|{_ACTING}|{_MANNER})(?P<name>[{CJK_RANGES}]{{2,3}}?)"
    rf"(?={_REPORTING}|{_ACTING}|在|等|和|与|[，。、：；,.:;\s]|$)"
)
# The person of a contact line, after its office if it gives one (联系人：园区人力资源服务中心
# 陈思远，电话……; 政策咨询：王婷，电话……).
_CONTACT_NAME = re.compile(
    rf"(?:联系人|咨询|联系)[：:](?:[^，。；：\s]*\s+)?(?P<name>[{CJK_RANGES}]{{2,4}}?)"
    r"(?=[，,、\s]*(?:电话|手机|联系电话|\d{3,4}-))"
)
_PERSON_ASKED = re.compile(r"谁|哪位|何人|什么人|\bwho\b", re.IGNORECASE)
_WHO = re.compile(rf"{_ORGANISATION.pattern}|[A-Z][A-Za-z]+|、")
_PLACE = re.compile(r"省|市|区|县|镇|园|路|街|基地|中心|位于|地处|\bin\b", re.IGNORECASE)
_TYPE_EVIDENCE = {
    "quantity": QUANTITY,
    "date": _WHEN,
    "reason": _REASON,
    "who": _WHO,
    "place": _PLACE,
}
# What a thing requires, asked (申请需要什么条件？ 要交什么材料？), and a sentence stating a
# requirement (申请人须为入驻企业员工).
_REQUIREMENT_ASKED = re.compile(
    r"(?:什么|哪些|啥|何种)(?:样的)?(?:条件|要求|资格|材料|手续)|"
    r"(?:要|需要?|应)(?:满足|具备|符合)|"
    r"\bwhat (?:are the )?(?:requirements|conditions)\b|\bwho (?:can|may) apply\b|\beligib",
    re.IGNORECASE,
)
_REQUIREMENT = re.compile(
    r"须|必须|应当|要求|条件|资格|符合|提交|凭|\bmust\b|\brequired\b|\beligible\b",
    re.IGNORECASE,
)
_ENUMERATION = re.compile(
    r"^(?:[二三四五六七八九十]是|其[二三四五]|其次|再次|另外|此外|最后|第[二三四五六七八九十]|"
    r"[（(]?[二三四五六七八九2-9][)）、.]|second|third|also|finally)",
    re.IGNORECASE,
)


# The lexical signals are measured on the passages the answer is chosen from (see
# CANDIDATE_PASSAGES), the best of them counting.
SUPPORT_PASSAGES = 3


@dataclass(frozen=True)
class Support:
    """The measured signals of whether the knowledge base answers a question."""

    missing_names: tuple[str, ...]  # names the question is about that no passage holds
    coverage: float  # share of the question's keyword weight found in the best passage
    dense: float  # cosine of the closest sentence of the retrieved passages
    agree: bool  # keyword and dense retrieval put the same passage first
    cross_lingual: bool  # the question's language is not the knowledge base's
    missing_years: tuple[str, ...] = ()  # years and periods asked about that no passage mentions
    word_coverage: float = 0.0  # share of the question's words (by weight) the best passage holds
    dense_margin: float = 0.0  # how much closer the closest sentence is than the candidates' mean
    verbatim: float = 0.0  # share of the question's weight in its longest run a passage holds
    same_document: bool = False  # keyword and dense retrieval's best passages share a title
    unread: float = 0.0  # share of an English question's words no passage holds in any translation
    missing_attribute: str = ""  # what the question asks the value of, when no passage holds it
    unheld_phrase: str = ""  # a name with the noun it qualifies that no passage holds together

    @property
    def missing_terms(self) -> tuple[str, ...]:
        """What a refusal names: the missing names, else the value no passage mentions."""
        if self.missing_names or not self.missing_attribute:
            return self.missing_names
        return (self.missing_attribute,)


@dataclass(frozen=True)
class AbstentionModel:
    """A logistic model of P(answerable) over the support signals, fitted on labelled data
    (bench/abstention_bench.py); abstain below threshold. A question in another language
    than the knowledge base's is refused when its closest sentence is below a cosine (a lower
    one when its translations cover most of its keyword weight), when it
    names something no passage holds, or when half or more of its words are held by no
    passage in any translation (cross-language cosines are close for any question, so they
    alone let questions about anything else through). Those two thresholds are set from the
    English question file's fit half (bench/english_bench.py), not fitted with the rest."""

    bias: float
    dense: float
    dense_margin: float
    coverage: float
    word_coverage: float
    agree: float
    missing_name: float
    verbatim: float
    same_document: float
    threshold: float
    cross_lingual_dense: float
    cross_lingual_unread: float = 0.5
    unheld_phrase: float = 0.0
    # A lower cosine floor for a question in another language whose translations hold this
    # share of its keyword weight in the best passage (None: the one floor for all).
    cross_lingual_covered_dense: float | None = None
    cross_lingual_covered: float = 0.6

    def probability(self, support: Support) -> float:
        z = (
            self.bias
            + self.dense * support.dense
            + self.coverage * support.coverage
            + self.word_coverage * support.word_coverage
            + self.agree * float(support.agree)
            + self.missing_name * float(bool(support.missing_names))
            + self.dense_margin * support.dense_margin
            + self.verbatim * support.verbatim
            + self.same_document * float(support.same_document)
            + self.unheld_phrase * float(bool(support.unheld_phrase))
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def should_abstain(self, support: Support, threshold: float | None = None) -> bool:
        """A question in another language than the knowledge base's: abstain as the class
        says. A question asking the value of something no passage mentions (押金 of
        人才公寓的押金是多少？): abstain, however close its subject (a narrow knowledge base
        is close to every question about it, and the value it would lead with is another
        thing's). Any other: abstain below the fitted threshold, or below a knowledge base's
        own (a narrow knowledge base, where every question is close to every passage, needs a
        lower one); a question naming something no passage holds is always held to the
        fitted one."""
        if support.cross_lingual:
            floor = self.cross_lingual_dense
            if (
                self.cross_lingual_covered_dense is not None
                and support.coverage >= self.cross_lingual_covered
            ):
                floor = self.cross_lingual_covered_dense
            return (
                bool(support.missing_names)
                or support.dense < floor
                or support.unread >= self.cross_lingual_unread
            )
        if support.missing_attribute:
            return True
        if threshold is None or support.missing_names:
            threshold = max(self.threshold, threshold or 0.0)
        return self.probability(support) < threshold


# Fitted by bench/abstention_bench.py on the fit half (by article) of two mixed sets: CMRC 2018
# trial questions against DRCD dev questions in Simplified script, and DRCD dev questions
# against CMRC questions in Traditional script; the README gives the held-out figures.
ABSTENTION_MODELS = {
    "builtin:e5-small": AbstentionModel(
        bias=-70.268,
        dense=70.313,
        dense_margin=55.073,
        coverage=1.016,
        word_coverage=5.451,
        agree=-0.002,
        missing_name=-2.230,
        verbatim=8.139,
        same_document=1.334,
        unheld_phrase=-1.054,
        threshold=0.0663,
        cross_lingual_dense=0.735,
        cross_lingual_covered_dense=0.72,
    ),
    "builtin:use-multilingual": AbstentionModel(
        bias=-10.640,
        dense=4.041,
        dense_margin=9.674,
        coverage=1.630,
        word_coverage=6.111,
        agree=0.026,
        missing_name=-2.221,
        verbatim=10.457,
        same_document=1.320,
        threshold=0.2306,
        cross_lingual_dense=0.27,
    ),
}


def abstention_model(encoder: str, min_coverage: float, min_dense: float) -> AbstentionModel:
    """The fitted model for a built-in encoder; for any other, thresholds from the config:
    abstain when a name is missing, when the best passage covers less than min_coverage of
    the question, or, across languages, when it is less close than min_dense."""
    fitted = ABSTENTION_MODELS.get(encoder)
    if fitted is not None:
        return fitted
    return AbstentionModel(
        bias=-20.0 * min_coverage,
        dense=0.0,
        dense_margin=0.0,
        coverage=20.0,
        word_coverage=0.0,
        agree=0.0,
        missing_name=-40.0,
        verbatim=0.0,
        same_document=0.0,
        threshold=0.5,
        cross_lingual_dense=min_dense,
    )


def likely_typo(name: str, keywords: KeywordIndex, texts) -> str | None:
    """A name of the knowledge base that name is likely a typo of: one read the same and
    sharing a character with it (邓雯 for 邓文: pinyin input gives homophones), or, for names
    of three or more characters, one slip away (one_slip: 博彦科枝 for 博彦科技, 文思辉海 for
    文思海辉), where a three-character name's wrong character must read near the right one
    (许月风 for 许月凤, not 张天霖 for 张作霖: a large knowledge base holds many names one
    character from a short one). The same characters in another order are not a typo."""
    if not all(is_cjk(c) for c in name):
        return None
    for word in homophones(name, keywords, texts):
        # Two characters read alike are often two words (行星, 恒星): a surname typed right
        # and a given name mistyped (邓雯 for 邓文) is a typo.
        alike, typed = to_simplified(word), to_simplified(name)
        shared = alike[0] == typed[0] if len(name) == 2 else bool(set(alike) & set(typed))
        if len(word) == len(name) and shared and _name_like(word):
            return word
    if len(name) < 3:
        return None
    rows = keywords.rows_with_at_least(list(name), len(name) - 1)
    seen: Counter[str] = Counter()
    for row in rows[:100]:
        for window in _near_windows(name, texts(int(row))):
            if window != name and one_slip(name, window, near=len(name) == 3):
                seen[window] += 1
    for window, _ in seen.most_common():
        if _name_like(window):
            return window
    return None


# How many characters a name's shortened form may drop between two it keeps (本科生 for
# 本科毕业生), and the passages a short form is looked for in.
SHORTENED_GAP = 2
SHORTENED_PASSAGES = 200


def shortened_in_passages(name: str, keywords: KeywordIndex, texts) -> bool:
    """Whether some passage holds a longer term the name is a short form of, Chinese dropping
    characters to shorten a term (本科生 for 本科毕业生): its first two characters as written,
    then each other one within SHORTENED_GAP characters of the one before, at most
    SHORTENED_GAP dropped in all. Names of three or more characters only: two match too much
    by chance."""
    if len(name) < 3 or not all(is_cjk(c) for c in name):
        return False
    wanted = to_simplified(name)
    gap = f"[{CJK_RANGES}]{{0,{SHORTENED_GAP}}}?"
    pattern = re.compile(re.escape(wanted[:2]) + "".join(gap + re.escape(c) for c in wanted[2:]))
    for start in dict.fromkeys((name[:2], wanted[:2], to_traditional(wanted[:2]))):
        for row in keywords.rows_with_all([start])[:SHORTENED_PASSAGES]:
            text = to_simplified(texts(int(row)))
            if any(len(m.group()) <= len(name) + SHORTENED_GAP for m in pattern.finditer(text)):
                return True
    return False


# Parts of speech of words no name holds (jieba's tags, by first letter): particles,
# prepositions, conjunctions, modal particles, interjections, onomatopoeia, adverbs. Latin
# words ("eng") are none of them.
_FUNCTION_TAGS = frozenset("upcyeod")


def _name_like(word: str) -> bool:
    """Whether a word of the knowledge base reads as a name, not a phrase of ordinary words
    (长期, 得意之, 了三十): no function word, and a word tagged as a name or characters that
    make no word of the dictionary."""
    cut = lexicon().cut(to_simplified(word))
    if any(tag[:1] in _FUNCTION_TAGS and tag != "eng" for _, tag in cut):
        return False
    return any(tag in NAME_TAGS or len(part) == 1 for part, tag in cut)


_NOT_CJK = re.compile(f"[^{CJK_RANGES}]")


def _near_windows(name: str, text: str) -> Iterator[str]:
    """The spans of Chinese characters of text, as long as name, that read as it in all but
    two places or fewer: the only ones one slip can make of it (a scan of every span with
    one_slip took 60 ms for some questions)."""
    size, length = len(name), len(text)
    if length < size:
        return
    wanted = {reading: code for code, reading in enumerate(map(_reading, name))}
    codes = np.fromiter((wanted.get(_reading(c), -1) for c in text), np.int64, length)
    starts = length - size + 1
    alike = np.zeros(starts, dtype=np.int64)
    for k, char in enumerate(name):
        alike += codes[k : k + starts] == wanted[_reading(char)]
    blocked = np.zeros(length + 1, dtype=np.int64)
    blocked[[m.start() + 1 for m in _NOT_CJK.finditer(text)]] = 1
    blocked = np.cumsum(blocked)  # blocked[i]: characters before i that are not Chinese
    chinese = blocked[size : size + starts] == blocked[:starts]
    for start in np.flatnonzero((alike >= size - 2) & chinese):
        yield text[start : start + size]


@functools.lru_cache(maxsize=65536)
def _reading(char: str) -> str:
    """A character's common reading, tones aside; one with none is read as itself alone."""
    readings = pinyin_reader()(char)
    return readings[0][0] if readings else "\0" + char


def one_slip(typed: str, meant: str, near: bool = False) -> bool:
    """Whether typed is meant with one slip: one character replaced (with near=True, only by
    one read near it: near_reading), or two neighbours swapped; homophones count as the same
    character (徐 for 许)."""
    if len(typed) != len(meant):
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, meant)) if not same_reading(a, b)]
    if not differ:
        return True
    if len(differ) == 1:
        a, b = typed[differ[0]], meant[differ[0]]
        if a in _DISTINCT and b in _DISTINCT:
            return False  # 重庆北站 is not 重庆西站, nor 二期 一期
        return not near or near_reading(a, b)
    if len(differ) != 2 or differ[1] != differ[0] + 1:
        return False
    i = differ[0]
    return same_reading(typed[i], meant[i + 1]) and same_reading(typed[i + 1], meant[i])


# Characters that tell apart things of one kind (directions, numbers): one of them in the place
# of another names something else, it is no slip.
_DISTINCT = frozenset("东西南北中上下前后左右内外一二两三四五六七八九十百千万")


# The readings pinyin input methods let a typist confuse ("fuzzy pinyin"): initials, then
# finals, each the longer form and the one it is mistaken for.
_NEAR_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("r", "l"), ("f", "h"))
_NEAR_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fuzzy(reading: str) -> str:
    """A reading with its initial and final in the shorter of each confused pair."""
    for long, short in _NEAR_INITIALS:
        if reading.startswith(long):
            reading = short + reading[len(long) :]
            break
    for long, short in _NEAR_FINALS:
        if reading.endswith(long):
            return reading[: -len(long)] + short
    return reading


def near_reading(a: str, b: str) -> bool:
    """Whether two characters read alike or near, as fuzzy pinyin confuses them (刘 liu and
    牛 niu; 凤 feng and 分 fen)."""
    return same_reading(a, b) or _fuzzy(_reading(a)) == _fuzzy(_reading(b))


@functools.lru_cache(maxsize=8192)
def same_reading(a: str, b: str) -> bool:
    """Whether two characters are the same or read the same in their common reading, tones
    aside (rare readings would make most characters alike)."""
    return a == b or _reading(a) == _reading(b)  # one with no reading is like no other


def check_names(
    asked: Question, keywords: KeywordIndex, texts
) -> tuple[Question, list[str], dict[str, str]]:
    """The names the question is about that no passage holds, after reading a name one
    character away from a name of the knowledge base as that name (a likely typo)."""
    if asked.language == "en":
        return asked, list(missing_names(asked.resolved, keywords, texts)), {}
    missing, corrected = [], {}
    checked = 0
    for name in asked.names:
        written = dict.fromkeys((name, asked.as_written(name), *_place_stem(name)))
        if any(name_in_passages(n, keywords, texts) for n in written):
            continue
        if checked >= NAMES_CHECKED:
            missing.append(name)
            continue
        checked += 1
        if shortened_in_passages(name, keywords, texts):
            continue  # 本科生, of 本科毕业生: a term the documents hold in full
        for wrong in reversed(_with_neighbours(asked, name)):  # the longest span first
            typo = likely_typo(wrong, keywords, texts)
            if typo:
                corrected[wrong] = typo
                break
        else:
            word = _meant_word(name, asked, keywords, texts)
            if word:
                corrected[name] = word
            else:
                missing.append(name)
    for name in _split_names(asked)[:NAMES_CHECKED]:
        if name not in corrected and not name_in_passages(name, keywords, texts):
            typo = likely_typo(name, keywords, texts)
            if typo:
                corrected[name] = typo
    for span in _split_words(asked)[:SPLIT_WORDS_CHECKED]:
        if span in corrected or name_in_passages(span, keywords, texts):
            continue
        word = _meant_word(span, asked, keywords, texts)
        if word:
            corrected[span] = word
    for span in _unheld_thing_asked(asked, keywords, texts):
        typo = likely_typo(span, keywords, texts)
        if typo:
            corrected[span] = typo
            break
    for post in posts_asked(asked):
        if not name_in_passages(post, keywords, texts):
            missing.append(post)  # no passage can say who holds a post none names
    if corrected:
        text = asked.resolved
        for wrong, right in corrected.items():
            text = text.replace(wrong, right).replace(to_traditional(wrong), right)
        asked = dataclasses.replace(analyse(text), text=asked.text)
    return asked, missing, corrected


def _unheld_thing_asked(asked: Question, keywords: KeywordIndex, texts) -> list[str]:
    """What the question asks about (asked_attribute) when no passage holds it, with the word
    before it, the longer first, three characters or more: a mistyped name the word splitter
    cut into ordinary words (知道创语: 知道 / 创 / 语, for 知道创宇) is read as no name."""
    attribute = asked_attribute(asked)
    if not attribute or name_in_passages(attribute, keywords, texts):
        return []
    spans = [attribute]
    at = "".join(word for word, _ in asked.words).find(attribute)
    end = 0
    for word, tag in asked.words:
        end += len(word)
        if end == at and tag[:1] not in _FUNCTION_TAGS:
            spans.insert(0, word + attribute)
    return [span for span in spans if len(span) >= 3]


def _split_names(asked: Question) -> list[str]:
    """Two-character names the word splitter cut into a surname and a character (邓闻 → 邓 /
    闻): only read as a name of the knowledge base they are a likely typo of, never missing.
    A function word after the surname (艾 / 所, a conjunction) is no part of a name."""
    words = asked.words
    return [
        word + after
        for (word, tag), (after, after_tag) in itertools.pairwise(words)
        if len(word) == 1
        and tag == "nr"
        and len(after) == 1
        and is_cjk(after)
        and after_tag[:1] not in _FUNCTION_TAGS
    ]


# The most pairs of split characters checked for a homophone typo in one question, and the
# most names no passage holds checked for a typo (the rest are missing): each check reads the
# knowledge base, and a 2,000-character question of rare characters has hundreds of both.
SPLIT_WORDS_CHECKED = 6
NAMES_CHECKED = 8
# Parts of speech (jieba's, by first letter) of the characters a mistyped word is cut into:
# nouns, verbs, adjectives.
_WORD_PART_TAGS = frozenset("nva")


def _split_words(asked: Question) -> list[str]:
    """Two single characters in a row that the dictionary holds as no word (收 / 如, for 收入
    typed with a homophone): a mistyped word the word splitter cut apart. Light verbs (是,
    有) join the words around them, not a word of their own."""
    return [
        word + after
        for (word, tag), (after, after_tag) in itertools.pairwise(asked.words)
        if len(word) == len(after) == 1
        and is_cjk(word)
        and is_cjk(after)
        and tag[:1] in _WORD_PART_TAGS
        and after_tag[:1] in _WORD_PART_TAGS
        and not {to_simplified(word), to_simplified(after)} & LIGHT_VERBS
        and lexicon().lookup(to_simplified(word + after)) is None
    ]


def _meant_word(typed: str, asked: Question, keywords: KeywordIndex, texts) -> str | None:
    """The word of the knowledge base that characters the dictionary does not hold as one
    word were typed for with a homophone (收如, or 营叶 taken for a name, for 收入 and 营业),
    when it fits what the question asks about; else None."""
    if lexicon().lookup(to_simplified(typed)) is not None:
        return None  # a word of the dictionary is no typo of another
    return next(
        (
            w
            for w in homophones(typed, keywords, texts)
            if _is_word(w, typed) and _said_with(w, asked, typed, keywords, texts)
        ),
        None,
    )


def _is_word(word: str, typed: str) -> bool:
    """Whether a homophone of the typed characters is the word they were meant as: a word of
    the dictionary as long, one character typed right (收如 for 收入, not 花是 for 化石)."""
    return (
        len(word) == len(typed)
        and any(a == b for a, b in zip(to_simplified(word), to_simplified(typed)))
        and lexicon().lookup(to_simplified(word)) is not None
    )


def _said_with(word: str, asked: Question, span: str, keywords: KeywordIndex, texts) -> bool:
    """Whether a passage holding the word also holds two of the question's other words of two
    or more characters (all, if it has fewer): a homophone that fits what the question asks
    about (收入 with 营业 and 2019), not one that only sounds like the typed characters. With
    no other such word, nothing confirms it."""
    others = {
        to_simplified(w)
        for w in asked.content_words
        if len(w) >= 2 and not set(w) & set(to_simplified(span))
    }
    if not others:
        return False
    wanted = min(2, len(others))
    rows = keywords.rows_with_all([word[i : i + 2] for i in range(len(word) - 1)])
    for row in rows[:50]:
        text = to_simplified(texts(int(row)))
        if to_simplified(word) in text and sum(w in text for w in others) >= wanted:
            return True
    return False


_REGION = ("地区", "一带", "境内", "全境", "周边", "沿岸", "地方")


def _place_stem(name: str) -> list[str]:
    """A place asked about as a region (青海地区, 长江沿岸) is held by a passage that names the
    place alone: the word splitter takes the two for one name."""
    return [name[: -len(s)] for s in _REGION if name.endswith(s) and len(name) - len(s) >= 2]


def _with_neighbours(asked: Question, name: str) -> list[str]:
    """The name, then the name with the noun after it and with the noun before it (tried
    the other way round, the longest first): a two-character name is too short to call a
    typo alone, but 博颜科技 is one character from 博彦科技. Only nouns: 邓雯是 is not a name."""
    words = list(asked.words)
    spans = [name]
    at = next((i for i, (word, _) in enumerate(words) if word == name), None)
    if at is None:
        return spans
    if at + 1 < len(words) and words[at + 1][1].startswith("n"):
        spans.append(name + words[at + 1][0])
    if at > 0 and words[at - 1][1].startswith("n"):
        spans.append(words[at - 1][0] + name)
    return spans


# Nouns that name nothing in particular a question asks the value of (企业数量是多少？), or a
# kind of value that documents state without naming it (邓文担任什么职务？ 书记; 补贴的上限是
# 多少？ 最高20万元).
_GENERIC_ATTRIBUTES = frozenset(
    "数量 数目 总数 个数 情况 时间 地点 地方 东西 问题 方面 内容 程度 水平 标准 名字 名称 原因 "  # noqa: SIM905
    "目的 意义 作用 特点 方式 办法 结果 关系 区别 类型 种类 部分 事情 事件 人物 意思 职务 职位 "
    "身份 头衔 职业 角色 地位 性质 形状 外形 外貌 样子 颜色 风格 特征 特色 功能 用途 年份 日期 "
    "时候 理由 条件 要求 政策 措施 比例 比重 占比 百分比 百分点 数值 约值 门槛 上限 下限 额度 "
    "金额 幅度 范围 区间 目标".split()
)
# Words that ask for a thing's amount, or whether there is one (可以养宠物吗？). 什么 and 哪 ask
# for kinds of value documents state without naming them (有什么成绩？); a size or a span (多长,
# 多久) asks for a dimension, not a noun's value.
_ATTRIBUTE_SUFFIXES = "额量数率费价"  # 投资额, 交易量: the amount of what the stem names
_VALUE_ASKED = frozenset(("是否", "吗"))  # and the words that ask how many (_asks_count)
# The measure words things are counted by, which the word splitter joins to 几 (几家, 几所).
CLASSIFIERS = "个家名位户件条项台套所座种类批支栋间辆只张本处起次"


def _asks_count(word: str) -> bool:
    """Whether a word asks how many: 多少, 几, or 几 with its measure word (几家, 几个)."""
    return word in ("多少", "几") or (len(word) == 2 and word[0] == "几" and word[1] in CLASSIFIERS)


def asked_attribute(question: Question) -> str | None:
    """What a Chinese question asks the amount of (or whether there is one): the common noun
    right after its asking word (多少机柜) or the last before it (押金 of 人才公寓的押金是多少？,
    宠物 of 可以养宠物吗？); None when there is none, when it names nothing in particular (数量,
    情况), or for an English question. Names are left to check_names."""
    if question.language != "zh":
        return None
    words = question.words
    present = _presence_asked(words)
    if present:
        return present
    at = next((i for i in range(len(words)) if _asks_value(words, i)), None)
    if at is None:
        return _defined_thing(words)
    if any(word[0] == "多" and word != "多少" for word, _ in words):
        return None
    counted = counted_noun(question, first_only=True)
    if counted:  # 多少人为学生: 人 is what is counted; 多少银两: counted in 两
        if _MEASURE_WORD.fullmatch(counted) or _UNIT_NOUN.search(counted):
            return None
        return _particular(counted)
    if _counts_verb_noun(words, at):  # 多少奖励: the reward is asked, not whoever gets it
        return None
    for i in range(at - 1, max(0, at - 4) - 1, -1):
        word, tag = words[i]
        if _attribute_noun(word, tag) and words[i + 1][1] != "f":  # 在地球上: where, not what
            return _particular(word)
    return None


def _counts_verb_noun(words: Sequence[tuple[str, str]], at: int) -> bool:
    """Whether the asking word at `at` counts a verb used as a noun (多少奖励, 几项投资)."""
    for _, tag in words[at + 1 : at + 4]:
        if tag == "vn":
            return True
        if tag not in ("m", "q"):
            return False
    return False


# What a thing does or means (企业管家是做什么的？) is asked of the thing however it is named;
# what it is (X是什么？) only when the question starts with it (园区的主导产业是什么？ asks for
# the park's industries, which documents may call otherwise).
_DOES_OR_MEANS = frozenset(("做什么的", "干什么的", "干啥的", "做啥的", "什么意思", "啥意思"))
_IS_WHAT = frozenset(("什么", "啥"))


def _defined_thing(words: Sequence[tuple[str, str]]) -> str | None:
    """The head noun of what a question asks to be defined (管家 of 企业管家是做什么的？, 影棚
    of 什么是数字影棚？), or None."""
    words = [(w, t) for w, t in words if t != "x"]  # punctuation
    said = [w for w, _ in words]
    if len(said) > 2 and said[:2] == ["什么", "是"]:
        run = _noun_run(words[2:], len(words) - 2)
        return _head(run) if len(run) == len(words) - 2 else None
    if "是" not in said:
        return None
    at = len(said) - 1 - said[::-1].index("是")
    tail = "".join(said[at + 1 :])
    if tail not in _DOES_OR_MEANS and tail not in _IS_WHAT:
        return None
    run = _noun_run(words[:at], at)
    if tail in _IS_WHAT and len(run) != at:
        return None  # 园区的主导产业是什么？: the value of something else's
    return _head(run)


def _noun_run(words: Sequence[tuple[str, str]], end: int) -> list[str]:
    """The common nouns right before words[end] (企业 管家 of 永川的企业管家)."""
    run: list[str] = []
    for word, tag in reversed(words[:end]):
        if not (tag.startswith("n") or tag == "vn") or tag in NAME_TAGS:
            break
        run.insert(0, word)
    return run


def _head(run: list[str]) -> str | None:
    """The noun a run of nouns names (管家 of 企业管家; 影棚 of 数字 影 棚), unless a kind of
    value (情况, 意思)."""
    if not run:
        return None
    head = run[-1] if len(run[-1]) > 1 or len(run) == 1 else run[-2] + run[-1]
    return _particular(head) if len(head) > 1 else None


_HAS_OR_NOT = frozenset(("有没有", "有无", "是否有"))
# What may follow the thing whose presence is asked (有没有食堂可以吃饭？): no verb or
# preposition, which would make it the subject of a clause (有没有企业在园区投资？).
_AFTER_THING = frozenset(("可以", "可", "能", "供", "吗", "呢"))


def _presence_asked(words: Sequence[tuple[str, str]]) -> str | None:
    """The thing a question asks whether there is (医院 of 园区有没有医院？, 公寓 of 有没有人才
    公寓可以住？): the head of the nouns after 有没有, 有无 or 是否有, when nothing but an
    ending follows them; else None."""
    said = [word for word, _ in words]
    for i, word in enumerate(said):
        joined = word + said[i + 1] if word == "是否" and i + 1 < len(said) else word
        if joined not in _HAS_OR_NOT:
            continue
        start = i + (2 if joined != word else 1)
        end = start
        while end < len(words) and _attribute_noun(*words[end]):
            end += 1
        after = words[end] if end < len(words) else ("", "x")
        if end > start and (after[1] == "x" or after[0] in _AFTER_THING):
            return _head(said[start:end])
        return None
    return None


def _asks_value(words: Sequence[tuple[str, str]], i: int) -> bool:
    """Whether words[i] asks for a value: 多少, 几, 吗 …, or 怎么 before how a sum is charged
    or counted (物业费怎么收？, 停车费怎么算？)."""
    if words[i][0] in _VALUE_ASKED or _asks_count(words[i][0]):
        return True
    return words[i][0] == "怎么" and i + 1 < len(words) and words[i + 1][0] in _CHARGED


_CHARGED = frozenset(("收", "算", "收费", "计算", "计费", "交", "缴"))
_NUMERAL = re.compile(r"[零一二两三四五六七八九十百千万亿]")
# A measure word run into the verb after it (人为 of 多少人为学生), which no noun is.
_MEASURE_WORD = re.compile(r"[个人名家位户件条项台套所座][为是在有被把和与]$")
# A unit of money, weight or length (美元, 银两, 公斤, 英尺): what is counted is a quantity.
_UNIT_NOUN = re.compile(r"[两元币镑斤尺寸米吨克]$")


def _particular(attribute: str) -> str | None:
    """The attribute a noun names in particular: None for a kind of value (数量, 百分比) and
    for a word the segmenter made of a number and what follows (零点 of 零点零零多少) or of a
    unit and 数 (人数), the
    thing counted for a count of it (人口 of 人口数量)."""
    if attribute in _GENERIC_ATTRIBUTES or _NUMERAL.match(attribute):
        return None
    if attribute[-1] == "数" and attribute[-2:-1] in tuple(f"人次{CLASSIFIERS}"):
        # 人数, 户数: a count in a unit, of what the question names besides; 就业人数: of 就业
        return attribute[:-2] if len(attribute) >= 4 else None
    for generic in _GENERIC_ATTRIBUTES:
        if attribute.endswith(generic) and len(attribute) - len(generic) >= 2:
            return attribute[: -len(generic)]
    return attribute


def _attribute_noun(word: str, tag: str) -> bool:
    return tag.startswith("n") and tag not in NAME_TAGS and len(word) >= 2 and word[0] != "多"


def missing_attribute(question: Question, keywords: KeywordIndex, texts) -> str:
    """The attribute the question asks the value of when no passage holds it in any script,
    nor its written form (colloquial.py), its stem (投资额: 投资) or, for a compound of four
    characters or more or of three whose last two are a word, its head (网上交易: 交易, 年收入:
    收入); else "". A knowledge
    base that never mentions 押金 does not say what the deposit is. Nor does one that speaks
    of 员工 and names 博彦科技, never in one passage or the next, say how many staff 博彦科技
    has: then the name's attribute is missing (博彦的员工)."""
    attribute = asked_attribute(question)
    if not attribute:
        return ""
    held = [
        form
        for form in attribute_forms(attribute, keywords, texts)
        if name_in_passages(form, keywords, texts)
    ]
    if not held:
        return attribute
    apart = _named_apart_from(question, held, keywords, texts, _measure_asked(question))
    return f"{apart}的{attribute}" if apart else ""


def _measure_asked(question: Question) -> str:
    """The unit of measure a question asks a quantity in (厘米 of 多少厘米), or ""."""
    words = question.words
    for (word, _), (after, tag) in itertools.pairwise(words):
        if word in ("多少", "几") and tag == "q" and len(after) >= 2:
            return after
    return ""


def attribute_forms(attribute: str, keywords: KeywordIndex, texts) -> list[str]:
    """The forms a passage may state an attribute in: its variants and its written forms
    (宿舍: 公寓) that some passage holds."""
    return [*attribute_variants(attribute), *written_forms(attribute, keywords, texts)]


def attribute_variants(attribute: str) -> list[str]:
    """An attribute, its stem (投资额: 投资) and, for a compound of four characters or more or
    of three whose last two are a word, its head (网上交易: 交易, 年收入: 收入)."""
    stem = attribute[:-1] if attribute[-1] in _ATTRIBUTE_SUFFIXES else ""
    forms = [attribute]
    if len(stem) >= 2:
        forms.append(stem)
    if len(attribute) >= 4 or (
        len(attribute) == 3 and lexicon().lookup(to_simplified(attribute[1:])) is not None
    ):
        forms.append(attribute[-2:])
    return forms


# Passages a name or an attribute may be held in, beyond which the two are not compared.
COMPARED_PASSAGES = 200


def _named_apart_from(
    question: Question, forms: Sequence[str], keywords: KeywordIndex, texts, unit: str = ""
) -> str:
    """The first name of the question that some passage holds, but none that holds, or is
    next to one that holds, any of the forms of the attribute, nor states a quantity in the
    unit asked (长约15至20厘米 states the 长度 asked in 厘米); or ""."""
    attribute_rows: set[int] = set()
    for form in forms:
        rows = passages_holding(form, keywords, texts, COMPARED_PASSAGES)
        if rows is None:
            return ""
        attribute_rows |= rows
    for name in question.names:
        rows = passages_holding(name, keywords, texts, COMPARED_PASSAGES)
        if not rows:
            continue  # a name no passage holds, or too common to tell: check_names' concern
        if any(_in_heading(name, texts(row)) for row in rows):
            continue  # a document or section about it says what it has in words of its own
        near = {r + step for r in rows for step in (-1, 0, 1)}
        if unit and any(re.search(rf"\d\s*{re.escape(unit)}", texts(row)) for row in rows):
            continue
        if not near & attribute_rows:
            return name
    return ""


def _in_heading(name: str, text: str) -> bool:
    """Whether a passage's title or section (its text's first two lines) holds the name."""
    heading = to_simplified("\n".join(text.split("\n", 2)[:2])).lower()
    return to_simplified(name).lower() in heading


_NOUN_LIKE_TAGS = ("j", "vn")  # abbreviations (北大), verbs used as nouns (研究)
# Nouns that after a name say its period or its area (罗马帝国时期, 葵涌地区): the name's own,
# not another thing it names.
_SETTING_NOUNS = frozenset({"时期", "时代", "年间", "期间", "地区", "一带", "境内"})


def _verb_before_yu(run: list[tuple[str, str]], after: str) -> bool:
    """Whether the last word of a run of nouns is a verb by its place before 于 (长眠于, 成立于):
    one the dictionary does not tag a common noun (基金会于……成立: a noun still)."""
    if after != "于":
        return False
    entry = lexicon().lookup(to_simplified(run[-1][0]))
    return entry is None or not entry[1].startswith(("n", "vn")) or entry[1] in NAME_TAGS


def unheld_name_phrase(question: Question, keywords: KeywordIndex, texts) -> str:
    """The first run of two or more nouns in the question, from a name on, that no passage
    holds as written (亚太基金会 where passages hold 亚太 and 基金会 apart: the question is
    about something they do not name), or "". Nouns before the name (距离亚太), a period or
    area after it (亚太地区) and a word before 于 (长眠于: a verb) name nothing else."""
    run: list[tuple[str, str]] = []
    for word, tag in (*question.words, ("", "x")):
        if tag.startswith("n") or tag in _NOUN_LIKE_TAGS:
            run.append((word, tag))
            continue
        named = next((i for i, (_, t) in enumerate(run) if t in NAME_TAGS), len(run))
        run = run[named:]
        if run and (to_simplified(run[-1][0]) in _SETTING_NOUNS or _verb_before_yu(run, word)):
            run.pop()
        if len(run) >= 2:
            phrase = "".join(w for w, _ in run)
            if not name_in_passages(phrase, keywords, texts):
                return phrase
        run = []
    return ""


# A time of day as documents state it: 9:00, 七点, 9点半, 21时, or open all day.
_TIME_OF_DAY = re.compile(
    r"\d{1,2}[:：]\d{2}|(?<![\d.])[\d一二三四五六七八九十两]{1,3}[点时](?:半|\d{1,2}分)?|24小时|全天"
)
# A distance asked (多远, 远吗, 远不远, 距离多少, 多少公里) and one as documents state it (12公里, 500米).
_DISTANCE_ASKED = re.compile(r"多远|远吗|远不远|距离(?:有|是)?多少|(?:多少|几)(?:公里|千米)")
_DISTANCE = re.compile(r"(?:\d|[一二两三四五六七八九十百千])\s*(?:公里|千米|米|km)", re.IGNORECASE)


def unstated_measure(question: Question, hits: Sequence[Hit], keywords: KeywordIndex) -> str:
    """For a Chinese question asking a time of day (健身房几点关门) or a distance (离机场多远),
    what it asks (关门时间, or 时间; 距离) when none of the top passages that hold its rarest
    noun (健身房; any of them if no passage holds one) states one; else "". Their closest
    sentence would only say that the thing exists, and another thing's hours are not its."""
    if question.language != "zh":
        return ""
    if asks_time_of_day(question):
        stated, asked = _TIME_OF_DAY, _time_asked(question)
    elif _DISTANCE_ASKED.search(question.simplified):
        stated, asked = _DISTANCE, "距离"
    else:
        return ""
    nouns = [fold(word) for word, tag in question.words if tag[0] == "n"]
    held = [(rarity, noun) for noun in nouns if (rarity := _rarity(noun, keywords))]
    rarest = max(held, default=(0.0, ""))[1]  # "": no noun held, any passage's may do
    if any(
        rarest in fold(hit.passage.text) and stated.search(hit.passage.text)
        for hit in hits[:SUPPORT_PASSAGES]
    ):
        return ""
    return asked


def _time_asked(question: Question) -> str:
    """The time a question asks with 几点: of the word after it (关门时间), or 时间."""
    words = [word for word, _ in question.words]
    at = next((i for i, word in enumerate(words) if "几点" in word), len(words))
    after = words[at + 1] if at + 1 < len(words) else ""
    return f"{after}时间" if len(after) >= 2 and has_cjk(after) else "时间"


def _rarity(word: str, keywords: KeywordIndex) -> float:
    """The IDF of the rarest token of a word, 0 when some token of it no passage holds."""
    idfs = [any_script_idf(token, keywords) for token in tokenize(word)]
    return 0.0 if None in idfs or not idfs else max(idfs)


def assess_support(
    question: Question,
    hits: list[Hit],
    keywords: KeywordIndex,
    missing_names: tuple[str, ...] = (),
    missing_attribute: str = "",
    unheld_phrase: str = "",
    missing_periods: tuple[str, ...] = (),
) -> Support:
    """The signals of whether the top passages answer the question (missing_names: the names
    it is about that no passage holds; missing_attribute: what it asks the value of, when no
    passage holds it). Words are compared in Simplified characters, so that
    neither the question's script nor the variant forms of a Traditional knowledge base (為,
    爲) count as a difference."""
    cross_lingual = question.language == "en" and mostly_unknown(question, keywords)
    unread = unread_share(question) if cross_lingual else 0.0
    missing_years = tuple(y for y in question.years if keywords.token_idf(y) is None)
    missing_years += missing_periods
    if not hits:
        return Support(
            missing_names,
            0.0,
            0.0,
            False,
            cross_lingual,
            missing_years,
            unread=unread,
            missing_attribute=missing_attribute,
            unheld_phrase=unheld_phrase,
        )
    top = hits[0]
    texts = [folded_passage(hit) for hit in hits[:SUPPORT_PASSAGES]]
    weights, total = keyword_weights(question, keywords)
    asked = units(fold(question.simplified))
    steps = run_weights(asked, keywords)
    best_keyword = max(hits, key=lambda h: h.keyword)
    best_dense = max(hits, key=lambda h: h.dense)
    return Support(
        missing_names=missing_names,
        coverage=max(keyword_coverage(weights, total, text) for text in texts),
        dense=best_dense.dense,
        agree=best_keyword.passage.id == best_dense.passage.id and best_keyword.keyword > 0,
        cross_lingual=cross_lingual,
        missing_years=missing_years,
        word_coverage=max(word_coverage(question, text, keywords) for text in texts),
        dense_margin=best_dense.dense - top.background,
        verbatim=max(verbatim_share(asked, steps, text) for text in texts),
        same_document=best_keyword.passage.title == best_dense.passage.title
        and best_keyword.keyword > 0,
        unread=unread,
        missing_attribute=missing_attribute,
        unheld_phrase=unheld_phrase,
    )


def fold(text: str) -> str:
    """Text as the support signals compare it: width and case folded, in Simplified script."""
    return to_simplified(normalize(text))


def folded_passage(hit: Hit) -> str:
    passage = hit.passage
    return fold(f"{passage.title} {passage.section} {passage.text}")


def any_script_idf(token: str, keywords: KeywordIndex) -> float | None:
    """The IDF of a token in the form the knowledge base writes most (成为, 成爲 or 成為), or
    None if it holds none of them."""
    found = [idf for form in script_forms(token) if (idf := keywords.token_idf(form)) is not None]
    return min(found, default=None)


def keyword_weights(question: Question, keywords: KeywordIndex) -> tuple[dict[str, float], float]:
    """The question's keyword tokens in Simplified script with their IDF, and their total
    weight, in which a token of two or more characters that the knowledge base lacks counts
    as the rarest possible."""
    tokens = tokenize(fold(question.keyword_text or question.simplified))
    weights = {}
    unknown = 0
    for token in set(tokens):
        idf = any_script_idf(token, keywords)
        if idf is not None:
            weights[token] = idf
        elif len(token) > 1:
            unknown += 1
    return weights, sum(weights.values()) + keywords.max_idf * unknown


def keyword_coverage(weights: dict[str, float], total: float, text: str) -> float:
    """The share of the question's keyword weight that a folded passage holds."""
    held = set(tokenize(text))
    return sum(w for t, w in weights.items() if t in held) / total if total else 0.0


def word_coverage(question: Question, text: str, keywords: KeywordIndex) -> float:
    """The share of the question's content words that a folded passage holds verbatim, each
    word weighted by the rarest of its characters in the knowledge base."""
    total = held = 0.0
    for word in question.content_words:
        folded = fold(word)
        weight = max(
            (any_script_idf(c, keywords) or keywords.max_idf for c in tokenize(folded)),
            default=0.0,
        )
        total += weight
        if folded in text:
            held += weight
    return held / total if total else 0.0


def run_weights(asked: list[str], keywords: KeywordIndex) -> list[float]:
    """The weight each unit of the question adds to a verbatim run that holds it: a Chinese
    character the IDF of the pair it closes with the one before, a Latin word its own IDF (a
    stop word none); what the knowledge base lacks weighs as the rarest possible."""
    weights = []
    for at, unit in enumerate(asked):
        if not is_cjk(unit[0]):
            token = None if unit in ENGLISH_STOPWORDS else unit
        else:
            token = asked[at - 1] + unit if at and is_cjk(asked[at - 1][0]) else None
        if token is None:
            weights.append(0.0)
        else:
            weights.append(any_script_idf(token, keywords) or keywords.max_idf)
    return weights


def verbatim_share(asked: list[str], weights: list[float], text: str) -> float:
    """The share of the question's weight (run_weights) in its heaviest run of consecutive
    units that a folded passage holds. A question written while reading a passage echoes a
    rare phrase of it (南燕的建立者, the passage 南燕的建立者慕容德); a question about something
    else shares stock phrases (的是什么) and, in a knowledge base of one subject, its name,
    whose characters every passage holds and so weigh little."""
    total = sum(weights)
    if not total:
        return 0.0
    held = f" {' '.join(units(text))} "
    prefix = [0.0, *itertools.accumulate(weights)]
    best = 0.0
    end = 0
    for start in range(len(asked)):
        end = max(end, start)  # a run found from an earlier start holds its suffixes too
        while end < len(asked) and f" {' '.join(asked[start : end + 1])} " in held:
            end += 1
        if end > start:
            own = weights[start] if not is_cjk(asked[start][0]) else 0.0
            best = max(best, prefix[end] - prefix[start + 1] + own)
    return best / total


# Sentence choice, tuned on the CMRC 2018 trial set, DRCD dev and the natural questions' tune
# split: the weight of meaning (the sentence's cosine to the question, rescaled over the
# candidates), the bonus for holding the kind of answer asked for, the penalty for how far the
# passage's retrieval score falls behind the best one's (a share of it), and how close to the
# best score a runner-up must be to be kept as a second sentence.
SEMANTIC_WEIGHT = 0.5
TYPE_BONUS = 0.3
# More when the quantity is counted in the unit asked for (多少人: 2万人) or the sentence holds
# the thing counted (多少机柜: 1200个标准机柜).
UNIT_BONUS = 0.6
POST_BONUS = 1.0  # who someone is: the sentence giving their post before their name
PERSON_BONUS = 0.6  # who did something: a sentence naming someone after their post
YEAR_BONUS = 0.3  # a sentence naming a year the question names
DEADLINE_BONUS = 0.3  # asked by when: a sentence saying by when (10月8日前, 截止到9月30日)
ATTRIBUTE_BONUS = 0.3  # a sentence stating what the question asks the value of (收入)
ATTRIBUTE_SHARE = 3  # … when at most one candidate sentence in this many states it
CANDIDATE_PASSAGES = 3
BEHIND_PENALTY = 1.5
RUNNER_UP = 0.85
UNIT_REACH = 0.5  # a sentence in the unit asked for joins a best sentence without one
SPREAD = 0.5  # how much less a question word counts when most sentences contain it


def choose_sentences(
    question: Question, hits: list[Hit], keywords: KeywordIndex, max_sentences: int
) -> dict[int, list[int]]:
    """The answer: {hit index: [sentence indexes]}, the best sentence first (the rest in their
    passage's order), its passage first. Sentences of the top
    three passages are scored by the question's distinctive words they hold, their closeness
    in meaning to the question, a bonus when they hold the kind of answer asked for, name a
    year the question names or state what it asks the value of, and how
    far their passage's score falls behind the best passage's; a close runner-up is kept too,
    so is the best sentence in the unit asked for (多少钱: a sum) or, asked when, the best
    stating a date or time, when the best holds none, and a list is answered whole."""
    candidates = _with_answer_kind(question, hits)
    listed = section_listed(question, candidates)
    if listed is not None:
        return {listed: list(range(min(len(candidates[listed].passage.sentences), LISTED_MOST)))}
    tokens = query_tokens(question, keywords)
    weights = query_weights(tokens, keywords)
    pattern = _TYPE_EVIDENCE.get(question.kind)
    if question.kind == "date" and asks_time_of_day(question):
        pattern = _CLOCK  # 几点结束: a sentence stating a time of day, not only a date
    elif asks_day(question):
        pattern = _DAY_DATE  # 哪天开的: a sentence naming a day, not only a year
    if question.kind == "what" and _REQUIREMENT_ASKED.search(question.simplified):
        pattern = _REQUIREMENT  # what a thing requires: a sentence stating a requirement
    unit = unit_asked(question) if question.kind == "quantity" else None
    counted = counted_noun(question) if question.kind == "quantity" else None
    holds_count = count_asked(question)  # 多少家企业: 企业330家, not 数据处理企业30多家
    person = identity_subjects(question)
    person_asked = asks_for_person(question)
    issue = asks_issue_date(question)
    deadline = asks_deadline(question)
    issuer = asks_issuer(question)
    years = re.compile(rf"(?<!\d)(?:{'|'.join(question.years)})(?!\d)") if question.years else None
    attribute = asked_attribute(question)
    stated = attribute_variants(attribute) if attribute else []
    if stated:  # only an attribute that singles sentences out (收入, not the 园区 of most)
        texts = [
            to_simplified(hit.passage.sentence_text(sentence))
            for hit in candidates
            for sentence in hit.passage.sentences
        ]
        holding = sum(any(form in text for form in stated) for text in texts)
        if holding * ATTRIBUTE_SHARE > len(texts):
            stated = []
    similarities = [s for hit in candidates for s in hit.similarities]
    low, high = (min(similarities), max(similarities)) if similarities else (0.0, 0.0)
    scored: list[tuple[float, int, int]] = []
    # Sentences with a quantity in the unit asked for, or, asked when, a date or a time.
    in_unit: set[tuple[int, int]] = set()
    best_score = max((hit.score for hit in candidates), default=0.0)
    for i, hit in enumerate(candidates):
        behind = (best_score - hit.score) / best_score if best_score > 0 else 0.0
        shares = sentence_evidence(hit.passage, weights, True, SPREAD)
        for s, share in enumerate(shares):
            text = hit.passage.sentence_text(hit.passage.sentences[s])
            bonus = TYPE_BONUS if pattern is not None and pattern.search(text) else 0.0
            counts_in_unit = holds_count is not None and holds_count(text)
            if counts_in_unit:
                bonus += UNIT_BONUS
            elif (
                counted
                and not question.counted  # "how many" of English: counts_in_unit said
                and counted in to_simplified(text)
                and _states_count(question, _simplified_alike(text))
                and not (unit and counts_kinds_only(_simplified_alike(text), counted, unit))
            ):
                bonus += UNIT_BONUS  # 多少算力: a quantity of 算力
            if (
                years
                and years.search(text)
                and not (question.kind == "quantity" and fact_of_other_year(question, text))
            ):
                bonus += YEAR_BONUS  # a year of the fact: not 2019 in 入驻年份：2019，2023年收入
            if (issue and signature_date(text)) or (issuer and issuer_of(text)):
                bonus += ISSUE_BONUS
            if deadline and _deadlines(text, list(DATE.finditer(text))):
                bonus += DEADLINE_BONUS
            if question.kind == "place" and _PLACE_STATED.search(text):
                bonus += TYPE_BONUS  # 在……会展中心举行, more than any sentence naming a 区
            if any(form in to_simplified(text) for form in stated):
                bonus += ATTRIBUTE_BONUS
            if person and introduces(text, person):
                bonus += POST_BONUS
            elif person_asked and people_named(question, to_simplified(text)):
                bonus += PERSON_BONUS
            meaning = 0.0
            if s < len(hit.similarities) and high > low:
                meaning = (hit.similarities[s] - low) / (high - low)
            scored.append(
                (share + SEMANTIC_WEIGHT * meaning + bonus - BEHIND_PENALTY * behind, i, s)
            )
            dated = question.kind == "date" and pattern is not None and pattern.search(text)
            if (counts_in_unit or dated) and _names_any(question, text):
                in_unit.add((i, s))
    if not scored:
        return {}
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    best, best_hit, best_sentence = scored[0]

    def text(i: int, s: int) -> str:
        passage = candidates[i].passage
        return passage.sentence_text(passage.sentences[s]).strip()

    # Neighbouring passages overlap: the same sentence in another passage adds nothing.
    said = text(best_hit, best_sentence)
    scored = [scored[0], *(item for item in scored[1:] if text(*item[1:]) != said)]
    chosen = {best_hit: [best_sentence]}
    runner_up = None
    if max_sentences > 1 and len(scored) > 1 and best > 0 and scored[1][0] >= RUNNER_UP * best:
        runner_up = scored[1][1:]
        chosen.setdefault(runner_up[0], []).append(runner_up[1])
    if max_sentences > 1 and in_unit and (best_hit, best_sentence) not in in_unit:
        score, i, s = next((item for item in scored if item[1:] in in_unit), (0.0, -1, -1))
        if i >= 0 and score >= UNIT_REACH * best and s not in chosen.get(i, []):
            if runner_up and max_sentences <= 2 and runner_up not in in_unit:
                chosen[runner_up[0]].remove(runner_up[1])  # a sum beats a runner-up without
                chosen = {h: sentences for h, sentences in chosen.items() if sentences}
            chosen.setdefault(i, []).append(s)
    wanted = _items_asked_for(question)
    if question.kind in ("reason", "who") or wanted:
        limit = max(max_sentences, wanted)
        passage = hits[best_hit].passage
        for s in range(best_sentence + 1, len(passage.sentences)):
            if sum(map(len, chosen.values())) >= limit or s in chosen[best_hit]:
                break
            if not _ENUMERATION.match(passage.sentence_text(passage.sentences[s]).strip()):
                break
            chosen[best_hit].append(s)
    label = _item_label(hits[best_hit].passage, best_sentence)
    if label is not None and label not in chosen[best_hit]:
        chosen[best_hit].append(label)  # 2. 电气线路私拉乱接。 of the item's sentence chosen
    return {
        i: [best_sentence, *sorted(set(indexes) - {best_sentence})]
        if i == best_hit
        else sorted(indexes)
        for i, indexes in chosen.items()
    }


# A list item's number at the start of a line (2. 3、 （四）) and how long its label, a short
# first sentence naming the item (电气线路私拉乱接。), may be.
_ITEM_NUMBER = re.compile(
    r"(?:^|\n)\s*(?:\d{1,2}[.、．]|[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}、)\s*$"
)
LABEL_MOST = 16


def _item_label(passage: Passage, at: int) -> int | None:
    """The sentence before sentence `at` when it is the label that opens a numbered list item
    (2. 电气线路私拉乱接。) and sentence `at` goes on with the same item on its line."""
    if at == 0:
        return None
    label, sentence = passage.sentences[at - 1], passage.sentences[at]
    between = passage.text[label.end : sentence.start]
    if "\n" in between or between.strip() or label.end - label.start > LABEL_MOST:
        return None
    return at - 1 if _ITEM_NUMBER.search(passage.text, 0, label.start) else None


def _with_answer_kind(question: Question, hits: list[Hit]) -> list[Hit]:
    """The passages an answer is chosen from: the first CANDIDATE_PASSAGES, and, when none of
    them holds a quantity of what is asked (多少家企业 with only 数据处理企业30多家 among them)
    or the signature a date of issue asked is read from, those down to the first passage
    further down that does."""
    candidates = hits[:CANDIDATE_PASSAGES]
    holds = holds_answer_kind(question)
    if holds is None or any(holds(hit.passage.text) for hit in candidates):
        return candidates
    further = next(
        (n for n in range(CANDIDATE_PASSAGES, len(hits)) if holds(hits[n].passage.text)), None
    )
    return hits[: further + 1] if further is not None else candidates


# A question asking for a list of things (哪些材料, 有什么要求), and the most sentences of a
# section named by it that answer it.
_LIST_ASKED = re.compile(
    r"哪些|哪几|有什么|什么(?:样的)?(?:条件|要求|资格|材料|手续|内容|措施|服务|政策|标准|规定)"
)
LISTED_MOST = 8
# A section heading's number (三、, 2., 第二章): not what the section is about.
_HEADING_NUMBER = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百\d]+[章节条部分]|[一二三四五六七八九十]+[、.．]|"
    r"[(（][一二三四五六七八九十\d]+[)）]|\d+(?:\.\d+)*[、.．]?)\s*"
)
_HEADING_WORD_TAGS = ("n", "v", "a")


def section_listed(question: Question, hits: Sequence[Hit]) -> int | None:
    """The first of the hits whose section the question asks the list of (申报补贴要交哪些
    材料？ of 三、申报材料): a question asking for a list of the things the heading names that
    holds every content word of the heading. The section is the answer, item by item, though its items
    never name what they are (补贴申请表；营业执照复印件). None when there is no such section."""
    if question.language != "zh" or not _LIST_ASKED.search(question.simplified):
        return None
    thing = _listed_thing(question)
    if not thing:
        return None
    for i, hit in enumerate(hits):
        words = heading_words(hit.passage.section)
        if (
            words
            and _holds_word(to_simplified(hit.passage.section), thing)
            and all(_holds_word(question.simplified, word) for word in words)
        ):
            return i
    return None


_LIST_WORDS = frozenset(("哪些", "哪几", "什么", "什么样", "啥"))
_LISTING_VERBS = frozenset(("有", "是", "包括", "包含", "都", "都有"))


def _listed_thing(question: Question) -> str | None:
    """What a question asks the list of: the noun after its asking word (材料 of 要交哪些
    材料？) or, when none follows, the noun before it (申报材料 of 申报材料有哪些？)."""
    words = question.words
    for i, (word, _) in enumerate(words):
        if word not in _LIST_WORDS:
            continue
        if i + 1 < len(words) and words[i + 1][1].startswith("n"):
            return words[i + 1][0]
        j = i - 1
        while j >= 0 and words[j][0] in _LISTING_VERBS:
            j -= 1
        if j >= 0 and words[j][1].startswith("n"):
            return words[j][0]
    return None


def _holds_word(text: str, word: str) -> bool:
    """Whether text holds the word, or each of two parts of it (申报 and 材料 of 申报材料, which
    the dictionary holds as one word)."""
    return word in text or any(
        word[:cut] in text and word[cut:] in text for cut in range(2, len(word) - 1)
    )


def heading_words(section: str) -> list[str]:
    """The content words of a section heading, without its number: 申报 and 材料 of 三、申报
    材料; none of the question words or light verbs of a heading asked as a question."""
    heading = to_simplified(_HEADING_NUMBER.sub("", section))
    return [
        word
        for word, tag in lexicon().cut(heading)
        if tag.startswith(_HEADING_WORD_TAGS)
        and word not in QUESTION_WORDS
        and word not in LIGHT_VERBS
    ]


_COUNT = re.compile(r"([两二三四五六七八九2-9])\s*(?:个|大|项|条|点|方面)")
_DIGITS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _items_asked_for(question: Question) -> int:
    """How many items a question asks for by number (「两个条件」: 2), else 0."""
    match = _COUNT.search(question.simplified)
    if not match:
        return 0
    digit = match.group(1)
    return int(digit) if digit.isdigit() else _DIGITS[digit]


# A label and its value in a sentence of them, as a table's row is read (员工人数：420).
_LABELLED = re.compile(LABEL_PATTERN + r"([^，,。；;\n]+)")
# The labels of a date and of a place (入驻年份, 办公地点).
_TYPE_LABELS = {"date": re.compile("年份|日期|时间"), "place": re.compile("地点|地址|位置|所在地")}


def labelled_value(question: Question, sentence: str) -> str | None:
    """In a sentence of two or more label：value pairs (a table's row), the value of the one
    label that says what a question asks (an English one: _value_most_named). Asked a
    quantity, the label holding the thing it asks the amount of (员工 of 员工人数), with a
    number; asked a date or a place, the one label of a date or place, else, as for any other
    question, the first of its content words that one label holds (办公 of 在哪栋楼办公, under
    办公地点). None when no label, or more than one, holds it."""
    pairs = [(to_simplified(m.group(1)), m.group(2).strip()) for m in _LABELLED.finditer(sentence)]
    if len(pairs) < 2:
        return None
    if question.language == "en":
        return _value_most_named(question, pairs)
    if question.kind == "quantity":
        asked = [asked_attribute(question) or counted_noun(question)]
    else:
        typed = None if asks_time_of_day(question) else _TYPE_LABELS.get(question.kind)
        labelled = [value for label, value in pairs if typed and typed.search(label)]
        if len(labelled) == 1:
            return labelled[0]
        asked = [w for w in question.content_words if len(w) >= 2 and w not in question.names]
    for word in dict.fromkeys(w for w in asked if w):
        holding = [value for label, value in pairs if word in label]
        if len(holding) == 1 and (question.kind != "quantity" or _DIGIT.search(holding[0])):
            return holding[0]
        if holding:
            return None
    return None


def _value_most_named(question: Question, pairs: list[tuple[str, str]]) -> str | None:
    """For an English question, the value of the one label holding more of its translations
    than any other (monthly rent subsidy: 月, 补贴 of 每月租房补贴, against 补贴 alone of
    一次性安家补贴); a number, asked a quantity."""
    held = sorted(
        ((sum(t in label for t in question.translations), value) for label, value in pairs),
        key=lambda pair: -pair[0],
    )
    (most, value), runner_up = held[0], held[1][0]
    if most == 0 or most == runner_up:
        return None
    return value if question.kind != "quantity" or _DIGIT.search(value) else None


_DIGIT = re.compile(r"\d")


def lead_fact(question: Question, sentence: str) -> str | None:
    """The fact the question asks for, as the sentence states it: the quantity, date or name
    closest to the question's words in the sentence."""
    if asks_issuer(question):
        return issuer_of(sentence)
    labelled = labelled_value(question, sentence)
    if labelled:
        return labelled
    original = sentence
    sentence = _simplified_alike(sentence)
    noun = counted_noun(question) if question.kind == "quantity" else None
    if question.kind in ("quantity", "what") and _PHONE_ASKED.search(question.simplified):
        found = list(_PHONE.finditer(sentence))  # 023-49881236, not 023
        if not found:
            return None
    elif question.kind == "quantity" and _RANK_ASKED.search(question.simplified):
        found = list(_RANK.finditer(sentence))  # 排第几: 第三, not the sum ranked
    elif question.kind == "quantity":
        found = _quantities(sentence)
        unit = unit_asked(question)
        counted = noun
        if unit == COUNTED and counted and question.language == "zh":
            # 多少企业: a count of 企业, in any measure word or none (20亿消费者)
            found = [m for m in found if _counts(sentence, m, counted)]
            if not found:
                return None  # not 2 of 2号楼, nor 1800个 of 车位
            unit = None
        elif unit == COUNTED and question.counted:  # how many consumers: 20亿消费者
            nouns = question.counted
            counting = [
                m for m in found if any(_counts(sentence, m, n, ENGLISH_COUNT_REACH) for n in nouns)
            ]
            if counting:
                found, unit, counted = counting, None, None
        if unit:
            if unit not in _MEASURES and not asks_per_thing(question):  # 每家企业……2名
                found = [m for m in found if not _no_total(sentence, m)] or found
            if unit == PEOPLE or (len(unit) == 1 and unit[0] in CLASSIFIERS and unit[0] != "个"):
                # 几栋: not 1.4万人 nor 63处; 多少人: not 126人次 nor 214家, counts of other things
                found = [m for m in found if not _in_other_measure(m.group(), unit)]
            in_unit = [m for m in found if has_unit(m.group(), unit)]
            strict = unit in _MEASURES or (
                question.language == "en" and unit != COUNTED  # named: people, companies
            )
            free = _FREE.search(sentence) if unit == MONEY else None
            if not in_unit and free:
                return free.group()  # 展位费: 展位免费提供
            if not in_unit and strict:
                return None  # another thing's count: no sum, time, share, area or head count
            if not in_unit:  # nor is a sum, an area or a share a count by any measure word
                found = [m for m in found if not _is_measure(m)]
                if counted and question.language == "zh" and counted in sentence:
                    # 多少家企业: not 3人 of 每家企业……参会人员不超过3人; 签约83项 says no noun
                    found = [m for m in found if _counts(sentence, m, counted)]
            # one of a thing in another unit mostly says "a" (配有一名管家 for 多少家)
            found = in_unit or [
                m
                for m in found
                if not _ONE.fullmatch(m.group()) or any(counted_in(m.group(), u) for u in unit)
            ]
            if not found:
                return None
        with_unit = [m for m in found if not re.fullmatch(r"[\d,.]+", m.group())]
        found = with_unit or found
        if counted:  # 多少商家: the quantity right before 商家 (1000万户商家), not 20亿消费者
            found = [m for m in found if _counts(sentence, m, counted)] or found
            if question.language == "zh":  # 多少家企业: not 30多家 of 数据处理企业30多家
                found = [
                    m
                    for m in found
                    if not (_counts(sentence, m, counted) and _counts_a_kind(sentence, m, counted))
                ]
                if not found:
                    return None
    elif question.kind == "date" and asks_time_of_day(question):
        found = _clock_times(question, sentence)
    elif question.kind == "date":
        found = list(DATE.finditer(sentence))
        if asks_deadline(question):
            found = _deadlines(sentence, found) or found
        if asks_day(question):  # 哪天: not 2025年 of 力争到2025年
            found = [m for m in found if _DAY_DATE.search(m.group())]
    elif question.kind == "who" and not asks_who_someone_is(question):
        asked_words = [  # 哪家公司: 公司 is the kind asked for, no part of the answer
            w
            for w in question.content_words + question.translations
            if len(w) > 1 and not _ORGANISATION_KIND.fullmatch(w)
        ]
        starts = _word_starts(sentence)  # not 南区域…… out of 西南区域……
        found = [
            m
            for m in _ORGANISATION.finditer(sentence)
            if m.start() in starts and not any(word in m.group() for word in asked_words)
        ]
        if asks_for_person(question):  # the holder of a post asked is a person, no company
            people = people_named(question, sentence)
            found = people if people or posts_asked(question) else found
    else:
        return None
    if not found:
        return None
    if question.kind == "quantity":  # 每录用一个能补多少: not the 1名 it states
        stated = {
            _number(m.group())
            for m in _quantities(question.simplified)
            if not _ONE.fullmatch(m.group())  # 一次 of 一次最长能租多久 says "once"
        } - {None}
        found = [m for m in found if _number(m.group()) not in stated] or found
        if not _CONDITION_ASKED.search(question.simplified):  # not 30万元 of 年薪30万元以上的
            found = [m for m in found if not _CONDITION.match(sentence, m.end())] or found
        extreme = _extreme_of(question, sentence, found)
        if extreme:
            found = [extreme]
    words = dict.fromkeys(w for w in question.content_words + question.translations if len(w) > 1)
    runs = _shared_runs(question.simplified, sentence)  # 两室一厅, none holding a word
    words.update(dict.fromkeys(r for r in runs if not any(w in r for w in words)))
    words = list(words)
    anchors = [[m.start() for m in _find(sentence, word)] for word in words]
    directed = question.kind == "quantity"

    def closeness(fact: re.Match) -> float:
        """How closely the question's words surround the fact: each word at its nearest
        place, counting less every few characters further away."""
        return sum(
            math.exp(-min(_distance(fact.start(), a, directed) for a in places) / 4.0)
            for places in anchors
            if places
        )

    clauses = _clauses(sentence)

    def distinctive(fact: re.Match) -> float:
        """How much of the question the words right before the fact in its own clause say
        (the item of a list it measures), each word counting less the more clauses say it
        (硕士 of 硕士研究生5万元, not 毕业, said of every graduate)."""
        own = next((c for c in clauses if c[0] <= fact.start() < c[1]), (0, 0))
        start = max(own[0], fact.start() - ITEM_REACH)
        return sum(
            1 / sum(1 for c in clauses if any(c[0] <= a < c[1] for a in places))
            for places, word in zip(anchors, words, strict=True)
            if any(start <= a and a + len(word) <= fact.start() for a in places)
            and not any(a + len(word) <= topic_end for a in places)
        )

    # The words before the first figure name what all of them are about (人才公寓分为单间…).
    topic_end = min(m.start() for m in found)

    best = max(found, key=lambda m: (distinctive(m) + closeness(m), -m.start()))
    group = "name" if "name" in best.re.groupindex else 0
    fact = original[best.start(group) : best.end(group)].strip()
    if best.re is _ORGANISATION:
        return _organisation_name(fact)
    if noun and question.language == "zh" and _bare_count_of(sentence, best, noun):
        return fact + original[best.end() : best.end() + len(noun)]  # 1000卡时, not 1000
    if question.kind == "quantity" and not _ends_asked(question):
        span = _range_around(sentence, best)
        if span:
            return original[span[0] : span[1]]
    return fact


def _ends_asked(question: Question) -> bool:
    """Whether a question asks the largest or the smallest of something (one end of a range)."""
    return bool(_MOST_ASKED.search(question.text) or _LEAST_ASKED.search(question.text))


def _range_around(sentence: str, fact: re.Match) -> tuple[int, int] | None:
    """The span of the range a quantity is one end of (8000—15000元 for 15000元), if any."""
    quantities = _quantities(sentence)
    for low, high in itertools.pairwise(quantities):
        joined = _RANGE_JOIN.fullmatch(sentence, low.end(), high.start())
        if joined and fact.span() in (low.span(), high.span()):
            return low.start(), high.end()
    return None


# A question for the largest or the smallest of something, and a sentence that states a
# limit itself (最长1年, 不超过5年), whose figures are no range to take an end of.
_MOST_ASKED = re.compile(
    r"最大|最多|最高|最长|最贵|\b(?:largest|biggest|highest|most|maximum|longest|greatest)\b",
    re.I,
)
_LEAST_ASKED = re.compile(
    r"最小|最少|最低|最短|最便宜|\b(?:smallest|lowest|least|minimum|shortest|cheapest)\b", re.I
)
_STATES_LIMIT = re.compile(r"最|不超过|不低于|不少于|上限|下限|至多|至少|以内|以上|以下")
# The characters of a figure's number (3.2亿, 三十多, 约80), before its unit or measure word.
_NUMBER_CHARS = r"\d,.\s多余几约近零一二两三四五六七八九十百千万亿"
_FIGURE = re.compile(rf"^[{_NUMBER_CHARS}]+")


def _extreme_of(question: Question, sentence: str, found: list[re.Match]) -> re.Match | None:
    """For a question asking the largest (smallest) of something, the largest (smallest) of
    two or more figures in one unit that a sentence gives as a range or a list (面积从80平方米
    到1500平方米不等), unless the sentence states a limit of its own; None otherwise."""
    most, least = _MOST_ASKED.search(question.text), _LEAST_ASKED.search(question.text)
    if bool(most) == bool(least) or len(found) < 2 or _STATES_LIMIT.search(sentence):
        return None
    if len({_FIGURE.sub("", m.group()) for m in found}) > 1:
        return None  # not one unit: 3年 and 5万元 are no range
    valued = [(_number(m.group()), m) for m in found]
    valued = [(value, m) for value, m in valued if value is not None]
    if len(valued) < 2:
        return None
    pick = max if most else min
    return pick(valued, key=lambda pair: pair[0])[1]


ITEM_REACH = 8  # how far before a figure the item of a list it measures is named
SHARED_RUN = 3  # characters a question and a sentence share that anchor a fact as a word
SHARED_RUNS_QUESTION = 100  # … looked for in questions up to this long


def _shared_runs(question: str, sentence: str) -> list[str]:
    """The longest runs of SHARED_RUN or more Chinese characters a question and a sentence
    share, which the word splitter may have cut into single characters (两室一厅)."""
    if len(question) > SHARED_RUNS_QUESTION:
        return []
    runs, i = [], 0
    while i < len(question):
        j = i
        while j < len(question) and has_cjk(question[j]) and question[i : j + 1] in sentence:
            j += 1
        if j - i >= SHARED_RUN:
            runs.append(question[i:j])
            i = j
        else:
            i += 1
    return runs


_CLAUSE_END = re.compile(r"[，,；;：:、）)。！？!?]")  # 单间（约30平方米）is one clause


def _clauses(text: str) -> list[tuple[int, int]]:
    """Where the clauses of a sentence begin and end: between commas, semicolons, colons and
    enumeration commas, and after a closing bracket."""
    ends = [m.start() for m in _CLAUSE_END.finditer(text)]
    starts = [0, *(e + 1 for e in ends)]
    return list(zip(starts, [*ends, len(text)], strict=True))


def _bare_count_of(sentence: str, quantity: re.Match, noun: str) -> bool:
    """Whether a quantity with no measure word or unit of its own (1000, 20亿) is followed
    right away by the noun it counts (1000卡时, 20亿消费者)."""
    return (
        not _MEASURED.search(quantity.group())
        and sentence.startswith(noun, quantity.end())
        and not _qualifies_next(sentence, quantity.end() + len(noun))
    )


# The end of a quantity in a unit or measure word of its own (5万元, 330家, 30%).
_MEASURED = re.compile(rf"[^{_NUMBER_CHARS}]$")


# A telephone number (023-49881236, 13812345678), and a question asking for one.
_PHONE = re.compile(r"(?<![\d-])(?:\d{3,4}[-－]\d{7,8}|1[3-9]\d{9}|400-?\d{3}-?\d{4})(?![\d-])")
_PHONE_ASKED = re.compile(
    r"电话|手机|号码|热线|\b(?:tele)?phone\b|\bhotline\b|\bcontact number\b", re.I
)
# What a sentence says costs nothing (展位免费提供; 不收取任何费用).
_FREE = re.compile(r"免费|不收费|不收取(?:任何)?费用|无需(?:缴费|付费|费用)|零收费")
# A question asking a rank (排第几, 第几名), and a rank stated (第三, 第12名, 前十).
_RANK_ASKED = re.compile(
    r"(?:排|名列|位列|位居)[^，。？?]{0,8}第几|第几(?:名|位)|排名(?:多少|如何)"
)
_RANK = re.compile(r"(?:第|前)[一二三四五六七八九十百\d]+(?:名|位)?|榜首|首位")
# A quantity that sets a condition (年薪30万元以上的人才, 投资额在100万元以上的), and a question
# asking for such a condition rather than what is granted under it.
_CONDITION = re.compile(r"\s*(?:及|或)?(?:以上|以下|以内|及以上|起)")
_CONDITION_ASKED = re.compile(
    r"以上|以下|至少|最少|最低|门槛|条件|不低于|不少于|起步|达到|满足|\bat least\b|\bminimum\b|"
    r"\bthreshold\b",
    re.I,
)


def _word_starts(text: str) -> set[int]:
    """Where the words of a Simplified text begin."""
    starts, at = set(), 0
    for word, _ in lexicon().cut(text):
        starts.add(at)
        at += len(word)
    return starts


# Parts of speech (jieba's, by first letter) of the words an organisation's name does not begin
# with: verbs, prepositions, conjunctions, adverbs, particles.
_BEFORE_NAME_TAGS = frozenset("vpcdu")


def _organisation_name(span: str) -> str:
    """An organisation's name without the verb or preposition the pattern took in before it
    (引进博彦科技: 博彦科技; 联合百度公司: 百度公司), when what remains is still a name."""
    start = 0
    for word, tag in lexicon().cut(to_simplified(span))[:-1]:
        if tag[:1] not in _BEFORE_NAME_TAGS:
            break
        start += len(word)
    rest = span[start:]
    return rest if start and _ORGANISATION.fullmatch(rest) else span


def _counts(sentence: str, quantity: re.Match, noun: str, reach: int = 2) -> bool:
    """Whether the quantity counts the noun: the noun follows it within `reach` characters,
    or comes right before it (人才公寓2600余套, 聚集企业330家), with no separator of a list
    between (产业楼宇70万平方米、人才公寓: 70万平方米 is the buildings')."""
    after = sentence[quantity.end() : quantity.end() + reach + len(noun)]
    if noun in after and not _LIST_SEPARATOR.search(after[: after.find(noun)]):
        # 3家算力配套企业 counts companies: 算力 only says which kind
        return not _qualifies_next(sentence, quantity.end() + after.find(noun) + len(noun))
    return bool(re.search(rf"{re.escape(noun)}{_LINKS}$", sentence[: quantity.start()]))


def _qualifies_next(text: str, end: int) -> bool:
    """Whether the noun of a Simplified text that ends at `end` qualifies the noun after it
    (算力 of 算力配套企业, 算力中心): a noun follows, or an adjective and then a noun."""
    words = [(w, t) for w, t in lexicon().cut(text[end : end + 8]) if w.strip()][:2]
    if not words:
        return False
    tag = words[0][1]
    return (
        (tag.startswith("n") and tag not in NAME_TAGS)
        or tag == "vn"
        or (tag[:1] in "ab" and len(words) == 2 and words[1][1].startswith("n"))
    )


# Parts of speech (jieba's, by prefix) of a word that makes the noun after it a kind of it
# (数据处理企业, 大型企业): nouns, verbs used as nouns, adjectives, distinguishing words,
# abbreviations, Latin words.
_QUALIFYING_TAGS = ("n", "vn", "a", "b", "j", "eng")
# Words before a count that make it a count of some of them: those listed, these, the first.
_OF_THOSE = re.compile(r"(?:以上|上述|其中|这些?|(?<![目此之以提先日当])前)$")
# Words that say a count is the total of what it counts (合计员工4285人), not of a kind of it.
_TOTALLING = frozenset({"合计", "共计", "总计", "累计", "总共", "一共", "共有", "总数"})


def counts_kinds_only(text: str, noun: str, unit: tuple[str, ...]) -> bool:
    """Whether every quantity in the unit that counts the noun in a Simplified text counts a
    kind of it (数据处理企业30多家; 软件信息相关企业130多家), none the noun itself (已聚集企业
    330家, 各类企业300余家); False when none counts the noun."""
    counts = [
        m
        for m in _quantities(text)
        if has_unit(m.group(), unit)
        and (_counts(text, m, noun) or noun in m.group())
        and not _ONE.fullmatch(m.group())
    ]
    return bool(counts) and all(_counts_a_kind(text, m, noun) for m in counts)


def _counts_a_kind(text: str, quantity: re.Match, noun: str) -> bool:
    """Whether a quantity that counts the noun before it counts a kind of it, as reports list
    things by kind (数据处理企业30多家): a noun, an adjective or a verb after a noun qualifies
    the noun (数据处理企业, 大型企业, 软件信息相关企业); a verb alone does not (聚集企业330家,
    入驻企业120家)."""
    if _OF_THOSE.search(text, 0, quantity.start()):
        return True  # 以上8家企业: a count of those listed, not of all
    at = text.rfind(noun, 0, quantity.start() + 1)
    if noun in quantity.group() or at < 0 or not _counts(text, quantity, noun, reach=0):
        return False  # 1200个标准机柜, 83个项目: a count before its noun counts them all
    words = [(word, tag) for word, tag in lexicon().cut(text[max(0, at - 12) : at]) if word.strip()]
    if words and words[-1][0] in _TOTALLING:
        return False  # 合计员工4285人: a total of them all
    before = [tag for _, tag in words][-2:]
    return bool(before) and (
        before[-1].startswith(_QUALIFYING_TAGS)
        or (len(before) == 2 and before[-1][:1] == "v" and before[0].startswith("n"))
    )


def with_counted(question: Question, keywords: KeywordIndex, texts) -> Question:
    """An English question for a count of things with no unit of their own (not people or
    companies) with the knowledge base's words for what it counts: the translations of the
    words after "how many" that hold a translation of the plural they count (talent
    apartments: 人才公寓 and 公寓, not 人才), the longest first; none when no passage holds
    the plural in any translation."""
    many = _HOW_MANY.search(question.text) if question.language == "en" else None
    if not many or not question.translations or unit_asked(question) != COUNTED:
        return question  # people, companies: counted in their own unit
    phrase = _counted_words(many.group(1))
    plurals = _plurals(phrase)
    heads = translate(plurals[-1] if plurals else phrase, keywords, texts)
    if not heads:  # server racks, racks read in no passage: 服务器 is not what is counted
        return question
    nouns = [w for w in translate(phrase, keywords, texts) if any(h in w for h in heads)]
    nouns = [w for w in nouns if has_cjk(w) and len(w) > 1]
    if not nouns:
        return question
    return dataclasses.replace(question, counted=tuple(sorted(nouns, key=len, reverse=True)))


_LIST_SEPARATOR = re.compile(r"[、，,；;。]")


def counted_noun(question: Question, first_only: bool = False) -> str | None:
    """The noun a Chinese question counts (商家 of 要服务多少商家？): the common noun right
    after 多少 or 几 and its measure word (原料 of 多少公斤的原料), with the nouns after it
    (人才公寓 of 多少人才公寓) unless first_only; for an English question,
    the knowledge base's word for what "how many" counts (人才公寓 of "how many talent
    apartments"), see with_counted."""
    if question.language == "en":
        return question.counted[0] if question.counted else None
    words = question.words
    for i, (word, _) in enumerate(words):
        if not _asks_count(word):
            continue
        for j, (after, tag) in enumerate(words[i + 1 : i + 4], start=i + 1):
            if _attribute_noun(after, tag):
                run = [after]  # 多少人才公寓: the nouns together (人才公寓2600余套)
                for word, word_tag in [] if first_only else words[j + 1 :]:
                    if not word_tag.startswith("n") or word_tag in NAME_TAGS:
                        break
                    run.append(word)
                return "".join(run)
            if tag not in ("m", "q") and not (after == "的" and words[j - 1][1] == "q"):
                break
    return None


def lead_of(question: Question, sentences: Sequence[str]) -> str | None:
    """The fact that leads an answer of these sentences: the first sentence's; or, when it
    states no quantity in the unit asked for (多少钱: no sum; 多少家企业: 24条), the first later
    sentence's that does and speaks of something the question asks about."""
    fact = lead_fact(question, sentences[0]) if sentences else None
    unit = unit_asked(question) if question.kind == "quantity" else None
    if not unit or (fact and _states_unit(fact, unit)):
        return fact
    facts = (
        lead_fact(question, s)
        for s in sentences[1:]
        if _states_unit(s, unit) and _speaks_of(question, s)
    )
    return next((later for later in facts if later and _states_unit(later, unit)), fact)


def _speaks_of(question: Question, text: str) -> bool:
    """Whether a text holds one of the words a question asks about (its content words, or an
    English question's translations); True when it has none."""
    words = question.content_words if question.language == "zh" else question.translations
    text = to_simplified(text)
    return not words or any(to_simplified(word) in text for word in words)


def _states_unit(text: str, unit: tuple[str, ...]) -> bool:
    """Whether a text states a quantity in the unit, or, for a sum, that something is free."""
    return has_unit(text, unit) or (unit == MONEY and bool(_FREE.search(text)))


def _simplified_alike(text: str) -> str:
    """The text in Simplified characters when the conversion keeps every character in its
    place (OpenCC's does, character for character), so that a span of it is a span of the
    text; else the text itself."""
    simplified = to_simplified(text)
    return simplified if len(simplified) == len(text) else text


def _quantities(text: str) -> list[re.Match]:
    """The quantities of a Simplified text, those inside a date or a time of day left out (6月
    of 6月1日 is no number of months, 00 of 18:00 no count), and ordinals (第三年 is no span
    of three years)."""
    dates = [m.span() for m in (*DATE.finditer(text), *_CLOCK.finditer(text))]
    return [
        m
        for m in QUANTITY.finditer(text)
        if not any(start <= m.start() < end for start, end in dates)
        and not text[: m.start()].endswith("第")
        and not _ends_word(text, m)
    ]


def _states_count(question: Question, text: str) -> bool:
    """Whether a Simplified text states a quantity the question may ask: not one per thing
    (每家企业都配有一名管家) unless it asks per thing, and not a lone 一 of a measure word."""
    if not asks_per_thing(question):
        text = _only_totals(text)
    return any(not _ONE.fullmatch(m.group()) for m in _quantities(text))


def _ends_word(text: str, quantity: re.Match) -> bool:
    """Whether a count of one (一家) begins with the 一 that ends a word (唯一一家): no count;
    高一米 and 超一万人 are quantities still."""
    at = quantity.start()
    return (
        bool(at)
        and quantity.group()[0] == "一"
        and any(_ONE.fullmatch(count) for count in (quantity.group(), quantity.group()[1:]))
        and lexicon().lookup(text[at - 1 : at + 1]) is not None
    )


_IDENTITY_EN = re.compile(r"^\s*who\s+(?:is|was)\s+(?P<subject>[^?]+?)\s*\??\s*$", re.I)
_IDENTITY_ZH = re.compile(r"^(?P<subject>.+?)(?:是|为)(?:谁|什么人|何人)[？?。]?$")


def _names_any(question: Question, text: str) -> bool:
    """Whether the text names one of the names the question is about (any, if it has none)."""
    if not question.names:
        return True
    text = to_simplified(text)
    return any(name in text for name in question.names)


def asks_for_person(question: Question) -> bool:
    """Whether a who-question asks for a person (谁, 哪位), not for a company."""
    return question.kind == "who" and bool(_PERSON_ASKED.search(question.simplified))


def posts_asked(question: Question) -> list[str]:
    """The posts a question asks who holds (区长 of 永川区区长是谁？), if it asks for a person."""
    if not asks_for_person(question):
        return []
    found = (_POST.search(word) for word, _ in question.words)  # 区委书记 → 书记; not 园区长期
    return list(dict.fromkeys(m.group() for m in found if m))


def people_named(question: Question, sentence: str) -> list[re.Match]:
    """The names given after a post in a (Simplified) sentence, or as the person of a contact
    line: after the post the question asks about when it names one (区长是谁？ is not answered
    by a 董事长), else after any."""
    found = [*_NAME_AFTER_POST.finditer(sentence), *_CONTACT_NAME.finditer(sentence)]
    asked = set(posts_asked(question))
    if asked:
        found = [m for m in found if sentence[m.start() : m.start("name")] in asked]
    return found


def introduces(sentence: str, names: Sequence[str]) -> bool:
    """Whether the sentence, of either script, gives one of the (Simplified) names with a post
    right before it (……书记邓文), and not a longer name that begins with it (书记邓文华)."""
    sentence = to_simplified(sentence)
    longer = {m.start("name"): m.group("name") for m in _NAME_AFTER_POST.finditer(sentence)}
    return any(
        _POST.search(sentence[: m.start()]) and len(longer.get(m.start(), name)) <= len(name)
        for name in names
        for m in _find(sentence, name)
    )


# Words that ask for someone's post (邓文担任什么职务？ 周明远的职位是什么？).
_POST_ASKED = re.compile(r"职务|职位|头衔|官职|任职")


def identity_subjects(question: Question) -> tuple[str, ...]:
    """The person a who-is question, or a question asking their post, asks about, as the
    knowledge base writes the name (the translations of an English question's name), or
    nothing for any other question."""
    if question.language == "zh" and _POST_ASKED.search(question.simplified):
        return tuple(question.names[:1])
    if not asks_who_someone_is(question):
        return ()
    if question.language == "en":
        return question.translations
    chinese = _IDENTITY_ZH.match(question.simplified.strip())
    return (chinese.group("subject"),) if chinese else ()


def asks_who_someone_is(question: Question) -> bool:
    """Whether a who-question asks who a named person is (邓文是谁？ Who is Deng Wen?): the
    answer describes them, so no name leads it."""
    english = _IDENTITY_EN.match(question.resolved)
    if english:
        words = english.group("subject").split()
        return all(word[:1].isupper() for word in words)
    chinese = _IDENTITY_ZH.match(question.simplified.strip())
    return bool(chinese) and chinese.group("subject") in question.names


def _distance(fact: int, anchor: int, directed: bool = True) -> int:
    """How far a fact stands from a question word; a quantity usually follows the word it is
    about (博士研究生12万元), so one before it counts as three times as far (directed); a
    date comes as often before what it dates (2018年开始举办)."""
    if fact >= anchor or not directed:
        return abs(fact - anchor)
    return 3 * (anchor - fact)


_CHINESE_DIGITS = dict(
    zip("零一二两三四五六七八九", (0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
_MAGNITUDES = {"百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}


def _number(quantity: str) -> float | None:
    """The number a quantity states (1名: 1, 一个: 1, 3亿元: 3e8, 十二个: 12), or None."""
    digits = re.match(r"\d[\d,]*(?:\.\d+)?", quantity)
    if digits:
        value, rest = float(digits.group().replace(",", "")), quantity[digits.end() :]
    else:
        chinese = re.match(r"[零一二两三四五六七八九十]+", quantity)
        if not chinese:
            return None
        value, digit = 0.0, None
        for char in chinese.group():
            if char == "十":
                value, digit = value + (digit or 1) * 10, None
            else:
                digit = _CHINESE_DIGITS[char]
        value, rest = value + (digit or 0), quantity[chinese.end() :]
    for char in rest[:2]:
        if char not in _MAGNITUDES:
            break
        value *= _MAGNITUDES[char]
    return value


def _find(text: str, word: str):
    return re.finditer(re.escape(word), text)


MONEY = ("元",)
PERCENT = ("%", "％", "分之")  # 15%, 三分之一
PEOPLE = ("人", "名")
# Any count of things, by the measure word it is counted with (1200个, 330家, 1.4万人): what
# "how many" asks of a thing the dictionary does not translate.
COUNTED = (*CLASSIFIERS, "人")
# Words between what is asked about and 多少 (营业收入一共有多少): nothing else may come between.
_LINKS = r"(?:是|为|有|达|共|约|大约|一共|总共|总计|合计|大概){0,2}"
# What is asked about says the unit when the question does not (注册资本是多少？ a sum of money;
# 税率是多少？ a share): rates first, since 税收增长率 is a rate.
_RATE_ASKED = re.compile(
    r"(?:税率|利率|比例|比重|占比|百分比|增长率|增速|增幅|涨幅|降幅|覆盖率|就业率|升学率|"
    r"入学率|出生率|死亡率|通过率|合格率|失业率|贡献率|利润率|毛利率)"
    rf"{_LINKS}(?:多少|几)|(?:多少|几)的?(?:比例|百分比|比重|占比)|百分之几|几成|几折"
)
_MONEY_NOUNS = (
    r"(?:资本|资金|投资|价格|价钱|售价|单价|房价|租金|房租|月租|押金|费用|工资|薪资|薪酬|"
    r"月薪|年薪|收入|营收|营业额|销售额|交易额|产值|税收|成本|预算|补贴|奖励|奖金|罚款|贷款|融资|"
    rf"市值|估值|利润|花费|开销|造价|总额|[{CJK_RANGES}]费)"  # 水电费, 物业费: any fee
)
# What may stand between a sum and 多少 (营收最低要求是多少, 租金标准是多少).
_SUM_LIMITS = r"(?:最低|最高|最少|最多|至少|要求|标准|上限|下限|门槛|一般|通常){0,2}"
_MONEY_ASKED = re.compile(
    rf"{_MONEY_NOUNS}(?:[每一]个?[年月天周次])?{_SUM_LIMITS}{_LINKS}(?:多少|几)"  # 管理费一年多少
    # the sum named after 多少, ending the question (能拿多少安家费？), not 多少补贴项目
    rf"|多少(?:钱的?)?[{CJK_RANGES}]{{0,3}}?{_MONEY_NOUNS}(?=[？?。，,！!]|呢|吗|啊|$)"
    # what is paid or invested (投了多少, 要花多少), granted (能补多少, 奖多少) or earned (能挣
    # 多少), a price per
    # period (停车一个月要多少)
    r"|(?:投了|投入了?|投资了|花了|要花|得花|花|砸了|掏了|付|交|缴|补|奖|赔了?|罚了?|挣了?|赚了?)"
    r"多少|"
    # what one gets, ending the question (一个月能拿多少？), not 领多少张券
    r"(?:拿|领)了?多少钱?(?=[？?。，,！!]|呢|啊|$)|"
    rf"[每一]个?[年月天周次]要?(?:多少|几)(?![{CJK_RANGES}])"
)
DURATION = ("年", "月", "周", "天", "日", "小时", "分钟", "秒")
# A span asked in one unit (几天, 多少个月): only a span in that unit answers it.
SPAN_UNITS = {
    "月": ("月",),
    "小时": ("小时",),
    "工作日": ("天", "日"),
    "星期": ("周", "星期"),
    "周": ("周", "星期"),
    "天": ("天", "日"),
    "分钟": ("分钟",),
}
_SPAN_UNIT_ASKED = re.compile(rf"(?:几|多少)个?({'|'.join(SPAN_UNITS)})")
_DURATION_ASKED = re.compile(
    rf"多久|多长时间|多少时间|(?:几|多少)个?(?:{'|'.join(SPAN_UNITS)}|自然日|秒)|"
    r"\bhow long\s+(?:does|do|did|can|could|will|would|should|must|has|have|had)\b|"
    r"\bhow long\s+(?:is|are|was|were)\b.*\b(?:valid|effective|in (?:force|effect)|open|"
    r"available|closed|free)\b|"
    r"\bhow long\s+(?:is|are|was|were)\s+(?:the\s+|a\s+|an\s+)?(?:\w+\s+)?(?:lease|term|period|"
    r"contract|stay|trip|ride|journey|drive|flight|wait|tenure|probation|course)s?\b|"
    r"\bhow many\s+(?:working\s+)?(?:days|hours|weeks|months|years|minutes|seconds)\b",
    re.IGNORECASE,
)
AREA = ("平方米", "平米", "㎡", "平方公里", "平方千米", "公顷", "亩")
_AREA_ASKED = re.compile(  # 面积最多多大: a few words may stand between
    r"(?:面积|占地|用地|场地)[^，,。？?、的]{0,4}?(?:多大|多少|几)(?![家个名人所项])|"
    r"(?:多少|几)(?:平方|平米|平|亩|公顷)|(?:多大|多少)的?(?:面积|场地)"
)
# 多大 asks for an area only of a space (办公室最小多大？), not of an age, a memory or an effect.
_SIZE_ASKED = re.compile(r"多大(?:面积)?(?=[？?！!。呢啊呀]*$)")
_SPACE = re.compile(
    r"办公|房|楼|室|厅|园|厂|场|馆|地|区|中心|基地|仓库|车间|影棚|公寓|户型|空间|工位|店|铺"
)


_NOT_SPACE = re.compile(
    r"影响|作用|力度|规模|年纪|岁|年龄|变化|差距|区别|差别|意义|压力|风险|帮助|优势|潜力|贡献|难度|"
    r"把握|信心|能力|权力|责任|关系|希望|可能|需求|市场|损失|成本|投入|效果|内存|容量|存储|功率"
)


def _asks_area(written: str) -> bool:
    if _AREA_ASKED.search(written):
        return True
    size = _SIZE_ASKED.search(written)
    before = written[: size.start()] if size else ""
    return bool(_SPACE.search(before)) and not _NOT_SPACE.search(before)


_LENGTH_ASKED = re.compile(r"\b(?:be|stretch|extend|measure|run)\s*\??\s*$", re.IGNORECASE)
_ASKED_UNIT = re.compile(
    rf"(?:多少|几)\s*(?:个(?=人))?(人次|[{CLASSIFIERS}]|人|层|倍|款|年|天|钱|元|平方米|亩|万|亿)"
)
_PEOPLE_COUNTED = re.compile(
    r"\b(?:people|persons|employees|staff|workers|jobs|students|residents|talents?)\b", re.I
)
_COMPANIES_COUNTED = re.compile(r"\b(?:compan(?:y|ies)|enterprises?|firms|businesses)\b", re.I)
_MONEY_NAMED = re.compile(
    r"\b(?:invest\w*|money|yuan|cost|spend\w*|revenue|income|worth|rent|price|fees?|"
    r"salary|wages?|budget|subsid\w*|pay|funds?|funding|capital|allowances?|rewards?|"
    r"bonus\w*|grants?)\b",
    re.I,
)
_AREA_NAMED = re.compile(
    r"\b(?:square met\w+|area|hectares?|acres?|land|space|floor space)\b", re.I
)
# What "how many" may count in English, and the units it is counted in.
SCHOOLS = ("所",)  # the measure word of schools and institutes, which English has no word for
_ENGLISH_COUNTS = (
    (_PEOPLE_COUNTED, PEOPLE),
    (_COMPANIES_COUNTED, ("家",)),
    (_AREA_NAMED, AREA),
    (re.compile(r"\b(?:years?)\b", re.I), ("年",)),
    (re.compile(r"\b(?:projects?)\b", re.I), ("项",)),
    (re.compile(r"\b(?:universit|colleges?|schools?|institutes?|academ)", re.I), SCHOOLS),
)
# A share asked for ("what percentage of the fees"), before the sum it is a share of.
_PERCENT_NAMED = re.compile(r"\b(?:percentage|percent|per cent|proportion)\b", re.I)
# The order a unit is looked for when a question says neither "how many" nor "how much": a
# share, then a sum (the salary of the staff is a sum, not a head count).
_ENGLISH_UNITS_ASKED = ((_PERCENT_NAMED, PERCENT), (_MONEY_NAMED, MONEY), *_ENGLISH_COUNTS)
_HOW_MANY = re.compile(r"\b(?:how many|(?:the )?number of)\s+(.*)", re.I)
# "How much is …", "how much will they invest": a price or a sum; "how much land": an area;
# "how much power": an amount of something counted in no set unit.
_HOW_MUCH = re.compile(r"\bhow much\s+([a-z]+)", re.I)
_HOW_BIG = re.compile(r"\bhow (?:big|large)\b", re.I)
_PRICE_ASKED_AFTER = re.compile(
    r"is|are|was|were|does|do|did|will|would|can|could|should|has|have|had|money|for|per|"
    r"yuan|rmb|cash|funding|capital|investment|rent|subsidy|subsidies",
    re.I,
)


# Words that end the noun phrase "how many" counts (how many staff | work in …).
_PHRASE_ENDS = frozenset(
    [
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "have",
        "has",
        "had",
        "there",
        "in",
        "on",
        "at",
        "of",
        "for",
        "with",
        "to",
        "by",
        "from",
    ]
)


def _counted_words(after: str) -> str:
    """Up to four words after "how many", to the first that ends the noun phrase."""
    words = []
    for word in after.split()[:4]:
        if word.lower() in _PHRASE_ENDS:
            break
        words.append(word)
    return " ".join(words)


def _plurals(phrase: str) -> list[str]:
    """The plural words of an English phrase (apartments, not business)."""
    return [w for w in phrase.split() if w.lower().endswith("s") and w[-2:] != "ss"]


def _english_unit_asked(text: str) -> tuple[str, ...] | None:
    """The unit of what an English question counts (how many staff: 人名; how many racks: any
    measure word, not a sum or a date) or prices (how much does a meal cost: 元): what follows
    "how many" or "how much" decides before any other word (the staff of "the staff canteen"
    is no head count)."""
    many = _HOW_MANY.search(text)
    if many:
        counted = _counted_words(many.group(1))
        plurals = _plurals(counted)
        if plurals and not _AREA_NAMED.search(counted):
            counted = plurals[-1]  # "how many" counts a plural, the head (talent apartments)
        for pattern, units in _ENGLISH_COUNTS:
            if pattern.search(counted):
                return units
        return COUNTED
    if _HOW_BIG.search(text):  # the size of a place is its area; of a sum, the sum
        return MONEY if _MONEY_NAMED.search(text) else AREA
    much = _HOW_MUCH.search(text)
    if much:
        if _AREA_NAMED.fullmatch(much.group(1)):
            return AREA
        return MONEY if _PRICE_ASKED_AFTER.fullmatch(much.group(1)) else None
    return next((units for pattern, units in _ENGLISH_UNITS_ASKED if pattern.search(text)), None)


def unit_asked(question: Question) -> tuple[str, ...] | None:
    """The unit a quantity question asks in, its units written out: 多少人 → 人, 多少钱 or
    多少块钱 → 元, 多久 or "how long does" → a span of time; for an English question the
    unit of the thing counted (people → 人名, companies → 家)."""
    if _DURATION_ASKED.search(question.simplified) and not _LENGTH_ASKED.search(question.text):
        named = _SPAN_UNIT_ASKED.search(question.simplified)
        return SPAN_UNITS[named.group(1)] if named else DURATION
    if question.language == "en":
        return _english_unit_asked(question.text)
    written = written_units(question.simplified)
    match = _ASKED_UNIT.search(written)
    if match and match.group(1) in ("钱", "元"):
        return MONEY  # 场地多少钱: the price of a site, not its area
    if _asks_area(written):
        return AREA
    if not match:
        if _RATE_ASKED.search(written):
            return PERCENT
        if _MONEY_ASKED.search(written):
            return MONEY
        if _HEAD_COUNT_ASKED.search(written):
            return PEOPLE
        return COUNTED if _asked_without_measure(question) else None
    unit = match.group(1)
    if _begins_noun(question.words, unit):  # 多少人才公寓: 人 begins a noun, no measure word
        return COUNTED if _asked_without_measure(question) else None
    return {"钱": MONEY, "人": PEOPLE, "名": PEOPLE}.get(unit, (unit,))


def _begins_noun(words: Sequence[tuple[str, str]], unit: str) -> bool:
    """Whether the word after a Chinese question's 多少 or 几 is a longer noun that begins with
    the unit's character (人才 of 多少人才公寓), not the measure word itself."""
    return any(
        word in ("多少", "几")
        and i + 1 < len(words)
        and words[i + 1][0].startswith(unit)
        and len(words[i + 1][0]) > len(unit)
        and words[i + 1][1].startswith("n")
        for i, (word, _) in enumerate(words)
    )


def _asked_without_measure(question: Question) -> bool:
    """Whether a Chinese question asks how many of a thing with no measure word (多少企业):
    the noun right after 多少."""
    words = question.words
    return question.language == "zh" and any(
        word == "多少" and i + 1 < len(words) and _attribute_noun(*words[i + 1])
        for i, (word, _) in enumerate(words)
    )


# A count of people asked without its unit (员工总数是多少？ 学生有多少？ 就业人数是多少？
# 上班的人多不多？).
_HEAD_COUNT_ASKED = re.compile(
    r"(?:人数|的人|(?:员工|职工|工人|人员|学生|人口)(?:的)?(?:总数|数量|总量)?)[^，。,.]{0,4}"
    r"(?:多少|多不多)"
)


def holds_answer_kind(question: Question) -> Callable[[str], bool] | None:
    """Whether a text holds the kind of answer the question asks for: a signature's date when
    it asks when a document was issued, its issuer when it asks who issued it; a quantity in
    the unit asked (holds_unit_asked); None for any other question."""
    if asks_issue_date(question):
        return lambda text: any(signature_date(line) for line in text.splitlines())
    if asks_issuer(question):
        return lambda text: any(issuer_of(line) for line in text.splitlines())
    return holds_unit_asked(question)


# A question asking when a notice, a policy or any document was issued or published, and the
# signature that dates a document: a line of the issuer's name, or none, ending in the date.
_DOCUMENT_NAMED = r"(?:通知|办法|文件|公告|通告|意见|方案|规定|细则|政策|决定|批复|函|文)"
_ISSUED = r"(?:发|发布|印发|下发|出台|颁布|公布|签发|发出|发文)"
_WHEN_WORDS = r"(?:哪天|哪一天|什么时候|什么时间|何时|几号|几月几[日号]|哪年|日期|时间)"
_ISSUE_ASKED = re.compile(
    rf"{_DOCUMENT_NAMED}.{{0,6}}?(?:是|在|于)?{_WHEN_WORDS}.{{0,3}}?{_ISSUED}|"
    rf"{_DOCUMENT_NAMED}.{{0,6}}?{_ISSUED}(?:的|布)?(?:日期|时间)|"
    rf"{_ISSUED}.{{0,3}}?{_DOCUMENT_NAMED}.{{0,6}}?{_WHEN_WORDS}|"
    r"\bwhen\b.*\b(?:notice|policy|document|measures|announcement|circular|rules)\b.*"
    r"\b(?:issued|published|released|announced|signed|dated)\b",
    re.I,
)
_SIGNATURE = re.compile(
    r"[^，,；;。：:！？!?]{0,40}?(?P<date>\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*[日号])"
)
ISSUE_BONUS = 1.0  # the signature's sentence, for a question asking a date of issue or issuer
_ISSUER_ASKED = re.compile(
    rf"(?:谁|哪个?(?:部门|单位|机构|机关))(?:来|负责)?(?:主办|举办|承办|组织|{_ISSUED})|"
    r"(?:主办|承办|发文|发布|印发)(?:单位|方|部门|机构|机关)|"
    r"\bwho\b.*\b(?:issued|published|organi[sz]ed|organi[sz]es|hosts|hosted|signed)\b|"
    r"\bissued by\b",
    re.IGNORECASE,
)
_ISSUER_LINE = re.compile(  # an organisation's name alone: 永川大数据产业园人力资源服务中心
    rf"[{CJK_RANGES}]{{2,40}}(?:局|委员会|管委会|中心|办公室|政府|公司|集团|部|厅|处|院|所|协会)"
)


def asks_issue_date(question: Question) -> bool:
    """Whether the question asks when a document was issued (通知是哪天发的, 办法什么时候出台,
    "when was the notice issued")."""
    return question.kind == "date" and bool(_ISSUE_ASKED.search(question.simplified))


def asks_issuer(question: Question) -> bool:
    """Whether a question asks who issued or holds what a document announces (通知是哪个部门
    发的, 招聘会谁主办的, 发文单位, "who issued the notice")."""
    return bool(_ISSUER_ASKED.search(question.simplified))


def issuer_of(sentence: str) -> str | None:
    """The issuer a signature names: the name before its date (……经济发展局2022年4月15日),
    or a line of nothing but an organisation's name; None for any other sentence."""
    text = sentence.strip()
    signed = _SIGNATURE.fullmatch(text)
    if signed:
        text = text[: signed.start("date")].strip()
    return text if _ISSUER_LINE.fullmatch(text) else None


def asks_time_of_day(question: Question) -> bool:
    """Whether a question asks a time of day (几点开门, "what time does it end")."""
    return question.kind == "date" and bool(_CLOCK_ASKED.search(question.simplified))


def asks_day(question: Question) -> bool:
    """Whether a question asks the day something happens (哪天开的, 几号, "what date")."""
    return question.kind == "date" and bool(_DAY_ASKED.search(question.simplified))


def asks_deadline(question: Question) -> bool:
    """Whether a question asks the date something must be done by (截止到什么时候, 最晚哪天,
    "what is the deadline")."""
    return question.kind == "date" and bool(_DEADLINE_ASKED.search(question.simplified))


def _deadlines(sentence: str, found: list[re.Match]) -> list[re.Match]:
    """The dates of a sentence that say by when (10月8日17:00前, 截止到9月30日), and the end
    of a span of dates (7月31日 of 7月1日至7月31日)."""
    deadlines = []
    for date in found:
        span_end = _DATE_SPAN_END.search(date.group())
        if span_end:
            deadlines.append(DATE.match(sentence, date.start() + span_end.start("end")))
        elif _BY_DATE.match(sentence, date.end()) or _DEADLINE_BEFORE.search(
            sentence, 0, date.start()
        ):
            deadlines.append(date)
    return [d for d in deadlines if d]


def _clock_times(question: Question, sentence: str) -> list[re.Match]:
    """The times of day of a sentence that can answer the question: the end of a range
    (15:00 of 9:00—15:00) when it asks when something ends, else the others, and of those
    the one in the order asked (第二班: 8:10 of 7:40和8:10)."""
    found = list(_CLOCK.finditer(sentence))
    ends = [m for m in found if _RANGE_DASH.search(sentence[: m.start()])]
    if _END_ASKED.search(question.simplified):
        return ends or found
    found = [m for m in found if m not in ends] or found
    order = _RUN_ORDER.search(question.simplified)  # 第二班几点发: the second time stated
    nth = int(_number(order.group("n")) or 0) if order else 0
    if 0 < nth <= len(found):
        return [found[nth - 1]]
    return found


def signature_date(text: str) -> str | None:
    """The date of a signature line (永川……经济发展局2022年4月15日: 2022年4月15日): a line that
    ends in a full date after no more than a name; None for a sentence that dates something."""
    match = _SIGNATURE.fullmatch(text.strip())
    return match.group("date") if match else None


def holds_unit_asked(question: Question) -> Callable[[str], bool] | None:
    """For a question that asks for a quantity in a unit (多少人: 人; how many companies: 家),
    whether a text holds one (count_asked), and, when the question names years, one of them
    (a figure of 2019 is in a passage that says 2019); None for any other question."""
    holds = count_asked(question)
    if holds is None or not question.years:
        return holds
    year = re.compile(rf"(?<!\d)(?:{'|'.join(question.years)})(?!\d)")
    return lambda text: bool(year.search(text)) and holds(text)


def count_asked(question: Question) -> Callable[[str], bool] | None:
    """For a question that asks for a quantity in a unit, whether a text states one: in the
    unit; of what it counts, when that has no unit of its own (how many talent apartments;
    多少企业: a count of 企业 in any measure word); and not only counts of a kind of it
    (多少家企业: 数据处理企业30多家). None for any other question."""
    unit = unit_asked(question) if question.kind == "quantity" else None
    if not unit:
        return None
    noun = counted_noun(question) if question.language == "zh" else None
    counted = question.counted if question.language == "en" else ()
    if noun and unit == COUNTED:
        counted = (noun,)
    # What a count of a kind would count: the noun asked, or the words for what an English
    # question counts in its own unit, asked of no kind (how many companies: 企业, 公司; not
    # how many call centre companies)
    nouns = [noun] if noun else []
    many = _HOW_MANY.search(question.text) if question.language == "en" else None
    if (
        many
        and unit not in (COUNTED, *_MEASURES)
        and len(_counted_words(many.group(1)).split()) == 1
    ):
        nouns = [t for t in question.translations if len(t) >= 2]

    totals = unit not in _MEASURES and not asks_per_thing(question)

    def holds(text: str) -> bool:
        text = _simplified_alike(text)
        if totals:
            text = _only_totals(text)
        if not _states_unit(text, unit) or (counted and not counts_any(text, counted)):
            return False
        return not any(counts_kinds_only(text, n, unit) for n in nouns)

    return holds


# A count stated per thing (每家企业……派2名员工): what each one has, no total; it answers only
# a question asking per thing (每家, 一家, 平均, each). Sums, shares, areas and spans per thing
# (每个工位每月300元) are what their questions ask.
_PER_THING = re.compile(rf"每一?[{CLASSIFIERS}人]")
_PER_THING_ASKED = re.compile(
    rf"每|平均|人均|一[{CLASSIFIERS}人]|最多|最少|至多|至少|上限|"
    r"\b(?:each|per|every|average|most|least|maximum|minimum)\b|"
    r"\b(?:can|could|may|does|do|will|for) (?:a|an|one)\b",
    re.IGNORECASE,
)
_MEASURES = (MONEY, PERCENT, AREA, DURATION, *SPAN_UNITS.values())
# What ends the reach of 每 before a count: unlike _clauses, not an enumeration comma, since
# 每家企业限报1个展位、参会人员不超过3人 states both counts per company.
_CLAUSE_START = re.compile(r"[，,；;。：:！!？?]")


def asks_per_thing(question: Question) -> bool:
    """Whether a question asks what one thing has (每家, 一家企业, 最多, each, can a company)."""
    return bool(_PER_THING_ASKED.search(question.simplified))


def _per_thing(text: str, quantity: re.Match) -> bool:
    """Whether a quantity of a Simplified text is stated per thing (每家企业……2名)."""
    starts = [m.end() for m in _CLAUSE_START.finditer(text, 0, quantity.start())]
    return bool(_PER_THING.search(text, starts[-1] if starts else 0, quantity.start()))


def _no_total(text: str, quantity: re.Match) -> bool:
    """Whether a count of a Simplified text is no total: stated per thing (每家企业……2名), or
    of those a list gave (以上8家企业)."""
    return _per_thing(text, quantity) or bool(_OF_THOSE.search(text, 0, quantity.start()))


def _only_totals(text: str) -> str:
    """A Simplified text with its counts that are no totals blanked, the rest in place."""
    for m in reversed(_quantities(text)):
        if _no_total(text, m):
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    return text


# How far before what an English "how many" counts its count may stand: the translation is
# often the head alone (中心 of "customer experience centres": 5个客户体验中心).
ENGLISH_COUNT_REACH = 6


def counts_any(text: str, nouns: Sequence[str]) -> bool:
    """Whether a quantity of a Simplified text counts one of the nouns. A bare number (a list
    item's: 3. 人才公寓只租不售), one of a thing (一个重点项目 says "a"), a sum, an area or a
    share counts nothing."""
    return any(
        _counts(text, m, noun, ENGLISH_COUNT_REACH)
        for m in _quantities(text)
        if _counts_something(m) and not _is_measure(m)
        for noun in nouns
    )


def _counts_something(quantity: re.Match) -> bool:
    """Whether a quantity has a unit and is more than one of a thing (a bare number is a list
    item's or a code; 一名 mostly says "a")."""
    return not re.fullmatch(r"[\d,.]+", quantity.group()) and not _ONE.fullmatch(quantity.group())


def _is_measure(quantity: re.Match) -> bool:
    """Whether a quantity is a sum, an area or a share: no count by any measure word."""
    return any(has_unit(quantity.group(), u) for u in (MONEY, AREA, PERCENT))


def has_unit(text: str, units: tuple[str, ...]) -> bool:
    """Whether a quantity in text, of either script, is counted in one of the units (a date
    is no quantity; nor is one, which mostly says "a": 配有一名专属管家)."""
    return any(
        any(counted_in(m.group(), unit) for unit in units)
        for m in _quantities(_simplified_alike(text))
        if _counts_something(m)
    )


# Measure words that hold a unit's character but count another thing: 126人次 counts visits,
# not people; 3个月 is a span of time, no count of things.
_OTHER_MEASURES = {"人": ("人次",), "个": ("个月", "个工作日", "个自然日", "个小时", "个星期")}


def counted_in(quantity: str, unit: str) -> bool:
    """Whether a quantity (126人次, 1.4万人) is counted in a unit (人次; not 人)."""
    return unit in quantity and not any(m in quantity for m in _OTHER_MEASURES.get(unit, ()))


def _in_other_measure(quantity: str, unit: tuple[str, ...]) -> bool:
    """Whether a quantity is counted by a measure word, other than the generic 个, that is
    not the unit asked (1.4万人 or 63处 for 几栋)."""
    measure = re.sub(rf"^{_NUMBER}\s*(?:多|余|几)?\s*[亿万千百]?", "", quantity)
    return (
        bool(measure)
        and not counted_in(quantity, "个")
        and not any(counted_in(quantity, u) for u in unit)
    )


# One of a thing counted by its classifier, which mostly says "a" (一名管家, 1名毕业生); one
# year or one yuan stays a quantity.
_ONE = re.compile(rf"[一1][{CLASSIFIERS}]")


SUBJECT_TAGS = frozenset({"nr", "nrt", "nrfg", "nt", "nz"})  # people, organisations, brands


def absent_subject_note(question: Question, cited: str, missing: Sequence[str] = ()) -> str | None:
    """When a Chinese question asks for a quantity or date about a person, organisation or
    brand it starts with, and the cited passage (text and title) never names them: say so
    before the closest sentence, instead of stating another's figure as theirs
    (华为在永川投资了多少钱？ answered from the passage about another company's investment).
    A name no passage holds (missing) gets no note. The note is in the question's script,
    the name as the question writes it."""
    if question.language != "zh" or question.kind not in ("quantity", "date"):
        return None
    if not question.content_words or not question.words:
        return None
    subject = question.content_words[0]
    tags = dict(question.words)
    if subject not in question.names or tags.get(subject) not in SUBJECT_TAGS:
        return None
    if subject in missing:
        return None  # no passage names it: abstention has weighed that already
    # A long name is named by its first two characters too (山本 for 山本五十六).
    forms = (subject, subject[:2]) if len(subject) >= 4 else (subject,)
    if any(fold(form) in fold(cited) for form in forms):
        return None
    note = "文中关于“{}”的内容没有回答这个问题，最接近的内容是："
    if question.script == "traditional":
        note = to_traditional(note)
    return note.format(question.as_written(subject))


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def unstated_years(question: Question, support: Support, sentence: str) -> tuple[str, ...]:
    """The years a question asks about that the answer cannot be about: those no document
    mentions, or, for a quantity, those the answering sentence does not give its fact for
    while it gives another year (2018年签约了多少个项目？ answered by 2018年开始举办的
    ……在2019年8月……签约了83个项目: the last year before the fact is the fact's)."""
    if support.missing_years:
        return support.missing_years
    if question.kind != "quantity" or not question.years:
        return ()  # a date asked is another year than the question's (自1948年……哪一年？)
    return tuple(question.years) if fact_of_other_year(question, sentence) else ()


def fact_of_other_year(question: Question, sentence: str) -> bool:
    """Whether the quantity a sentence would answer with is of another year than those the
    question names: the last year before the fact is the fact's (2018年开始……2019年……83个;
    入驻年份：2019，2023年营业收入：4.8亿元 is 2023's)."""
    fact = lead_fact(question, sentence)
    at = sentence.find(fact) if fact else -1
    if at >= 0:
        before = _YEAR.findall(sentence[:at])
        stated = {before[-1]} if before else set()
    else:
        stated = set(_YEAR.findall(sentence))
    return bool(stated) and not stated & set(question.years)


def quarters_not_cited(question: Question, cited: str) -> tuple[str, ...]:
    """The quarters a quantity or date question names that the sentence it is answered from
    never names while the sentence or its passage's title or section (cited: the three) names
    another quarter: its figures are that quarter's (第四季度 asked of a third-quarter report,
    which names 第四季度 elsewhere, for something else)."""
    if question.kind not in ("quantity", "date"):
        return ()
    asked = {p: _quarters(p) for p in question.periods}
    asked = {p: q for p, q in asked.items() if q}
    if not asked:
        return ()
    named = _quarters(fold(cited))
    if not named or any(q & named for q in asked.values()):
        return ()
    return tuple(asked)


def _quarters(text: str) -> set[str]:
    """The quarters a text names, as digits (第三季度, Q3, third quarter: 3)."""
    return {
        _QUARTERS.get(part, part)
        for m in _QUARTER.finditer(text.lower())
        for part in m.groups()
        if part
    }


def missing_period_note(question: Question, years: Sequence[str], sentence: str) -> str | None:
    """When the answer cannot be about the years or periods asked (unstated_years): which
    years the answer's sentence does cover, said before it (文中只有2019年的数据)."""
    if not years:
        return None
    covered = [y for y in dict.fromkeys(_YEAR.findall(sentence)) if y not in years]
    if question.language == "en":
        have = f"; they only give figures for {', '.join(covered)}" if covered else ""
        return f"The documents do not cover {', '.join(years)}{have}:"
    asked = "、".join(f"{y}年" if y.isdigit() else y for y in years)  # 2017年, 第二季度
    if covered:
        return f"文中没有{asked}的数据，只有{'、'.join(covered)}年的数据："
    return f"文中没有{asked}的数据，最接近的内容是："


# The forms documents write a period in, by the forms questions ask it in.
_QUARTERS = {
    "一": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "first": "1",
    "second": "2",
    "third": "3",
    "fourth": "4",
}
_SEASONS = {"spring": "春", "summer": "夏", "autumn": "秋", "winter": "冬"}
_QUARTER = re.compile(r"第?([一二三四1-4])季度|q([1-4])|(first|second|third|fourth) quarter")


def period_forms(period: str) -> list[str]:
    """The ways documents write a period a question names: 第二季度, 二季度, 2季度 and Q2 for
    二季度 or "second quarter"; 上半年 for "first half"; 春季 and 春天 for 春季 or "spring"."""
    period = period.lower()
    quarter = _QUARTER.fullmatch(period)
    if quarter:
        said = next(group for group in quarter.groups() if group)
        n = _QUARTERS.get(said, said)
        return [f"{'一二三四'[int(n) - 1]}季度", f"{n}季度", f"q{n}"]
    if period in ("first half", "second half"):
        return ["上半年" if period.startswith("first") else "下半年"]
    season = _SEASONS.get(period, period[:1] if period[:1] in "春夏秋冬" else "")
    if season:
        return [f"{season}季", f"{season}天"]
    return [period]


def periods_held_nowhere(question: Question, keywords: KeywordIndex, texts) -> tuple[str, ...]:
    """The periods a question names (quarters, halves, seasons) that no passage mentions in
    any form: the documents cannot answer for them (二季度 where they give 一季度)."""
    return tuple(
        period
        for period in question.periods
        if not any(name_in_passages(form, keywords, texts) for form in period_forms(period))
    )


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_SCALES = {"亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2}
_ENGLISH_UNITS = {
    "元": "yuan",
    "美元": "US dollars",
    "人": "people",
    "名": "people",
    "平方米": "square metres",
    "平米": "square metres",
    "㎡": "square metres",
    "亩": "mu",
    "平方公里": "square kilometres",
    "平方千米": "square kilometres",
    "公顷": "hectares",
    "%": "%",
    "％": "%",
    "公里": "km",
    "千米": "km",
    "分钟": "minutes",
    "小时": "hours",
    "天": "days",
    "年": "years",
    "个月": "months",
    "月": "months",
    "周": "weeks",
    "个工作日": "working days",
    "工作日": "working days",
    "个小时": "hours",
    "家": "companies",
    "个项目": "projects",
}
# The singular of a unit, for a quantity of one; any other loses its plural s.
_SINGULAR = {"people": "person", "companies": "company"}


def english_lead(question: Question, fact: str) -> str:
    """The fact in English form, and a bare count with what "how many" counts (7 cities,
    5 customer experience centres) when some passage holds a word for it (question.counted)
    or it is counted in 所 (8 universities): else the count may be of anything ("1,200 booths"
    of 岗位1200余个)."""
    english = english_fact(fact)
    many = _HOW_MANY.search(question.text)
    unit = unit_asked(question)
    named = unit == SCHOOLS or (unit == COUNTED and question.counted)  # 8所: in no English unit
    if not many or not named or not _BARE_COUNT.fullmatch(english):
        return english
    phrase = _counted_words(many.group(1)).split()
    plurals = [i for i, w in enumerate(phrase) if w in _plurals(" ".join(phrase))]
    return f"{english} {' '.join(phrase[: plurals[-1] + 1])}" if plurals else english


_BARE_COUNT = re.compile(r"(?:more than |about )?[\d,.]+(?: (?:thousand|million|billion))?")


def english_fact(fact: str) -> str:
    """A quantity or date as an English reader writes it: 5亿元 → 500 million yuan,
    6月1日 → June 1, 2019年6月1日 → June 1, 2019, 10月底 → the end of October; a span of two, each (6月1日至6月30日 →
    June 1 to June 30); anything else as it is stated."""
    text = fact.replace(" ", "")
    span = _SPAN.fullmatch(text)
    if span:
        return f"{english_fact(span.group(1))} to {english_fact(span.group(2))}"
    date = re.fullmatch(
        r"(?:(\d{4}|[今去明])年)?(\d{1,2})月(?:(\d{1,2})[日号]|(底|末|初|[上中下]旬))?", text
    )
    if date:
        year, month, day, part = date.groups()
        name = _MONTHS[int(month) - 1] if 1 <= int(month) <= 12 else month
        out = f"{name} {int(day)}" if day else name
        if part:  # 10月底: the end of October
            out = _PART_OF_MONTH[part].format(out)
        if year in _RELATIVE_YEARS:  # 今年9月底: the end of September this year
            return f"{out} {_RELATIVE_YEARS[year]}"
        return f"{out}, {year}" if year else out
    ago = _AGO.fullmatch(text)
    if ago:  # 10多年前: more than 10 years ago
        count, more, unit = ago.groups()
        value = _number(count)
        if not value and count != "几":
            return fact  # 千年前: no number English reads
        words = _english_number(value) if value else "a few"
        unit = "year" if unit == "年" else "month"
        return f"{'more than ' if more else ''}{words} {unit}{'' if value == 1 else 's'} ago"
    year = re.fullmatch(r"(\d{4})年(底|末|初|中)?", text)
    if year:
        part = _PART_OF_YEAR.get(year.group(2) or "", "{}")
        return part.format(year.group(1))
    if _FREE.fullmatch(text):
        return "free"
    ranged = _QUANTITY_RANGE.fullmatch(text)
    if ranged:  # 8000—15000元: 8,000–15,000 yuan
        low, high = ranged.groups()
        low_words = english_fact(low + high.lstrip("0123456789,.")).split(" ")
        high_words = english_fact(high).split(" ")
        shared = 0  # the unit (and scale) both ends are in, said once
        while shared < min(len(low_words), len(high_words)) - 1 and (
            low_words[-1 - shared] == high_words[-1 - shared]
        ):
            shared += 1
        return f"{' '.join(low_words[: len(low_words) - shared])}–{' '.join(high_words)}"
    number = re.fullmatch(r"([\d,.]+)(多|余)?(亿|万|千|百)?(.*)", text)
    if not number:
        return fact
    digits, more, scale, unit = number.groups()
    if re.search(r"\d", unit):  # 9:00—12:00: not one quantity
        return fact
    if scale and scale + unit in _ENGLISH_UNITS:  # 千米 is a unit, not thousands of 米
        scale, unit = None, scale + unit
    try:
        value = float(digits.replace(",", "")) * _SCALES.get(scale or "", 1)
    except ValueError:
        return fact
    words = _english_number(value)
    if more:
        words = f"more than {words}"
    english_unit = _ENGLISH_UNITS.get(unit, "")
    if english_unit == "%":
        return f"{words}%"
    if value == 1 and english_unit:
        english_unit = _SINGULAR.get(english_unit, english_unit.removesuffix("s"))
    return f"{words} {english_unit}".strip()


_SPAN = re.compile(r"([^至到~～]+?)(?:至|到|~|～)([^至到~～]+)")
_QUANTITY_RANGE = re.compile(rf"([\d,.]+){_RANGE_JOIN.pattern}([\d,.]+\D*)")  # 8000—15000元
_RELATIVE_YEARS = {"今": "this year", "去": "last year", "明": "next year"}
_PART_OF_YEAR = {"底": "the end of {}", "末": "the end of {}", "初": "early {}", "中": "mid-{}"}
_PART_OF_MONTH = {
    "底": "the end of {}",
    "末": "the end of {}",
    "初": "early {}",
    "上旬": "early {}",
    "中旬": "mid-{}",
    "下旬": "late {}",
}


def _english_number(value: float) -> str:
    for size, name in ((1e9, "billion"), (1e6, "million")):
        if value >= size:
            return f"{value / size:g} {name}"
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"
