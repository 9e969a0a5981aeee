"""Score parkqa on a question file: retrieval, answer sentences, abstention and latency,
overall and per kind of question (colloquial, paraphrase, follow-up, unanswerable ...)."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from parkqa.citations import Answer
from parkqa.errors import ParkQAError
from parkqa.keywords import normalize
from parkqa.passages import is_abbreviation
from parkqa.yaml_reading import read_yaml


class EvalFileError(ParkQAError):
    """The question file cannot be read."""


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: tuple[str, ...]  # empty: the right response is "not in the knowledge base"
    kind: str = ""  # free text: colloquial, paraphrase, english, follow-up, unanswerable ...
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first


@dataclass(frozen=True)
class QuestionResult:
    """How one question was answered."""

    item: EvalQuestion
    answer: str
    abstained: bool
    answer_hit: bool
    top1: bool
    top5: bool
    ms: float
    lead_hit: bool = False  # the expected string is in the answer's first sentence

    @property
    def outcome(self) -> str:
        """ "ok", "wrong" or "refused" (an answerable question abstained on)."""
        if not self.item.answers:
            return "ok" if self.abstained else "wrong"
        if self.abstained:
            return "refused"
        return "ok" if self.answer_hit else "wrong"


@dataclass(frozen=True)
class Scores:
    """The figures for one group of questions; shares are of the answerable questions."""

    questions: int
    answerable: int
    abstained: int
    top1: float
    top5: float
    answer_hit: float  # answer accuracy: the expected string is in the answer text
    lead_hit: float  # the expected string is in the answer's first sentence (its lead)
    refused: float  # answerable, but abstained
    abstention_precision: float
    abstention_recall: float
    mean_ms: float
    p95_ms: float

    def figures(self) -> dict[str, Any]:
        """The figures as JSON values (NaN, a share of nothing, becomes null)."""
        return {f.name: _json_number(getattr(self, f.name)) for f in fields(Scores)}

    def table(self) -> str:
        rows = [
            ("questions", f"{self.questions} ({self.answerable} answerable)"),
            ("abstained", f"{self.abstained}"),
            ("answer in the answer text", _share(self.answer_hit)),
            ("answer in its first sentence", _share(self.lead_hit)),
            ("answerable but refused", _share(self.refused)),
            ("abstention precision", _share(self.abstention_precision)),
            ("abstention recall", _share(self.abstention_recall)),
            ("answer in top-1 cited passage", _share(self.top1)),
            ("answer in top-5 cited passages", _share(self.top5)),
            ("latency mean", f"{self.mean_ms:.1f} ms"),
            ("latency p95", f"{self.p95_ms:.1f} ms"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


@dataclass(frozen=True)
class EvalReport(Scores):
    """Scores over all questions, per kind of question, and each question's result."""

    by_kind: dict[str, Scores] = field(default_factory=dict)
    results: tuple[QuestionResult, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.figures(),
            "by_kind": {kind: scores.figures() for kind, scores in self.by_kind.items()},
        }

    def kind_table(self) -> str:
        """One row per kind of question (empty when no question has a kind)."""
        if not self.by_kind:
            return ""
        header = KIND_COLUMNS
        rows = [header]
        for kind, s in self.by_kind.items():
            rows.append(
                (
                    kind,
                    str(s.questions),
                    str(s.answerable),
                    _share(s.answer_hit),
                    _share(s.lead_hit),
                    _share(s.refused),
                    _share(s.abstention_precision),
                    _share(s.abstention_recall),
                    _share(s.top1),
                    _share(s.top5),
                    f"{s.mean_ms:.1f}",
                    f"{s.p95_ms:.1f}",
                )
            )
        widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(
                _ljust(cell, widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ).rstrip()
            for row in rows
        ]
        return "\n".join(lines)


NO_KIND = "(no kind)"
KIND_COLUMNS = (
    "kind",
    "questions",
    "answerable",
    "answer acc",
    "lead",
    "refused",
    "abst P",
    "abst R",
    "top-1",
    "top-5",
    "mean ms",
    "p95 ms",
)


def _share(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def _width(text: str) -> int:
    """Columns a text takes in a terminal (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def load_questions(path: str | os.PathLike) -> list[EvalQuestion]:
    """Questions from YAML, JSON Lines or SQuAD-format JSON (such as CMRC 2018).

    Each YAML or JSON Lines entry has a question and its answer strings, and may have a
    `kind` and a `history` (the earlier questions of the conversation)."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(f"question file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise EvalFileError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        records = _yaml_records(path, text)
    elif path.suffix.lower() == ".json" and '"paragraphs"' in text[:200000]:
        return _squad_file(path, _json(path, text))
    else:
        records = [
            _json(path, line, number)
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    if not isinstance(records, list):
        raise EvalFileError(f"{path}: expected a list of questions")
    return [_question(record, f"{path}: entry {i}") for i, record in enumerate(records, start=1)]


def _yaml_records(path: Path, text: str) -> Any:
    records = read_yaml(text, str(path), error=EvalFileError) or []
    return records.get("questions", []) if isinstance(records, dict) else records


def _json(path: Path, text: str, line: int = 1) -> Any:
    """text parsed as JSON; text is the file from its line `line` on (one line of JSON Lines)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalFileError(
            f"{path}: malformed JSON at line {line + exc.lineno - 1}, column {exc.colno}; "
            "fix the syntax"
        ) from None


def _question(record: Any, where: str) -> EvalQuestion:
    if not isinstance(record, dict) or not isinstance(record.get("question"), str):
        raise EvalFileError(f"{where} needs a 'question' text")
    answers = record.get("answers", record.get("answer", []))
    if isinstance(answers, (str, int, float)):
        answers = [answers]
    if isinstance(answers, list):
        answers = [
            str(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else a
            for a in answers
        ]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise EvalFileError(f"{where}: 'answers' must be a list of texts")
    kind = record.get("kind") or ""
    if not isinstance(kind, str):
        raise EvalFileError(f"{where}: 'kind' must be a text")
    history = record.get("history") or []
    if isinstance(history, str):
        history = [history]
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise EvalFileError(f"{where}: 'history' must be a list of earlier questions")
    return EvalQuestion(record["question"], tuple(answers), kind.strip(), tuple(history))


def _squad_file(path: Path, data: Any) -> list[EvalQuestion]:
    try:
        return list(squad_questions(data))
    except (KeyError, IndexError, TypeError, AttributeError):
        raise EvalFileError(
            f"{path}: not SQuAD JSON (data, paragraphs, qas with question and answers); "
            "use YAML, JSON Lines or SQuAD JSON"
        ) from None


def squad_questions(data: dict[str, Any]) -> Iterable[EvalQuestion]:
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if not qa["question"].strip():
                    continue
                answers = tuple(
                    dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip())
                )
                yield EvalQuestion(qa["question"], answers)


def _fold(text: str) -> str:
    """NFKC, without spaces or the commas that group digits (5,000 is 5000)."""
    return normalize(re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)).replace(" ", "")


def _contains(text: str, answers: tuple[str, ...]) -> bool:
    """Whether text holds one of the answers, after NFKC folding, in either Chinese script."""
    folded = _fold(text)
    if any(_fold(a) in folded for a in answers):
        return True
    from parkqa.chinese import has_cjk, to_simplified

    if not has_cjk(folded) or not any(has_cjk(a) for a in answers):
        return False
    simplified = to_simplified(folded)
    return any(to_simplified(_fold(a)) in simplified for a in answers)


def score(item: EvalQuestion, answer: Answer) -> QuestionResult:
    """Score one answer against the expected answer strings."""
    texts = [c.text for c in answer.citations]
    answerable = bool(item.answers)
    # An answer that names what the documents lack (a year they do not cover) declines to
    # give the fact asked for, as an abstention does, though it shows the closest content.
    declined = answer.abstained or bool(answer.missing_terms)
    hit = answerable and not declined and _contains(answer.answer, item.answers)
    return QuestionResult(
        item=item,
        answer=answer.answer,
        abstained=declined,
        answer_hit=hit,
        top1=answerable and bool(texts) and _contains(texts[0], item.answers),
        top5=answerable and any(_contains(t, item.answers) for t in texts[:5]),
        ms=answer.seconds * 1000,
        lead_hit=hit and _contains(first_sentence(answer.answer), _lead_forms(item)),
    )


def _lead_forms(item: EvalQuestion) -> tuple[str, ...]:
    """The expected strings, and for an English question their English forms too (330家:
    330 companies), as an English answer's lead gives them; not a bare short number."""
    from parkqa.answering import english_fact
    from parkqa.chinese import has_cjk

    if has_cjk(item.question):
        return item.answers
    english = (english_fact(a) for a in item.answers)
    return (*item.answers, *(e for e in english if len(e) > 3 or not e.isdigit()))


_SENTENCE_END = re.compile(r"[。！？；]|\.\s|\s\[\d+\]")


def first_sentence(text: str) -> str:
    """An answer's first sentence: the fact that leads it (3亿元。 / 300 million yuan.), or the
    first answering sentence when nothing leads."""
    end = next(
        (m for m in _SENTENCE_END.finditer(text) if not is_abbreviation(text, m.start())), None
    )
    return text[: end.start()] if end else text


def summarize(results: Sequence[QuestionResult]) -> Scores:
    """The figures of a group of scored questions."""
    answerable = [r for r in results if r.item.answers]
    unanswerable = [r for r in results if not r.item.answers]
    abstained = sum(r.abstained for r in results)
    abstained_right = sum(r.abstained for r in unanswerable)
    latencies = sorted(r.ms for r in results)

    def share(count: int, total: int) -> float:
        return count / total if total else math.nan

    return Scores(
        questions=len(results),
        answerable=len(answerable),
        abstained=abstained,
        top1=share(sum(r.top1 for r in answerable), len(answerable)),
        top5=share(sum(r.top5 for r in answerable), len(answerable)),
        answer_hit=share(sum(r.answer_hit for r in answerable), len(answerable)),
        lead_hit=share(sum(r.lead_hit for r in answerable), len(answerable)),
        refused=share(sum(r.abstained for r in answerable), len(answerable)),
        abstention_precision=share(abstained_right, abstained),
        abstention_recall=share(abstained_right, len(unanswerable)),
        mean_ms=sum(latencies) / len(latencies) if latencies else 0.0,
        p95_ms=_percentile(latencies, 0.95),
    )


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def evaluate(
    questions: Sequence[EvalQuestion], ask: Callable[[str, Sequence[str]], Answer]
) -> EvalReport:
    """Ask every question, with its conversation history, and score the answers.

    `ask(question, history)` answers one question; `history` is the tuple of earlier
    questions (empty for a question on its own), e.g.
    `lambda q, history: kb.ask(q, history=history, k=5)`."""
    results = [score(item, ask(item.question, item.history)) for item in questions]
    by_kind: dict[str, list[QuestionResult]] = {}
    if any(item.kind for item in questions):
        for result in results:
            by_kind.setdefault(result.item.kind or NO_KIND, []).append(result)
    overall = summarize(results)
    return EvalReport(
        **overall.__dict__,
        by_kind={kind: summarize(group) for kind, group in by_kind.items()},
        results=tuple(results),
    )
