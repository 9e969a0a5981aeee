"""Choose the sentences that answer a question, or decide that the knowledge base cannot."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parkqa.keywords import KeywordIndex, normalize, tokenize
from parkqa.retrieval import Hit, query_weights, sentence_evidence

_STOP_PHRASES = re.compile(
    r"请问|请介绍一下|介绍一下|请介绍|告诉我|什么时候|什么|多少|哪些|哪个|哪家|哪里|哪儿|哪年|哪天|"
    r"哪一|为什么|为何|怎么样|怎么|如何|是否|有没有|是不是|可以|能否|一下|主要|目前|现在|"
    r"关于|吗|呢|吧|啊|么|的|了|是|在|有|和|与|及|把|被|对|从|给|都|也|还|就|又|几|谁|哪|多"
)
_QUANTITY = re.compile(
    r"\d[\d,.]*\s*(?:%|％|亿|万|千|百|个|家|人|名|元|美元|平方米|平米|亩|台|条|套|所|项|座|层|"
    r"席位|单|倍|公里|千米|米|吨|年)|[一二三四五六七八九十百千万两]+[个家所名条台项亿万千百倍]"
    r"|\d[\d,.]*",
)
_DATE = re.compile(
    r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*[日号]|今年|去年|明年|年初|年底|年内|季度|"
    r"[一二三四五六七八九十]+月|\b(?:19|20)\d{2}\b|january|february|march|april|may|june|july|"
    r"august|september|october|november|december",
    re.I,
)
_REASON = re.compile(r"因为|由于|原因|之所以|为了|为此|因此|所以|一是|首先|得益于|because|due to|since", re.I)
_WHO = re.compile(
    r"集团|公司|企业|科技|银行|大学|学院|政府|委员会|百度|阿里|腾讯|华为|[A-Z][a-z]+|、"
)
_PLACE = re.compile(r"省|市|区|县|镇|园|路|街|基地|中心|位于|地处|\bin\b", re.I)
_TYPE_EVIDENCE = {"quantity": _QUANTITY, "date": _DATE, "reason": _REASON, "who": _WHO, "place": _PLACE}


@dataclass(frozen=True)
class Support:
    """How well the knowledge base supports a question, and why."""

    missing_terms: tuple[str, ...]
    coverage: float
    missing_share: float
    agree: bool
    dense: float


def content_text(question: str) -> str:
    """The question without question words and particles, for term analysis."""
    return _STOP_PHRASES.sub(" ", normalize(question))


def missing_terms(question: str, keywords: KeywordIndex) -> list[str]:
    """Terms of the question that occur nowhere in the knowledge base: runs of two or more
    CJK characters none of whose bigrams are indexed, and Latin words not indexed."""
    terms: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+|[a-z][a-z0-9]+|\d[\d.]*", content_text(question)):
        if not ("\u3400" <= run[0] <= "\u9fff"):
            if keywords.token_idf(run) is None and len(run) > 2:
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
    tokens = tokenize(content_text(question))
    weights = query_weights(tokens, keywords)
    unknown = [t for t in set(tokens) if t not in weights and len(t) > 1]
    total = sum(weights.values()) + keywords.max_idf * len(unknown)
    missing_share = (keywords.max_idf * len(unknown) / total) if total else 1.0
    if not hits:
        return Support(tuple(missing), 0.0, missing_share, False, 0.0)
    top = hits[0]
    passage_tokens = set(tokenize(f"{top.passage.title} {top.passage.section} {top.passage.text}"))
    covered = sum(w for t, w in weights.items() if t in passage_tokens)
    coverage = covered / total if total else 0.0
    best_keyword = max(hits, key=lambda h: h.keyword)
    best_dense = max(hits, key=lambda h: h.dense)
    agree = best_keyword.passage.id == best_dense.passage.id or top.passage.id in (
        best_keyword.passage.id,
        best_dense.passage.id,
    ) and best_keyword.keyword > 0
    return Support(tuple(missing), coverage, missing_share, agree, top.dense)


def should_abstain(support: Support, min_coverage: float, min_dense: float) -> bool:
    """Abstain when a key term is unknown to the knowledge base and the evidence is not strong,
    or when the best passage covers little of the question and is not close in meaning."""
    if support.missing_terms and (support.coverage < 0.75 or not support.agree):
        return True
    if support.coverage < min_coverage and support.dense < min_dense:
        return True
    return support.coverage < min_coverage / 2 and not support.agree


def choose_sentences(
    question: str, kind: str, hits: list[Hit], keywords: KeywordIndex, max_sentences: int
) -> dict[int, list[int]]:
    """The answer: {hit index: [sentence indexes]}, best sentence first, chosen by how much
    of the question a sentence covers and whether it holds the kind of answer asked for."""
    weights = query_weights(tokenize(content_text(question)), keywords) or query_weights(
        tokenize(question), keywords
    )
    pattern = _TYPE_EVIDENCE.get(kind)
    scored: list[tuple[float, int, int]] = []
    for i, hit in enumerate(hits[:3]):
        shares = sentence_evidence(hit.passage, weights)
        for s, share in enumerate(shares):
            text = hit.passage.sentence_text(hit.passage.sentences[s])
            bonus = 0.25 if pattern is not None and pattern.search(text) else 0.0
            rank = 0.15 * hit.score - 0.05 * i
            scored.append((share + bonus + rank, i, s))
    if not scored:
        return {}
    scored.sort(key=lambda item: -item[0])
    best_score, best_hit, best_sentence = scored[0]
    chosen = {best_hit: [best_sentence]}
    if kind in ("reason", "who") and max_sentences > 1:
        sentences = hits[best_hit].passage.sentences
        for s in range(best_sentence + 1, min(len(sentences), best_sentence + max_sentences)):
            text = hits[best_hit].passage.sentence_text(sentences[s])
            if re.match(r"[二三四五]是|其次|另外|此外|同时|second|also", text, re.I) or (
                pattern is not None and pattern.search(text) and kind == "reason"
            ):
                chosen[best_hit].append(s)
            else:
                break
    return chosen
