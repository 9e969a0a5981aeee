"""Citations: which passage, section and source lines support each answer sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parkqa.retrieval import Hit


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer, or a related passage when there is no answer."""

    n: int
    doc: str
    title: str
    section: str
    lines: tuple[int, int]
    text: str
    score: float
    highlights: tuple[tuple[int, int], ...] = ()
    highlight_lines: tuple[tuple[int, int], ...] = ()
    date: str | None = None
    passage_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc": self.doc,
            "title": self.title,
            "section": self.section,
            "lines": list(self.lines),
            "text": self.text,
            "score": round(self.score, 4),
            "highlights": [list(span) for span in self.highlights],
            "highlight_lines": [list(span) for span in self.highlight_lines],
            "date": self.date,
            "passage_id": self.passage_id,
        }


@dataclass(frozen=True)
class SupportSignals:
    """How well the retrieved passages support an answer, as the abstention decision weighed
    it: shares of the question's keyword weight and words the best passage holds and of its
    weight in the longest run it holds verbatim, the cosine of the closest sentence and its
    margin over the candidates, whether keyword and dense retrieval agree on the passage and
    on the document, the names asked about that no passage holds, what it asks the amount
    of when no passage holds that, a name with its noun that no passage holds together,
    whether the question is in another language than the knowledge base, and the
    probability that the knowledge base answers the question."""

    coverage: float
    word_coverage: float
    dense: float
    dense_margin: float
    agree: bool
    cross_lingual: bool
    probability: float
    verbatim: float = 0.0
    same_document: bool = False
    missing_names: tuple[str, ...] = ()
    missing_attribute: str = ""  # what the question asks the amount of, when no passage holds it
    unheld_phrase: str = ""  # a name with the noun it qualifies that no passage holds together

    def to_json(self) -> dict[str, Any]:
        return {
            "coverage": round(self.coverage, 3),
            "word_coverage": round(self.word_coverage, 3),
            "verbatim": round(self.verbatim, 3),
            "dense_margin": round(self.dense_margin, 3),
            "dense": round(self.dense, 3),
            "agree": self.agree,
            "same_document": self.same_document,
            "missing_names": list(self.missing_names),
            "missing_attribute": self.missing_attribute,
            "unheld_phrase": self.unheld_phrase,
            "cross_lingual": self.cross_lingual,
            "probability": round(self.probability, 6),
        }


@dataclass(frozen=True)
class Answer:
    """What parkqa says to a question: the answer with its citations, or an abstention."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Citation, ...] = ()
    missing_terms: tuple[str, ...] = ()  # names, years or values asked about that no document holds
    question_type: str = "what"
    resolved_question: str | None = None
    notes: tuple[str, ...] = ()
    mode: str = "extractive"
    seconds: float = 0.0
    support: SupportSignals | None = None
    dropped_sentences: tuple[str, ...] = ()  # generated sentences without support

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "related": [c.to_json() for c in self.related],
            "missing_terms": list(self.missing_terms),
            "question_type": self.question_type,
            "resolved_question": self.resolved_question,
            "notes": list(self.notes),
            "mode": self.mode,
            "seconds": round(self.seconds, 4),
            "support": self.support.to_json() if self.support else None,
            "dropped_sentences": list(self.dropped_sentences),
        }


def cite(
    hits: list[Hit],
    chosen: dict[int, list[int]],
    limit: int | None = None,
) -> tuple[Citation, ...]:
    """Number the hits as citations: hits with chosen sentences first, in order of first use,
    then the rest, up to limit (never fewer than the answer cites); chosen[i] lists the
    sentence indexes of hits[i] that the answer uses."""
    order = list(chosen) + [i for i in range(len(hits)) if i not in chosen]
    if limit is not None:
        order = order[: max(limit, len(chosen))]
    citations = []
    for n, i in enumerate(order, start=1):
        hit = hits[i]
        passage = hit.passage
        sentences = [passage.sentences[s] for s in sorted(chosen.get(i, []))]
        citations.append(
            Citation(
                n=n,
                doc=passage.doc,
                title=passage.title,
                section=passage.section,
                lines=(passage.line_start, passage.line_end),
                text=passage.text,
                score=hit.score,
                highlights=tuple((s.start, s.end) for s in sentences),
                highlight_lines=tuple((s.line_start, s.line_end) for s in sentences),
                date=passage.date,
                passage_id=passage.id,
            )
        )
    return tuple(citations)
