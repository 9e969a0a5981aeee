"""Reading a question once: clean it, resolve follow-ups, and analyse it into the words,
names, type, time expressions, language and script that retrieval, sentence choice and
abstention all use."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from parkqa.chinese import has_cjk, is_cjk, script_of, to_simplified
from parkqa.errors import QuestionError
from parkqa.keywords import ENGLISH_STOPWORDS, normalize
from parkqa.lexicon import lexicon

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

QUESTION_TYPES = ("date", "quantity", "who", "reason", "place", "what")
_TYPE_PATTERNS = {
    "date": re.compile(
        r"什么时候|啥时候?|啥时间|多会儿|何时|哪年|哪一年|哪个月|哪天|哪一天|几月|几号|几日|什么时间|"
        r"何年|(?<!哪)几点|几时|"
        r"\bwhen\b|what (?:year|date|day|month|time)|which (?:year|date|day|month)",
        re.IGNORECASE,
    ),
    "quantity": re.compile(
        r"多少|(?<!哪)几[个家所名条台项亿万千百年次位种座层套倍款]?|多大|多高|多长|多远|多久|多重|多不多|"
        r"how (?:many|much|large|big|long|far|high|old)|what (?:amount|number|percentage|size)|"
        r"what (?:is|are|was|were|will be) the (?:[\w'’]+ ){0,3}(?:rent|price|cost|fee|salary|wage|"
        r"budget|revenue|income|output|population|area|distance)s?\b",
        re.IGNORECASE,
    ),
    "who": re.compile(
        r"谁(?![都也])|哪家|哪[些个](?:企业|公司|单位|机构|人)|(?<!为)什么(?:企业|公司|单位|机构)|哪位|"
        r"\bwho\b|which (?:compan|firm|enterprise|organi)",
        re.IGNORECASE,
    ),
    "reason": re.compile(
        r"为什么|为何|原因|为啥|怎么会|理由|\bwhy\b|what (?:is|are) the reasons?", re.IGNORECASE
    ),
    "place": re.compile(r"哪里|在哪|哪儿|什么地方|啥地方|\bwhere\b", re.IGNORECASE),
}
# Words that ask rather than say: dropped from the words a question is about.
QUESTION_WORDS = frozenset(
    [
        "什么",
        "什么样",
        "甚么",
        "啥",
        "哪",
        "哪些",
        "哪个",
        "哪家",
        "哪里",
        "哪儿",
        "哪年",
        "哪天",
        "哪一",
        "哪位",
        "哪种",
        "多少",
        "多不多",
        "几",
        "几个",
        "几年",
        "谁",
        "为什么",
        "为何",
        "为啥",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "何时",
        "何地",
        "何处",
        "是否",
        "有没有",
        "是不是",
        "能否",
        "可否",
        "吗",
        "呢",
        "吧",
        "啊",
        "么",
        "呀",
        "请问",
        "请",
        "告诉",
        "介绍",
        "一下",
        "知道",
        "想",
        "想要",
        "能",
        "可以",
        "会",
        "要",
        "是",
        "有",
        "在",
        "的",
        "地",
        "得",
        "了",
        "着",
        "过",
        "和",
        "与",
        "及",
        "或",
        "把",
        "被",
        "对",
        "从",
        "给",
        "都",
        "也",
        "还",
        "就",
        "又",
        "再",
        "这",
        "那",
        "这个",
        "那个",
        "这些",
        "那些",
        "其",
        "它",
        "它们",
        "他",
        "他们",
        "她",
        "她们",
        "我",
        "我们",
        "你",
        "你们",
        "您",
        "个",
        "些",
        "多",
        "没",
        "没有",
        "不",
        "吗",
        "哦",
        "嗯",
        "呃",
        "一",
        "上",
        "里",
        "中",
        "下",
    ]
)
_FUNCTION_TAGS = ("u", "p", "c", "y", "e", "o", "x", "w", "r")
NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz", "un"})
# Units as people say them and as documents write them (一平米: 平方米; 几万块: 几万元).
_SPOKEN_UNITS = re.compile(r"平米|块钱|(?<=万)块")
_WRITTEN_UNIT = {"平米": "平方米", "块钱": "元", "块": "元"}
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_PERIOD = re.compile(
    r"第?[一二三四1-4]季度|\bq[1-4]\b|上半年|下半年|前三季度|[春夏秋冬](?:季|天)|"
    r"(?:first|second|third|fourth) quarter|(?:first|second) half|\b(?:spring|summer|autumn|winter)\b(?! festival)",
    re.IGNORECASE,
)
_PRONOUNS = re.compile(r"它们|他们|她们|它|他|她|该公司|这家公司|这家企业|该企业|该园区|其")
_ENGLISH_PRONOUNS = re.compile(r"\b(?:it|they|them|its|their)\b", re.IGNORECASE)
_FOLLOW_UP = re.compile(
    r"^(?:那么?|还有|另外|以及|and|what about|how about)\s*(?P<subject>.+?)\s*"
    r"(?:呢|怎么样|如何|的呢|\?|？)*\s*$"
    r"|^(?P<bare>[^，,。？?\s]{1,12}?)的?呢\s*[？?]?\s*$",  # 阿里呢？: a short 「X呢？」 alone
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Question:
    """A question analysed once, for retrieval, sentence choice and abstention."""

    text: str  # as asked, cleaned
    resolved: str  # with a follow-up rewritten against the conversation
    simplified: str  # resolved, in Simplified characters
    language: str  # "zh" or "en"
    script: str  # "simplified", "traditional" or "latin"
    words: tuple[tuple[str, str], ...]  # (word, part-of-speech tag) of the simplified text
    content_words: tuple[str, ...]  # what the question is about, question words left out
    names: tuple[str, ...]  # people, places, organisations, brands, products it names
    kind: str  # one of QUESTION_TYPES
    years: tuple[str, ...]
    periods: tuple[str, ...]  # quarters, halves and seasons of a year
    translations: tuple[str, ...] = ()  # words of the knowledge base an English question means
    unread: tuple[str, ...] = ()  # its words that no passage holds in any translation
    written: tuple[str, ...] = ()  # words of the knowledge base its spoken words mean (挣: 收入)
    counted: tuple[str, ...] = ()  # the knowledge base's words for what "how many" counts

    def as_written(self, word: str) -> str:
        """A word of the simplified text in the characters the question was written in
        (OpenCC's conversion keeps the length, so the same span of the question)."""
        at = self.simplified.find(word)
        if at < 0 or len(self.simplified) != len(self.resolved):
            return word
        return self.resolved[at : at + len(word)]

    @property
    def keyword_text(self) -> str:
        """The content words, their translations and written forms, space-separated, for
        keyword search (never cut inside a word)."""
        return " ".join(self.content_words + self.translations + self.written)


# Full-width digits and Latin letters (２０１９, ＡＩ) and the digits of a year written in
# Chinese numerals (二〇一九年), each one character for one, so the text keeps its length.
_FULL_WIDTH = str.maketrans(
    {chr(code): chr(code - 0xFEE0) for code in range(0xFF10, 0xFF5B) if chr(code).isalnum()}
)
_CHINESE_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_CHINESE_YEAR = re.compile(r"(?<![〇零一二三四五六七八九十百千])[〇零一二三四五六七八九]{4}(?=年)")


def _digits_as_digits(text: str) -> str:
    """The text with full-width digits and letters as ASCII and a year in Chinese numerals
    in digits (二〇一九年: 2019年), as documents mostly write them."""
    text = text.translate(_FULL_WIDTH)
    return _CHINESE_YEAR.sub(lambda year: year.group().translate(_CHINESE_DIGITS), text)


def analyse(text: str, history: Sequence[str] = ()) -> Question:
    """Analyse a cleaned question (resolving a follow-up against the earlier questions)."""
    resolved = resolve_follow_up(text, history)
    script = script_of(resolved)
    simplified = _digits_as_digits(to_simplified(resolved).replace("甚么", "什么"))
    language = "zh" if has_cjk(resolved) else "en"
    words = tuple(_words(simplified))
    return Question(
        text=text,
        resolved=resolved,
        simplified=simplified,
        language=language,
        script=script,
        words=words,
        content_words=_content_words(words),
        names=_names(words, language),
        kind=question_type(simplified),
        years=tuple(dict.fromkeys(_YEAR.findall(simplified))),
        periods=tuple(dict.fromkeys(m.lower() for m in _PERIOD.findall(simplified))),
    )


def _content_words(words: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            form
            for i, (w, tag) in enumerate(words)
            if _is_content(w, tag) and not _counts_what_is_asked(words, i)
            for form in _forms(w, words[i + 1][0] if i + 1 < len(words) else "")
        )
    )


def _names(words: Sequence[tuple[str, str]], language: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            w
            for i, (w, tag) in enumerate(words)
            if _is_name(w, tag, language) and not _counts_what_is_asked(words, i)
        )
    )


# Characters that may be part of a term the dictionary split: not function words, numbers,
# measure words or adverbs, nor the verbs that stand next to any noun (人是, 谁有).
_UNJOINABLE_TAGS = (*_FUNCTION_TAGS, "m", "q", "d")
LIGHT_VERBS = frozenset("是有在为叫称被让给能会要想去来到说做搞用把将")


def _joinable(word: str, tag: str) -> bool:
    return (
        len(word) == 1
        and is_cjk(word)
        and word not in LIGHT_VERBS
        and not tag.startswith(_UNJOINABLE_TAGS)
    )


def join_held_characters(question: Question, held: Callable[[str], bool]) -> Question:
    """The question with each run of two to four single characters that the word splitter
    cut apart (算 / 力, 云 / 启) joined into one word where some passage holds them together
    (held): a term of the documents' own that the dictionary lacks. A run must hold a noun
    character and no function word, number, measure word, adverb or light verb (是, 有); the
    longest held run wins."""
    if question.language != "zh":
        return question
    words = question.words

    def term(run: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
        if not all(_joinable(w, t) for w, t in run) or not any(t.startswith("n") for _, t in run):
            return None
        joined = "".join(w for w, _ in run)
        return (joined, "n") if held(joined) else None

    joined = _join_runs(words, term)
    if len(joined) == len(words):
        return question
    return dataclasses.replace(
        question,
        words=tuple(joined),
        content_words=_content_words(joined),
        names=_names(joined, question.language),
    )


def written_units(text: str) -> str:
    """The text with the units people say written as documents write them (一平米 → 一平方米;
    几万块 → 几万元, but 一万块砖 stays bricks)."""

    def written(spoken: re.Match) -> str:
        after = text[spoken.end() : spoken.end() + 1]
        if spoken.group() == "块" and after and is_cjk(after):
            return spoken.group()
        return _WRITTEN_UNIT[spoken.group()]

    return _SPOKEN_UNITS.sub(written, text)


def _forms(word: str, after: str) -> tuple[str, ...]:
    """The word, and after it its written form when it holds a unit as people say it, read
    with the character that follows it (一万块砖 is bricks)."""
    tail = after[:1]
    written = written_units(word + tail)
    written = written[: len(written) - len(tail)]
    return (word,) if written == word else (word, written)


def _words(text: str) -> list[tuple[str, str]]:
    if has_cjk(text):
        words = _ordinary_phrases(lexicon().cut(text))
        return _join_dictionary_names(_join_single_characters(words))
    return [(m.group(), "eng") for m in re.finditer(r"[A-Za-z][\w'-]*|\d[\d,.]*%?", text)]


# The word splitter's dictionary tags thousands of ordinary words (城市, 长眠) and phrases of
# two (安全检查, 排球比赛) as names: a person's, a place's or another proper noun's;
# organisations (nt: 中央军委, 农业银行) are left as they are.
_PHRASE_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nz"})


def _ordinary_phrases(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The words with each name of two characters that the Chinese-English dictionary reads
    only as an ordinary word (长眠), or of four made of two such words (安全 / 检查), tagged a
    common noun."""
    from parkqa.translation import ordinary_pairs  # the dictionary module reads Questions

    pairs = ordinary_pairs()

    def ordinary(word: str) -> bool:
        if len(word) == 4:
            return word[:2] in pairs and word[2:] in pairs
        return word in pairs

    return [
        (word, "n") if tag in _PHRASE_TAGS and ordinary(word) else (word, tag)
        for word, tag in words
    ]


def _join_dictionary_names(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join two to four words that together are a name the Chinese-English dictionary knows
    only as a proper name (拼/多多 → 拼多多): the word splitter's dictionary lacks it."""
    from parkqa.translation import chinese_names  # the dictionary module reads Questions

    names = chinese_names()

    def name(run: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
        joined = "".join(w for w, _ in run)
        return (joined, "nz") if joined in names and all(has_cjk(w) for w, _ in run) else None

    return _join_runs(words, name)


def _join_runs(
    words: Sequence[tuple[str, str]],
    join: Callable[[Sequence[tuple[str, str]]], tuple[str, str] | None],
) -> list[tuple[str, str]]:
    """The words with each run of two to four that join makes one word of replaced by it,
    the longest run from each place first."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + 4), i + 1, -1):
            found = join(words[i:j])
            if found:
                out.append(found)
                i = j
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _join_single_characters(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join a run of two to four single characters that holds a surname or an unknown
    character into one name (徐/凤/月 → 徐凤月): the dictionary has no word for it."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        j = i
        after_number = i > 0 and words[i - 1][0][-1:].isdigit()
        while (
            not after_number
            and j < len(words)
            and j - i < 4
            and len(words[j][0]) == 1
            and has_cjk(words[j][0])
            and words[j][0] not in QUESTION_WORDS
            and not words[j][1].startswith(_FUNCTION_TAGS + ("v", "d"))
        ):
            j += 1
        run = words[i:j]
        if len(run) >= 2 and any(tag in ("nr", "un") for _, tag in run):
            out.append(("".join(w for w, _ in run), "nr"))
            i = j
        else:
            out.append(words[i])
            i += 1
    return out


def _is_content(word: str, tag: str) -> bool:
    folded = normalize(word)
    if folded in QUESTION_WORDS or folded in ENGLISH_STOPWORDS:
        return False
    if tag.startswith(_FUNCTION_TAGS) and tag != "un":
        return False
    return bool(re.search(r"\w", word))


def _counts_what_is_asked(words: Sequence[tuple[str, str]], i: int) -> bool:
    """Whether words[i] is the count or the thing of a question word split from it (哪 / 一个,
    哪 / 几家, 什么 / 东西, 多少钱的 / 东西): part of the asking, not of what is asked about."""
    if i == 0:
        return False
    word, tag = words[i]
    before = words[i - 1][0]
    if before == "哪":
        return tag.startswith("m")
    if word != "东西":
        return False
    # 东西, tagged a place, is the thing asked after an asking word (什么东西, 多少钱的东西)
    return any(normalize(w) in QUESTION_WORDS for w, _ in words[max(0, i - 4) : i])


def _is_name(word: str, tag: str, language: str) -> bool:
    folded = normalize(word)
    if folded in QUESTION_WORDS or folded in ENGLISH_STOPWORDS:
        return False
    if has_cjk(word):
        return tag in NAME_TAGS and len(word) >= 2
    # Inside a Chinese question, a Latin acronym or code (IBM, GPS, 5G) names something; a
    # capitalised English word may be the translation of a Chinese name, so it does not.
    return tag == "eng" and language == "zh" and len(word) >= 2 and word.upper() == word


def question_type(question: str) -> str:
    """What kind of answer the question wants: date, quantity, who, reason, place or what."""
    question = to_simplified(question).replace("甚么", "什么")
    for name in ("date", "who", "reason", "place", "quantity"):  # 谁……为什么 asks who
        if _TYPE_PATTERNS[name].search(question):
            return name
    return "what"


def resolve_follow_up(question: str, history: Sequence[str]) -> str:
    """Rewrite a follow-up against the most recent earlier question: 「那图书馆呢？」 takes the
    earlier question with its subject replaced; a pronoun (它, 他们; it, they) is replaced
    by the earlier question's subject."""
    if not history or not history[-1] or len(question) > 60:
        return question
    previous = history[-1]
    phase = _other_phase(question, previous)
    if phase:
        return phase
    subject, rest = _subject(previous)
    match = _elliptic(question)
    if match and question_type(question) == "what" and len(question) <= 30:
        new = (match.group("subject") or match.group("bare")).strip(" ，,。？?")
        if new and subject:
            return _with_same_head(new, previous) or rest.replace(_SLOT, new, 1)
        if new:
            return _with_counterpart(new, previous) or f"{new} {previous}"
    if subject:
        pronouns = _PRONOUNS if has_cjk(question) else _ENGLISH_PRONOUNS
        replaced, count = pronouns.subn(subject, question, count=1)
        if count:
            return replaced
    topic = (subject or _topic(previous)) if _names_nothing(question) else ""
    return topic + question if topic else question


# The words that end what an earlier question is about and begin what it asks (上云补贴 | 按
# 多少比例补, 企业服务中心 | 在哪里, 算力券 | 一张能抵多少钱).
_ASKING_BEGINS = re.compile(
    r"按|在|的?是|有|能|可以|可|要|需要|多少|多久|几|什么|啥|哪|怎么|怎样|如何|为什么|吗|呢|"
    r"[一二两三四五六七八九十0-9]+[期个张年家位名次份]"
)
FOLLOW_UP_CHARS = 15  # the longest question read as a follow-up that names nothing


def _names_nothing(question: str) -> bool:
    """Whether a short Chinese question names no thing, person or place of its own (每家最多
    多少？ 几点下班？), so that it can only ask about what the conversation was about."""
    if not has_cjk(question) or len(question) > FOLLOW_UP_CHARS:
        return False
    words = lexicon().cut(to_simplified(question))
    return not any(tag.startswith(("n", "eng", "vn", "j")) for _, tag in words)


def _topic(question: str) -> str:
    """What a Chinese question is about: its text before what it asks (上云补贴 of
    上云补贴按多少比例补？); "" when it begins by asking."""
    if not has_cjk(question):
        return ""
    begins = _ASKING_BEGINS.search(question)
    return question[: begins.start()] if begins else ""


# A phase, period, edition or year (二期, 第三届, 一季度, 2020年, 下半年): what a 「X呢？」 of one
# asks the same of in place of the earlier question's own (一期), not of its subject.
_PHASE = re.compile(
    r"(?P<order>第?[一二三四五六七八九十两首0-9]+|[上下前后])"
    r"(?P<unit>期|届|批|季度|阶段|年度|年|半年)"
)


def _with_counterpart(new: str, previous: str) -> str | None:
    """The earlier question with the span of it that new stands in for replaced by new: of
    new's length, Chinese, sharing at least half of new's characters in their places, the one
    sharing most (一室一厅 of 一室一厅的人才公寓多大？ for 两室一厅); None when there is none."""
    if len(new) < 2 or not all(is_cjk(c) for c in new):
        return None
    best, shared_most = -1, 0
    for start in range(len(previous) - len(new) + 1):
        span = previous[start : start + len(new)]
        if span == new or not all(is_cjk(c) for c in span):
            continue
        shared = sum(a == b for a, b in zip(span, new, strict=True))
        if shared * 2 >= len(new) and shared > shared_most:
            best, shared_most = start, shared
    if best < 0:
        return None
    return previous[:best] + new + previous[best + len(new) :]


def _with_same_head(new: str, previous: str) -> str | None:
    """The earlier question with the noun phrase of it that ends in the same noun as new, and
    says another kind of it, replaced by new (工业互联网项目 by 人工智能项目; 数据处理企业 by
    数字内容企业); None when it has none."""
    words = lexicon().cut(to_simplified(new))
    if len(words) < 2 or not words[-1][1].startswith("n"):
        return None
    head = words[-1][0]
    earlier = lexicon().cut(to_simplified(previous))
    at = 0
    for i, (word, _) in enumerate(earlier):
        if word == head and i > 0:
            start = i
            while start > 0 and earlier[start - 1][1].startswith(("n", "vn", "eng")):
                start -= 1
            if start < i:
                begin = at - sum(len(w) for w, _ in earlier[start:i])
                end = at + len(word)
                if previous[begin:end] != new:
                    return previous[:begin] + new + previous[end:]
        at += len(word)
    return None


def _other_phase(question: str, previous: str) -> str | None:
    """The earlier question asked of the phase a 「二期呢？」 names (一期 replaced by 二期), or
    with the phase before it when it names none of its kind; None for any other question."""
    match = _FOLLOW_UP.match(question)
    new = (match.group("subject") or match.group("bare") or "").strip(" ，,。？?") if match else ""
    asked = _PHASE.fullmatch(new)
    if not asked:
        return None
    for own in _PHASE.finditer(previous):
        if own.group("unit") == asked.group("unit") and own.group() != new:
            return previous[: own.start()] + new + previous[own.end() :]
    return f"{new} {previous}"


def _elliptic(question: str) -> re.Match | None:
    """The match of a 「那……呢？」 or "What about …?" follow-up, or of a short 「X呢？」 whose
    X is a noun phrase (园区的租金贵不贵呢？ asks on its own)."""
    match = _FOLLOW_UP.match(question)
    if match and match.group("bare") and not _noun_phrase(match.group("bare")):
        return None
    return match


def _noun_phrase(text: str) -> bool:
    """Whether text is nouns and names only, joined by 的 (阿里, 办公用房的, 硕士研究生)."""
    words = lexicon().cut(to_simplified(text))
    return (
        bool(words)
        and all(tag.startswith(("n", "eng")) or word == "的" for word, tag in words)
        and any(word != "的" for word, _ in words)
    )


def is_follow_up(question: str) -> bool:
    """Whether a question only makes sense after another: 「那……呢？」, "What about …?", or
    one that starts with a pronoun (它, 该公司; it, they)."""
    question = question.strip()
    pronoun = _PRONOUNS.match(question) or _ENGLISH_PRONOUNS.match(question)
    return bool(_elliptic(question) or pronoun)


_SLOT = "\x00"


def _subject(question: str) -> tuple[str, str]:
    """The subject an earlier question is about (its leading names or nouns), and the
    question with _SLOT where the subject was."""
    if has_cjk(question):
        words = lexicon().cut(to_simplified(question))
        original = question
        taken = 0
        for word, tag in words:
            if tag.startswith(("n", "un", "eng")) and normalize(word) not in QUESTION_WORDS:
                taken += len(word)
                continue
            break
        if taken:
            return original[:taken], _SLOT + original[taken:]
        names = [w for w, tag in words if tag in NAME_TAGS and len(w) >= 2]
        if names and names[0] in original:
            at = original.index(names[0])
            return names[0], original[:at] + _SLOT + original[at + len(names[0]) :]
        return "", question
    tokens = question.split()
    for i, token in enumerate(tokens[1:], start=1):
        if token[:1].isupper():
            end = i
            while end + 1 < len(tokens) and tokens[end + 1][:1].isupper():
                end += 1
            subject = " ".join(tokens[i : end + 1]).rstrip("?.,!'s")
            return subject, " ".join(tokens[:i] + [_SLOT] + tokens[end + 1 :])
    return "", question


def clean_question(text: str, max_chars: int) -> tuple[str, list[str]]:
    """The question without escape sequences, control or invisible characters,
    cut to max_chars; notes say what was changed."""
    notes = []
    if not isinstance(text, str):
        raise QuestionError("the question must be text")
    original = text
    text = _ESCAPES.sub("", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError(
            'the question is empty; type a question, e.g. parkqa ask "园区有哪些扶持政策？"'
        )
    if text != re.sub(r"\s+", " ", original).strip():
        notes.append("control characters and escape sequences were removed from the question")
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"the question was cut to its first {max_chars} characters")
    return text, notes
