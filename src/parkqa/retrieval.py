"""Score passages for a question: keyword (BM25) and dense (FAISS) candidates, fused and
reranked by the best-matching sentence in each passage."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from parkqa.chinese import to_traditional
from parkqa.config import RetrievalConfig
from parkqa.dates import parse_date
from parkqa.errors import QuestionError, TagError
from parkqa.keywords import KeywordIndex, tokenize
from parkqa.passages import Passage
from parkqa.questions import Question, written_units


class Searchable(Protocol):
    """What scoring needs of an index, however it is stored: its keyword index and passage
    vectors over the same rows, the passage at a row, which rows a filter allows, and how
    close each passage's sentences are to a question."""

    @property
    def keywords(self) -> KeywordIndex: ...

    @property
    def vectors(self) -> Any:
        """Has search(query, k, allowed) -> (scores, rows), best first."""
        ...

    def passage(self, row: int) -> Passage: ...

    def allowed(self, filters: Filters) -> np.ndarray:
        """A mask of the rows whose passages the filters allow."""
        ...

    def sentence_similarities(self, row: int, query: np.ndarray) -> np.ndarray:
        """Cosine of each sentence of the passage at row to a normalised question vector."""
        ...


def dates_reversed(date_from: str | None, date_to: str | None) -> bool:
    """Whether a range from date_from to date_to (YYYY, YYYY-MM or YYYY-MM-DD) holds no day:
    the dates are compared as far as both go, so 2020-05 to 2020 is a range, 2021 to 2019 not."""
    if not (date_from and date_to):
        return False
    shared = min(len(date_from), len(date_to))
    return date_from[:shared] > date_to[:shared]


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to documents with any of these tags (one text is one tag) and/or
    dates in a range (YYYY, YYYY-MM or YYYY-MM-DD; anything else raises DateError, and a
    range that ends before it starts raises QuestionError)."""

    tags: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        tags = (self.tags,) if isinstance(self.tags, str) else tuple(self.tags)
        object.__setattr__(self, "tags", tags)
        for name in ("date_from", "date_to"):
            if getattr(self, name):
                parse_date(getattr(self, name), name)
        if dates_reversed(self.date_from, self.date_to):
            raise QuestionError(
                f"the date range is empty: {self.date_from} is after {self.date_to}; swap them"
            )

    def __bool__(self) -> bool:
        return bool(self.tags or self.date_from or self.date_to)

    def check_tags(self, known: Iterable[str]) -> None:
        """Refuse tags that no document has (TagError, listing the known ones): such a filter
        would leave nothing to answer from."""
        known = set(known)
        unknown = [tag for tag in self.tags if tag not in known]
        if unknown:
            raise TagError(unknown, sorted(known))

    def allows(self, passage: Passage) -> bool:
        return self.allows_fields(passage.date, passage.tags)

    def allows_fields(self, date: str | None, tags: Sequence[str]) -> bool:
        """Whether a passage of this date and these tags (its document's) passes."""
        if self.tags and not set(self.tags) & set(tags):
            return False
        if self.date_from or self.date_to:
            if not date:
                return False
            if self.date_from and date[: len(self.date_from)] < self.date_from:
                return False
            if self.date_to and date[: len(self.date_to)] > self.date_to:
                return False
        return True


# The best passages by fused score that are reranked by their sentences (at least k): a short
# question of common words (园区有多少家企业？) ranks the passage that answers it below many that
# share its words.
RERANKED = 30
# A passage holding the kind of answer asked for (多少家企业: a count of companies) scores this
# share of the fused scores' spread more: a question across languages finds passages through
# translated words, which many passages share, and a colloquial one through few of its words.
ANSWER_KIND_WEIGHT = 0.3


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the scores that ranked it."""

    passage: Passage
    row: int
    score: float
    keyword: float
    dense: float  # cosine of the passage's closest sentence
    evidence: float
    similarities: tuple[float, ...] = ()  # cosine of each sentence to the question
    background: float = 0.0  # mean dense score of all the candidates: how close anything is


def sentence_evidence(
    passage: Passage, weights: dict[str, float], distinctive: bool = False, spread: float = 0.0
) -> list[float]:
    """For each sentence, the IDF-weighted share of the question's tokens it contains.

    With distinctive=True, tokens of the document title count for nothing (the title names
    the topic, not the answer) unless they are the whole question; spread lowers the weight
    of tokens found in many of the passage's sentences, favouring those that single one out.
    """
    title = _token_set(passage.title) if distinctive else frozenset()
    sentences = [_token_set(passage.sentence_text(s)) for s in passage.sentences]
    count = len(sentences)
    if all(token in title for token in weights):
        title = frozenset()
    local = {}
    for token, weight in weights.items():
        if token in title:
            continue
        share = sum(token in tokens for tokens in sentences) / count if count > 1 else 0.0
        local[token] = weight * (1 - spread * share)
    total = sum(local.values())
    if not total:
        return [0.0] * count
    return [sum(w for t, w in local.items() if t in tokens) / total for tokens in sentences]


@lru_cache(maxsize=65536)
def _token_set(text: str) -> frozenset[str]:
    """The tokens of a sentence or title, kept for the sentences asked about again and again
    (each question rereads the sentences of its twenty best passages)."""
    return frozenset(tokenize(text))


def query_tokens(question: Question, keywords: KeywordIndex) -> list[str]:
    """Keyword tokens of what the question is about, in the script the knowledge base uses
    (a Traditional question finds Simplified passages and the other way round)."""
    text = question.keyword_text or question.simplified
    best: list[str] = []
    best_weight = -1.0
    for variant in (text, to_traditional(text)):
        tokens = tokenize(variant)
        weight = sum(query_weights(tokens, keywords).values())
        if weight > best_weight:
            best, best_weight = tokens, weight
    return best


def in_knowledge_base_script(question: Question, keywords: KeywordIndex) -> str:
    """The question in the script the knowledge base is written in (as far as its keywords
    tell), its units written as documents write them, so that it is embedded as the passages
    were."""
    if question.language == "en":
        return question.resolved
    text = written_units(question.simplified)
    if question.written:
        text = f"{text} {' '.join(question.written)}"
    traditional_text = to_traditional(text)
    if traditional_text == text:
        return text
    simplified = sum(query_weights(tokenize(text), keywords).values())
    traditional = sum(query_weights(tokenize(traditional_text), keywords).values())
    return traditional_text if traditional > simplified else text


def query_weights(tokens: Sequence[str], keywords: KeywordIndex) -> dict[str, float]:
    """IDF of each distinct question token that the knowledge base contains."""
    weights = {}
    for token in set(tokens):
        idf = keywords.token_idf(token)
        if idf is not None:
            weights[token] = idf
    return weights


def fuse(keyword: np.ndarray, dense: np.ndarray, config: RetrievalConfig) -> np.ndarray:
    """Fused scores of the candidates. "weighted": BM25 scaled by its best score and cosine
    rescaled over the candidates, mixed by the configured weights. "rrf": reciprocal-rank
    fusion, kept for comparison; it lets a weak dense ranking pull down strong keyword hits."""
    if config.fusion == "rrf":
        return config.keyword_weight * _reciprocal_ranks(
            keyword, config.rrf_k
        ) + config.dense_weight * _reciprocal_ranks(dense, config.rrf_k)
    top = float(keyword.max()) if len(keyword) else 0.0
    keyword_part = keyword / top if top > 0 else np.zeros_like(keyword)
    if len(dense):
        low, high = float(dense.min()), float(dense.max())
        dense_part = (dense - low) / (high - low) if high > low else np.ones_like(dense)
    else:
        dense_part = dense
    return config.keyword_weight * keyword_part + config.dense_weight * dense_part


def _reciprocal_ranks(scores: np.ndarray, k: int) -> np.ndarray:
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return 1.0 / (k + ranks)


def search(
    index: Searchable,
    query_vector: np.ndarray,
    question: Question,
    config: RetrievalConfig,
    k: int,
    filters: Filters | None = None,
    allowed: np.ndarray | None = None,
    holds_answer: Callable[[str], bool] | None = None,
) -> list[Hit]:
    """The k best passages for a question, best first; with holds_answer, those of the
    reranked candidates whose text holds the kind of answer asked for score ANSWER_KIND_WEIGHT
    of the fused scores' spread more."""
    if index.keywords.count == 0:
        return []
    if filters:
        allowed = index.allowed(filters)
        if not allowed.any():
            return []
    tokens = query_tokens(question, index.keywords)
    width = min(config.candidates, index.keywords.count)
    keyword_rows, keyword_found = index.keywords.top(tokens, width, mask=allowed)
    _, dense_rows = index.vectors.search(query_vector, width, allowed)
    rows = np.unique(np.concatenate([keyword_rows, dense_rows])).astype(np.int64)
    if len(rows) == 0:
        return []
    similarities = [index.sentence_similarities(int(r), query_vector) for r in rows]
    dense = np.array([float(s.max()) if len(s) else 0.0 for s in similarities], np.float32)
    keyword = _keyword_scores(index.keywords, tokens, rows, keyword_rows, keyword_found)
    fused = fuse(keyword, dense, config)

    # Added scores are shares of the fused scores' spread: weighted fusion rescales each
    # retriever's scores to 0-1; reciprocal ranks differ by thousandths.
    scale = float(fused.max() - fused.min()) if config.fusion == "rrf" else 1.0
    rerank = min(len(rows), max(k, RERANKED))
    order = np.argsort(-fused, kind="stable")[:rerank]
    weights = query_weights(tokens, index.keywords)
    hits = []
    for i in order:
        passage = index.passage(int(rows[i]))
        evidence = 0.0
        if config.evidence_weight:  # reading every sentence's tokens is half a question's time
            evidence = max(sentence_evidence(passage, weights), default=0.0)
        kind = ANSWER_KIND_WEIGHT if holds_answer and holds_answer(passage.text) else 0.0
        added = scale * (config.evidence_weight * evidence + kind)
        hits.append(
            Hit(
                passage=passage,
                row=int(rows[i]),
                score=float(fused[i] + added),
                keyword=float(keyword[i]),
                dense=float(dense[i]),
                evidence=evidence,
                similarities=tuple(similarities[i].tolist()),
                background=float(dense.mean()),
            )
        )
    hits.sort(key=lambda hit: -hit.score)
    return hits[:k]


def _keyword_scores(
    keywords: KeywordIndex,
    tokens: Sequence[str],
    rows: np.ndarray,
    found_rows: np.ndarray,
    found_scores: np.ndarray,
) -> np.ndarray:
    """BM25 scores of the candidate rows: those the keyword search found, and the others
    (found by the dense search only) scored on their own."""
    scores = np.zeros(len(rows), dtype=np.float32)
    position = {int(r): i for i, r in enumerate(found_rows)}
    others = [i for i, r in enumerate(rows) if int(r) not in position]
    for i, r in enumerate(rows):
        at = position.get(int(r))
        if at is not None:
            scores[i] = found_scores[at]
    if others:
        scores[others] = keywords.scores_at(tokens, rows[others])
    return scores
