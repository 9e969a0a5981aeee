"""Turn hard-wrapped source lines into sections of clean text, keeping every character's line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from parkqa.chinese import has_cjk, is_cjk

SENTENCE_END = "。！？!?；;…"
CLOSERS = "”’」』）)》】\"'"
_PAIRS = ("“”", "「」", "『』", "（）", "()", "《》", "【】")
_BREAKS_HEADING = re.compile(r"[，,。；;、！？!?]")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)、]\s*)")
MAX_HEADING_CHARS = 40


@dataclass(frozen=True)
class Section:
    """A run of clean text under one heading; lines[i] is the source line of text[i]."""

    heading: str
    text: str
    lines: tuple[int, ...]


def ends_sentence(text: str) -> bool:
    """Whether text ends with sentence-final punctuation (closing quotes allowed after it)."""
    stripped = text.rstrip().rstrip(CLOSERS)
    if not stripped:
        return False
    last = stripped[-1]
    return last in SENTENCE_END or last == "." or last == "：" or last == ":"


def _balanced(text: str) -> bool:
    return all(text.count(open_) == text.count(close) for open_, close in _PAIRS)


def _looks_like_heading(line: str) -> bool:
    text = line.strip()
    return (
        0 < len(text) <= MAX_HEADING_CHARS
        and not ends_sentence(text)
        and not _BREAKS_HEADING.search(text)
        and not _LIST_ITEM.match(line)
        and _balanced(text)
    )


def find_headings(lines: Sequence[str], known: frozenset[int] = frozenset()) -> set[int]:
    """1-based numbers of the lines that are headings or captions rather than sentence text.

    A heading is a short line without end punctuation that stands apart: a blank line,
    the start, end punctuation or another heading before it, and a blank line, the end,
    or an indented line after it.
    """
    headings = set(known)
    count = len(lines)
    for i, line in enumerate(lines):
        number = i + 1
        if number in headings or not _looks_like_heading(line):
            continue
        before = lines[i - 1] if i > 0 else ""
        after = lines[i + 1] if i + 1 < count else ""
        opens = not before.strip() or number - 1 in headings or ends_sentence(before)
        closes = not after.strip() or after[:1].isspace() or i + 1 in known
        if opens and closes:
            headings.add(number)
    return headings


def _join(left: str, right: str) -> str:
    """The separator for joining two wrapped pieces: none between CJK, a space between words."""
    if not left or not right:
        return ""
    a, b = left[-1], right[0]
    if is_cjk(a, punctuation=True) or is_cjk(b, punctuation=True) or a in "“‘" or b in "”’":
        return ""
    if a == "-" and len(left) > 1 and left[-2].isalpha() and b.islower():
        return "\0"
    return " "


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.lines: list[int] = []

    def add(self, text: str, line: int) -> None:
        self.chars.append(text)
        self.lines.extend([line] * len(text))

    def text(self) -> str:
        return "".join(self.chars)


# A label as a row read with its header says it (员工人数：420), and as prose may (电话：……): what
# a line begins with, or a comma ends, before a colon, ending in no digit (the 2 of 下午2:00 is
# a time's).
LABEL_PATTERN = r"(?:^|(?<=[，,]))\s*([^，,：:。；;\n]{0,11}[^\d，,：:。；;\n\s])[：:]"

# A table as Markdown writes it: rows between bars, the header's row followed by a rule.
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*(?:\|\s*)?:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
# Headers of a column that only numbers the rows.
_ROW_NUMBERS = frozenset({"", "序号", "编号", "序", "no", "no.", "#"})


def _cells(line: str) -> list[str]:
    """A table row's cells: between its outer bars, an escaped bar (\\|) no border."""
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", text)]


def _is_header(lines: Sequence[str], i: int) -> bool:
    return (
        i + 1 < len(lines)
        and bool(_TABLE_ROW.match(lines[i]))
        and bool(_TABLE_RULE.match(lines[i + 1]))
    )


def read_tables(lines: Sequence[str]) -> dict[int, str]:
    """The tables among the lines (a header row, a rule, rows): each row's line number
    mapped to the sentence the row says, its cells each after its header (员工人数：420), and
    the rule's line mapped to "". A column that only numbers the rows is left out, and so is
    an empty cell; a cell beyond the header's is kept without one. A table of one column (a
    page laid out in a table) is read as its cells' text, and one without rows as its
    header's cells; a table ends where the next one's header begins."""
    read: dict[int, str] = {}
    i = 0
    while i < len(lines):
        if not _is_header(lines, i):
            i += 1
            continue
        headers = _cells(lines[i])
        read[i + 2] = ""
        end = i + 2
        while end < len(lines) and _TABLE_ROW.match(lines[end]) and not _is_header(lines, end):
            end += 1
        rows = [_cells(line) for line in lines[i + 2 : end]]
        if len(headers) == 1 or not rows:
            read[i + 1] = _join_cells([cell for cell in headers if cell])
            for number, cells in enumerate(rows, start=i + 3):
                read[number] = _join_cells([cell for cell in cells if cell])
            i = end
            continue
        read[i + 1] = ""
        numbered = {c for c in range(len(headers)) if _numbers_rows(headers, rows, c)}
        for number, row in enumerate(rows, start=i + 3):
            pairs = [
                (headers[c] if c < len(headers) else "", cell)
                for c, cell in enumerate(row)
                if cell and c not in numbered
            ]
            read[number] = _row_sentence(pairs)
        i = end
    return read


def _numbers_rows(headers: list[str], rows: list[list[str]], column: int) -> bool:
    """Whether a column, headed as such (序号, No.) or not at all, numbers the rows 1, 2, 3."""
    return headers[column].lower() in _ROW_NUMBERS and all(
        len(row) > column and row[column] == str(n) for n, row in enumerate(rows, start=1)
    )


def _join_cells(cells: list[str]) -> str:
    return ("，" if has_cjk("".join(cells)) else ", ").join(cells)


def _row_sentence(pairs: list[tuple[str, str]]) -> str:
    """A row's header：cell pairs as one sentence; a comma inside a cell becomes 、, so that
    the sentence's commas part its cells only."""
    chinese = has_cjk("".join(part for pair in pairs for part in pair))
    colon, comma, end = ("：", "，", "。") if chinese else (": ", ", ", ".")
    text = comma.join(
        f"{header}{colon}{_in_cell(cell)}" if header else _in_cell(cell) for header, cell in pairs
    )
    return text + end if text else ""


def _in_cell(cell: str) -> str:
    """A Chinese cell with its commas as 、, a thousands separator (1,860) left as it is."""
    return re.sub(r"，\s*|,(?!\d{3})\s*", "、", cell) if has_cjk(cell) else cell


def clean_lines(
    lines: Sequence[str], known_headings: frozenset[int] = frozenset()
) -> list[Section]:
    """Join wrapped lines into paragraphs, mend paragraphs broken at a column end, read each
    row of a table as a paragraph of its own, and group them into sections under their
    headings."""
    tables = read_tables(lines)
    headings = find_headings(lines, known_headings) - set(tables)
    captions = _trailing(headings, lines) - set(known_headings)
    paragraphs: list[tuple[str, str, list[int]]] = []  # (heading, text, lines)
    heading = ""
    current = _Builder()
    current_heading = ""
    open_paragraph = False
    previous_blank = True

    def flush() -> None:
        nonlocal current, open_paragraph
        text = current.text()
        if text.strip():
            paragraphs.append((current_heading, text, current.lines))
        current = _Builder()
        open_paragraph = False

    for i, raw in enumerate(lines):
        number = i + 1
        line = raw.strip()
        if number in tables:
            flush()
            if tables[number]:
                paragraphs.append((heading, tables[number], [number] * len(tables[number])))
            previous_blank = True
            continue
        if number in captions:
            flush()
            paragraphs.append((heading, line, [number] * len(line)))
            continue
        if number in headings:
            flush()
            heading = line
            previous_blank = False
            continue
        if not line:
            previous_blank = True
            continue
        starts_item = bool(_LIST_ITEM.match(raw))
        if open_paragraph and (starts_item or (previous_blank and ends_sentence(current.text()))):
            flush()
        if (
            open_paragraph
            and not previous_blank
            and raw[:1].isspace()
            and ends_sentence(current.text())
        ):
            flush()
        if not open_paragraph:
            current_heading = heading
            current.add(line, number)
            open_paragraph = True
        else:
            sep = _join(current.text(), line)
            if sep == "\0":
                current.chars[-1] = current.chars[-1][:-1]
                current.lines.pop()
                sep = ""
            current.add(sep, number - 1 if sep else number)
            current.add(line, number)
        previous_blank = False
        if ends_sentence(line) and starts_item:
            flush()
    flush()
    return _group(paragraphs)


def _trailing(headings: set[int], lines: Sequence[str]) -> set[int]:
    """Heading-like lines after the last line of text: photo captions at the end of an
    article, kept as text rather than as headings of nothing."""
    last_text = max(
        (i + 1 for i, line in enumerate(lines) if line.strip() and i + 1 not in headings),
        default=0,
    )
    return {number for number in headings if number > last_text}


def _group(paragraphs: list[tuple[str, str, list[int]]]) -> list[Section]:
    sections: list[Section] = []
    text: list[str] = []
    line_map: list[int] = []
    heading = None
    for para_heading, para_text, para_lines in paragraphs:
        if heading is not None and para_heading != heading:
            sections.append(Section(heading, "".join(text), tuple(line_map)))
            text, line_map = [], []
        if text:
            text.append("\n")
            line_map.append(line_map[-1])
        heading = para_heading
        text.append(para_text)
        line_map.extend(para_lines)
    if text:
        sections.append(Section(heading or "", "".join(text), tuple(line_map)))
    return sections
