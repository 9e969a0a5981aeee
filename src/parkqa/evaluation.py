"""Score parkqa on a question file: retrieval, answer sentences, abstention and latency."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parkqa.citations import Answer
from parkqa.errors import ParkQAError
from parkqa.keywords import normalize


class EvalFileError(ParkQAError):
    """The question file cannot be read."""


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: tuple[str, ...]  # empty: the right response is "not in the knowledge base"


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    abstained: int
    top1: float
    top5: float
    answer_hit: float
    abstention_precision: float
    abstention_recall: float
    mean_ms: float
    p95_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in self.__dict__.items()
        }

    def table(self) -> str:
        rows = [
            ("questions", f"{self.questions} ({self.answerable} answerable)"),
            ("abstained", f"{self.abstained}"),
            ("answer in top-1 cited passage", f"{self.top1:.3f}"),
            ("answer in top-5 cited passages", f"{self.top5:.3f}"),
            ("answer in the answer text", f"{self.answer_hit:.3f}"),
            ("abstention precision", _pct(self.abstention_precision)),
            ("abstention recall", _pct(self.abstention_recall)),
            ("latency mean", f"{self.mean_ms:.1f} ms"),
            ("latency p95", f"{self.p95_ms:.1f} ms"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def load_questions(path: str | os.PathLike) -> list[EvalQuestion]:
    """Questions from YAML, JSON Lines or SQuAD-format JSON (such as CMRC 2018)."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(f"question file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            records = yaml.safe_load(text) or []
            if isinstance(records, dict):
                records = records.get("questions", [])
        elif path.suffix.lower() == ".json" and '"paragraphs"' in text[:200000]:
            return list(squad_questions(json.loads(text)))
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, Exception) as exc:
        if isinstance(exc, ParkQAError):
            raise
        raise EvalFileError(
            f"{path}: cannot parse question file ({type(exc).__name__}); "
            "use YAML, JSON Lines or SQuAD JSON"
        ) from None
    questions = []
    for i, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            raise EvalFileError(f"{path}: entry {i} needs a 'question' text")
        answers = record.get("answers", record.get("answer", []))
        if isinstance(answers, (str, int, float)):
            answers = [answers]
        if isinstance(answers, list):
            answers = [
                str(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else a
                for a in answers
            ]
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise EvalFileError(f"{path}: entry {i}: 'answers' must be a list of texts")
        questions.append(EvalQuestion(record["question"], tuple(answers)))
    return questions


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


def _contains(text: str, answers: tuple[str, ...]) -> bool:
    folded = normalize(text).replace(" ", "")
    return any(normalize(a).replace(" ", "") in folded for a in answers)


def evaluate(questions: list[EvalQuestion], ask: Callable[[str], Answer]) -> EvalReport:
    """Ask every question and score the answers."""
    top1 = top5 = hit = 0
    abstained_right = abstained = should_abstain = 0
    latencies = []
    for item in questions:
        answer = ask(item.question)
        latencies.append(answer.seconds * 1000)
        if answer.abstained:
            abstained += 1
        if not item.answers:
            should_abstain += 1
            abstained_right += int(answer.abstained)
            continue
        texts = [c.text for c in answer.citations]
        top1 += int(bool(texts) and _contains(texts[0], item.answers))
        top5 += int(any(_contains(t, item.answers) for t in texts[:5]))
        hit += int(not answer.abstained and _contains(answer.answer, item.answers))
    answerable = len(questions) - should_abstain
    latencies.sort()
    p95 = (
        latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
        if latencies
        else 0.0
    )
    return EvalReport(
        questions=len(questions),
        answerable=answerable,
        abstained=abstained,
        top1=top1 / answerable if answerable else math.nan,
        top5=top5 / answerable if answerable else math.nan,
        answer_hit=hit / answerable if answerable else math.nan,
        abstention_precision=abstained_right / abstained if abstained else math.nan,
        abstention_recall=abstained_right / should_abstain if should_abstain else math.nan,
        mean_ms=sum(latencies) / len(latencies) if latencies else 0.0,
        p95_ms=p95,
    )
