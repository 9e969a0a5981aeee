"""Plain-text rendering of answers for a terminal, with colour when it is one."""

from __future__ import annotations

import re
from collections.abc import Callable

from parkqa.citations import Answer, Citation

_BOLD, _DIM, _YELLOW, _CYAN, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[36m", "\x1b[0m"
_MARKER = re.compile(r"\[(\d+)\]")
OPENING_CHARS = 60  # of a passage that answers nothing, shown in the compact form

Style = Callable[[str, str], str]


def cited(answer: Answer) -> list[Citation]:
    """The citations the answer uses: its [n] markers and the passages of its sentences."""
    used = {int(n) for n in _MARKER.findall(answer.answer)}
    return [c for c in answer.citations if c.n in used or c.highlights]


def render_answer(
    answer: Answer,
    colour: bool = False,
    show_question: bool = False,
    sources: int | None = None,
    full: bool = False,
) -> str:
    """The answer, then the passages it cites, compactly: title and section, file and lines,
    the answering sentences. sources lists that many (the cited ones first) and full prints
    each whole passage with its answering sentences marked. An abstention lists the related
    reading instead."""

    def style(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    out = []
    if show_question:
        out.append(style(f"? {answer.question}", _BOLD))
    for note in answer.notes:
        out.append(style(f"note: {note}", _DIM))
    if answer.resolved_question:
        out.append(style(f"(understood as: {answer.resolved_question})", _DIM))
    out.append(style(answer.answer, _BOLD) if colour else answer.answer)
    shown = cited(answer)
    if sources or full:
        shown = list(
            answer.citations[: max(sources or 0, len(shown))] if sources else answer.citations
        )
    if shown:
        out.append("")
        out.extend(_citation(c, style, colour, full) for c in shown)
    if answer.related:
        out.append("")
        out.append(style("Related reading (not an answer):", _CYAN))
        related = answer.related[:sources] if sources else answer.related
        out.extend(_citation(c, style, colour, full) for c in related)
    out.append("")
    return "\n".join(out)


def _citation(citation: Citation, style: Style, colour: bool, full: bool) -> str:
    """A source in three lines: its number, title and section; its file and the lines of the
    text below; the answering sentences (or, when full, the passage with them marked)."""
    heading = " · ".join(dict.fromkeys(part for part in (citation.title, citation.section) if part))
    if full:
        lines, text = citation.lines, _marked(citation.text, citation.highlights, style, colour)
    elif citation.highlights:
        lines = (citation.highlight_lines[0][0], citation.highlight_lines[-1][1])
        text = _quoted(citation, style, colour)
    else:
        lines = citation.lines
        text = _flat(citation.text[:OPENING_CHARS]) + (
            "…" if len(citation.text) > OPENING_CHARS else ""
        )
    first, last = lines
    where = f"{citation.doc}, " + (f"line {first}" if first == last else f"lines {first}-{last}")
    return f"{style(f'[{citation.n}]', _CYAN)} {heading}\n    {style(where, _DIM)}\n    {text}"


def _quoted(citation: Citation, style: Style, colour: bool) -> str:
    """The answering sentences of a passage, marked, with … where passage text is left out."""
    text = citation.text
    spans: list[list[int]] = []
    for start, end in sorted(citation.highlights):
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1][1] = max(spans[-1][1], end)  # sentences side by side: one mark
        else:
            spans.append([start, end])
    parts = ["…"] if text[: spans[0][0]].strip() else []
    for i, (start, end) in enumerate(spans):
        if i:
            parts.append("…")
        parts.append(_mark(_flat(text[start:end]).strip(), style, colour))
    if text[spans[-1][1] :].strip():
        parts.append("…")
    return " ".join(parts)


def _marked(text: str, highlights: tuple[tuple[int, int], ...], style: Style, colour: bool) -> str:
    for start, end in sorted(highlights, reverse=True):
        text = text[:start] + _mark(text[start:end], style, colour) + text[end:]
    return _flat(text)


def _mark(text: str, style: Style, colour: bool) -> str:
    return style(text, _YELLOW + _BOLD) if colour else f"【{text}】"


def _flat(text: str) -> str:
    return text.replace("\n", " ")
