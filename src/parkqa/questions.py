"""Reading a question: clean it, resolve follow-ups against the chat history, find its type."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from parkqa.errors import QuestionError
from parkqa.keywords import normalize

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

_STOP_PHRASES = re.compile(
    r"请问|请介绍一下|介绍一下|请介绍|告诉我|什么时候|什么|多少|哪些|哪个|哪家|哪里|哪儿|哪年|哪天|"
    r"哪一|为什么|为何|怎么样|怎么|如何|是否|有没有|是不是|可以|能否|一下|主要|目前|现在|"
    r"怎样|何时|何处|何地|哪位|什么样|样子|事情|意思|特点|优点|缺点|情况|作用|内容|方面|"
    r"关于|吗|呢|吧|啊|么|的|了|是|在|有|和|与|及|把|被|对|从|给|都|也|还|就|又|几|谁|哪|多"
)
QUESTION_TYPES = ("date", "quantity", "who", "reason", "place", "what")
_TYPE_PATTERNS = {
    "date": re.compile(
        r"什么时候|何时|哪年|哪一年|哪个月|哪天|哪一天|几月|几号|几日|什么时间|何年|"
        r"\bwhen\b|what (?:year|date|day|month|time)|which (?:year|date|day|month)",
        re.IGNORECASE,
    ),
    "quantity": re.compile(
        r"多少|几[个家所名条台项亿万千百年次位种座层]?|多大|多高|多长|多远|多久|多重|"
        r"how (?:many|much|large|big|long|far|high|old)|what (?:amount|number|percentage|size)",
        re.IGNORECASE,
    ),
    "who": re.compile(
        r"谁|哪家|哪些企业|哪些公司|哪个企业|哪个公司|什么企业|什么公司|哪位|哪些人|"
        r"\bwho\b|which (?:compan|firm|enterprise|organi)",
        re.IGNORECASE,
    ),
    "reason": re.compile(
        r"为什么|为何|原因|为啥|怎么会|\bwhy\b|what (?:is|are) the reasons?", re.IGNORECASE
    ),
    "place": re.compile(r"哪里|在哪|哪儿|什么地方|\bwhere\b", re.IGNORECASE),
}
_FOLLOW_UP = re.compile(
    r"^(?:那么?|那|还有|另外|以及|and|what about|how about)\s*(?P<subject>.+?)\s*"
    r"(?:呢|怎么样|如何|的呢|\?|？)*\s*$",
    re.IGNORECASE,
)
_SUBJECT_END = re.compile(
    r"在|的|为什么|为何|是|有|于|将|对|投资|选择|建设|引进|打造|签约|共|一共|总共|计划|"
    r"什么|多少|怎么|如何|哪"
)


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
            'the question is empty; type a question, e.g. parkqa ask "阿里巴巴在永川投资了多少？"'
        )
    if text != re.sub(r"\s+", " ", original).strip():
        notes.append("control characters and escape sequences were removed from the question")
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"the question was cut to its first {max_chars} characters")
    return text, notes


def question_type(question: str) -> str:
    """What kind of answer the question wants: date, quantity, who, reason, place or what."""
    for name in ("date", "reason", "who", "place", "quantity"):
        if _TYPE_PATTERNS[name].search(question):
            return name
    return "what"


def resolve_follow_up(question: str, history: Sequence[str]) -> str:
    """Rewrite an elliptical follow-up such as 「那百度呢？」 into a full question,
    using the most recent earlier question in the history."""
    if not history:
        return question
    match = _FOLLOW_UP.match(question)
    if not match or question_type(question) != "what" or len(question) > 30:
        return question
    subject = match.group("subject").strip(" ，,。？?")
    previous = history[-1]
    if not subject or not previous:
        return question
    if re.search(r"[\u3400-\u9fff]", previous):
        cut = _SUBJECT_END.search(previous, 2)
        if cut and cut.start() <= 12:
            return subject + previous[cut.start() :]
        return f"{subject} {previous}"
    words = previous.split()
    for i, word in enumerate(words[1:], start=1):
        if word[:1].isupper():
            end = i
            while end + 1 < len(words) and words[end + 1][:1].isupper():
                end += 1
            trail = re.sub(r"^[A-Za-z]+", "", words[end])
            return " ".join(words[:i] + [subject + trail] + words[end + 1 :])
    return f"{previous} {subject}"


def content_text(question: str) -> str:
    """The question without question words and particles, for term analysis."""
    return _STOP_PHRASES.sub(" ", normalize(question))
