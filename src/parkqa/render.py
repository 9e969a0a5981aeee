"""Plain-text rendering of answers for a terminal, with colour when it is one."""

from __future__ import annotations

from parkqa.citations import Answer, Citation

_BOLD, _DIM, _YELLOW, _CYAN, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[36m", "\x1b[0m"


def render_answer(answer: Answer, colour: bool = False, show_question: bool = False) -> str:
    """The answer, then its sources (or, when it abstained, the related reading)."""

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
    if answer.citations:
        out.append("")
        out.append(style("Sources:", _CYAN))
        out.extend(_citation(c, colour, style) for c in answer.citations)
    if answer.related:
        out.append("")
        out.append(style("Related reading (not an answer):", _CYAN))
        out.extend(_citation(c, colour, style) for c in answer.related)
    out.append("")
    return "\n".join(out)


def _citation(citation: Citation, colour: bool, style) -> str:
    where = f"{citation.doc}, lines {citation.lines[0]}-{citation.lines[1]}"
    heading = " · ".join(dict.fromkeys(part for part in (citation.title, citation.section) if part))
    text = citation.text.replace("\n", " ")
    for start, end in sorted(citation.highlights, reverse=True):
        marked = style(text[start:end], _YELLOW + _BOLD) if colour else f"【{text[start:end]}】"
        text = text[:start] + marked + text[end:]
    return f"[{citation.n}] {heading}\n    {style(where, _DIM)}\n    {text}"
