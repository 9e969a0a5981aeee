"""Choose the sentences that answer a question, or decide that the knowledge base cannot."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from dataclasses import dataclass

from parkqa.keywords import ENGLISH_STOPWORDS, KeywordIndex, normalize, tokenize
from parkqa.questions import content_text
from parkqa.retrieval import Hit, query_weights, sentence_evidence

_QUANTITY = re.compile(
    r"\d[\d,.]*\s*(?:%|％|亿|万|千|百|个|家|人|名|元|美元|平方米|平米|亩|台|条|套|所|项|座|层|"
    r"席位|单|倍|公里|千米|米|吨|年)|[一二三四五六七八九十百千万两]+[个家所名条台项亿万千百倍]"
    r"|\d[\d,.]*",
)
_DATE = re.compile(
    r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*[日号]|今年|去年|明年|年初|年底|年内|季度|"
    r"[一二三四五六七八九十]+月|\b(?:19|20)\d{2}\b|january|february|march|april|may|june|july|"
    r"august|september|october|november|december",
    re.IGNORECASE,
)
_REASON = re.compile(
    r"因为|由于|原因|之所以|为了|为此|因此|所以|一是|首先|得益于|because|due to|since",
    re.IGNORECASE,
)
_WHO = re.compile(
    r"集团|公司|企业|科技|银行|大学|学院|政府|委员会|百度|阿里|腾讯|华为|[A-Z][a-z]+|、"
)
_PLACE = re.compile(r"省|市|区|县|镇|园|路|街|基地|中心|位于|地处|\bin\b", re.IGNORECASE)
_TYPE_EVIDENCE = {
    "quantity": _QUANTITY,
    "date": _DATE,
    "reason": _REASON,
    "who": _WHO,
    "place": _PLACE,
}


@dataclass(frozen=True)
class Support:
    """How well the knowledge base supports a question, and why."""

    missing_terms: tuple[str, ...]
    coverage: float
    missing_share: float
    agree: bool
    dense: float
    cross_lingual: bool = False


def missing_terms(question: str, keywords: KeywordIndex) -> list[str]:
    """Terms of the question that occur nowhere in the knowledge base: runs of two or more
    CJK characters none of whose bigrams are indexed, and Latin words not indexed."""
    terms: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+|[a-z][a-z0-9]+|\d[\d.]*", content_text(question)):
        if not ("\u3400" <= run[0] <= "\u9fff"):
            if keywords.token_idf(run) is None and len(run) > 2 and run not in ENGLISH_STOPWORDS:
                terms.append(run)
            continue
        present = [keywords.token_idf(run[i : i + 2]) is not None for i in range(len(run) - 1)]
        covered = [False] * len(run)
        for i, ok in enumerate(present):
            if ok:
                covered[i] = covered[i + 1] = True
        start = None
        for i, ok in enumerate(covered + [True]):
            if not ok and start is None:
                start = i
            elif ok and start is not None:
                if i - start >= 2:
                    terms.append(run[start:i])
                start = None
    return terms


def assess_support(question: str, hits: list[Hit], keywords: KeywordIndex) -> Support:
    """Measure whether the top passages answer the question: missing terms, how much of the
    question's weight the best passage covers, and whether both retrievers agree."""
    missing = missing_terms(question, keywords)
    names = [name for name in map(name_in, missing) if name]
    missing = list(dict.fromkeys(names + [t for t in missing if not name_in(t)]))
    words = [
        w for w in re.findall(r"[a-z][a-z0-9]+", normalize(question)) if w not in ENGLISH_STOPWORDS
    ]
    cross_lingual = (
        not re.search(r"[\u3400-\u9fff]", question)
        and bool(words)
        and sum(keywords.token_idf(w) is None for w in words) * 2 >= len(words)
    )
    tokens = tokenize(content_text(question))
    weights = query_weights(tokens, keywords)
    unknown = [t for t in set(tokens) if t not in weights and len(t) > 1]
    total = sum(weights.values()) + keywords.max_idf * len(unknown)
    missing_share = (keywords.max_idf * len(unknown) / total) if total else 1.0
    if not hits:
        return Support(
            () if cross_lingual else tuple(missing), 0.0, missing_share, False, 0.0, cross_lingual
        )
    top = hits[0]
    passage_tokens = set(tokenize(f"{top.passage.title} {top.passage.section} {top.passage.text}"))
    covered = sum(w for t, w in weights.items() if t in passage_tokens)
    coverage = covered / total if total else 0.0
    best_keyword = max(hits, key=lambda h: h.keyword)
    best_dense = max(hits, key=lambda h: h.dense)
    agree = best_keyword.passage.id == best_dense.passage.id or (
        top.passage.id
        in (
            best_keyword.passage.id,
            best_dense.passage.id,
        )
        and best_keyword.keyword > 0
    )
    if cross_lingual:
        missing = []
    return Support(tuple(missing), coverage, missing_share, agree, top.dense, cross_lingual)


# Sentence choice, tuned on CMRC 2018 (bench/answer_bench.py): the bonus for holding the kind
# of answer asked for, the penalty per rank of the passage, and how close to the best score a
# runner-up must be to be kept as a second sentence.
TYPE_BONUS = 0.3
RANK_PENALTY = 0.3
RUNNER_UP = 0.85
SPREAD = 0.5  # how much less a question word counts when most sentences contain it

_ENTITY_TAGS = {"nr", "nrt", "nrfg", "ns", "nt", "nz"}


@functools.lru_cache(maxsize=1)
def _dictionary() -> bytes:
    """jieba's dictionary of Chinese words ("word frequency tag" lines), read, not imported."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.origin:
        return b""
    with open(os.path.join(os.path.dirname(spec.origin), "dict.txt"), "rb") as handle:
        return b"\n" + handle.read()


@functools.lru_cache(maxsize=4096)
def word_tag(word: str) -> str | None:
    """The part-of-speech tag of a dictionary word, or None if it is not a word."""
    data = _dictionary()
    at = data.find(b"\n" + word.encode("utf-8") + b" ")
    if at < 0:
        return None
    line = data[at + 1 : data.find(b"\n", at + 1)].split()
    return line[2].decode("ascii", "replace") if len(line) >= 3 else ""


def name_in(term: str) -> str | None:
    """The name (of a company, person, place...) within a term the knowledge base lacks:
    a dictionary word tagged as a name, or the whole term when it is not made of words."""
    if not ("\u3400" <= term[0] <= "\u9fff"):
        return None
    if not _dictionary():
        return term
    i, unknown = 0, 0
    while i < len(term):
        for size in range(min(6, len(term) - i), 0, -1):
            tag = word_tag(term[i : i + size]) if size > 1 else None
            if size == 1 or tag is not None:
                if tag in _ENTITY_TAGS:
                    return term[i : i + size]
                unknown += size == 1
                i += size
                break
    return term if unknown >= 3 and unknown == len(term) else None


def should_abstain(support: Support, min_coverage: float, min_dense: float) -> bool:
    """Abstain when the question names something the knowledge base never mentions, when the
    best passage covers too little of the question, or, for a question in another language than
    the knowledge base, when the best passage is not close in meaning."""
    if support.cross_lingual:
        return support.dense < min_dense
    if any(name_in(term) for term in support.missing_terms):
        return True
    if support.coverage < min_coverage:
        return True
    return (
        bool(support.missing_terms) and support.coverage < min_coverage + 0.15 and not support.agree
    )


def choose_sentences(
    question: str, kind: str, hits: list[Hit], keywords: KeywordIndex, max_sentences: int
) -> dict[int, list[int]]:
    """The answer: {hit index: [sentence indexes]}, best sentence first. Sentences of the top
    three passages are scored by the question's distinctive words they hold, a bonus when they
    hold the kind of answer asked for (a quantity, a date, names, reasons), and the rank of
    their passage; a runner-up within 15% of the best is kept too."""
    weights = query_weights(tokenize(content_text(question)), keywords) or query_weights(
        tokenize(question), keywords
    )
    pattern = _TYPE_EVIDENCE.get(kind)
    scored: list[tuple[float, int, int]] = []
    for i, hit in enumerate(hits[:3]):
        for s, share in enumerate(sentence_evidence(hit.passage, weights, True, SPREAD)):
            text = hit.passage.sentence_text(hit.passage.sentences[s])
            bonus = TYPE_BONUS if pattern is not None and pattern.search(text) else 0.0
            scored.append((share + bonus - RANK_PENALTY * i, i, s))
    if not scored:
        return {}
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    best, best_hit, best_sentence = scored[0]
    chosen = {best_hit: [best_sentence]}
    if max_sentences > 1 and len(scored) > 1 and best > 0 and scored[1][0] >= RUNNER_UP * best:
        chosen.setdefault(scored[1][1], []).append(scored[1][2])
    if kind in ("reason", "who"):
        sentences = hits[best_hit].passage.sentences
        for s in range(best_sentence + 1, len(sentences)):
            if sum(map(len, chosen.values())) >= max_sentences or s in chosen[best_hit]:
                break
            text = hits[best_hit].passage.sentence_text(sentences[s])
            if not re.match(r"[二三四五六]是|其次|再次|另外|此外|second|third|also", text, re.I):
                break
            chosen[best_hit].append(s)
    return {i: sorted(indexes) for i, indexes in chosen.items()}
