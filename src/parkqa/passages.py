"""Split clean text into sentences and pack them into passages that cite their source lines."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from parkqa.cleaning import CLOSERS, Section

# Raised whenever split_sentences changes what it returns, or the passages and titles a
# document gives change, so that indexes are rebuilt (3: a plain text's headline is its title;
# 4: a table's rows are read with its header).
SENTENCE_SPLITTER_VERSION = 4
_HARD_END = "。！？!?；;…"
_SOFT_BREAK = re.compile(r"[，,、：:]")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: offsets into the passage text and its source line span."""

    start: int
    end: int
    line_start: int
    line_end: int


@dataclass(frozen=True)
class Passage:
    """A piece of one document that can be retrieved and cited."""

    id: str
    doc: str
    title: str
    section: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    text: str
    sentences: tuple[Sentence, ...] = field(default=())
    date: str | None = None
    tags: tuple[str, ...] = ()

    def sentence_embedding_texts(self) -> list[str]:
        """What is embedded: each sentence, with the title and section as context. A passage's
        vector is the mean of its sentences', so that answers are matched sentence by sentence."""
        context = " / ".join(part for part in (self.title, self.section) if part)
        texts = [self.sentence_text(s) for s in self.sentences] or [self.text]
        return [f"{context}\n{text}" if context else text for text in texts]

    def sentence_text(self, sentence: Sentence) -> str:
        return self.text[sentence.start : sentence.end]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of text, split on Chinese and Latin end punctuation.

    Numbers such as 3.14 and the numbers of list items (1. 2.) are not split; a newline
    always ends a sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        end = None
        if char in _HARD_END:
            end = i + 1
            while end < n and (text[end] in _HARD_END or text[end] in CLOSERS):
                end += 1
        elif (
            char == "."
            and (i + 1 == n or text[i + 1].isspace())
            and not is_abbreviation(text, i)
            and not _is_list_marker(text, i)
        ):
            end = i + 1
            while end < n and text[end] in CLOSERS:
                end += 1
        elif char == "\n":
            end = i
        if end is not None:
            _add_span(text, start, end, spans)
            start = end
            i = end if end > i else i + 1
            continue
        i += 1
    _add_span(text, start, n, spans)
    return spans


_LIST_MARKER = re.compile(r"\s*(?:\d{1,3}|[A-Za-z]|[ivxIVX]{2,4})")


def _is_list_marker(text: str, i: int) -> bool:
    """Whether the "." at i ends the number or letter that opens a list item (1. 2. b.)."""
    return bool(_LIST_MARKER.fullmatch(text, text.rfind("\n", 0, i) + 1, i))


def is_abbreviation(text: str, i: int) -> bool:
    """Whether the "." at i ends an abbreviation (Mr., Dr., No., e.g.), not a sentence."""
    word = re.search(r"(\w+)$", text[max(0, i - 6) : i])
    return bool(word) and word.group(1).lower() in {
        "mr",
        "mrs",
        "dr",
        "no",
        "vs",
        "e.g",
        "i.e",
        "etc",
    }


_ITEM_MARK = re.compile(r"\s*(?:[-*•·]|\d{1,3}[.)]|[a-z][.)]|[A-Z]\)|[（(]\d{1,3}[)）])\s+")


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Add the span, trimmed of spaces and of the number or bullet that opens a list item."""
    while start < end and text[start].isspace():
        start += 1
    if not text[text.rfind("\n", 0, start) + 1 : start].strip():  # it opens its line
        mark = _ITEM_MARK.match(text, start, end)
        start = mark.end() if mark else start
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def _fit(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than max_chars at commas, or hard at max_chars."""
    start, end = span
    if end - start <= max_chars:
        return [span]
    pieces = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cuts = [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() > max_chars // 3]
        cut = start + (cuts[-1] if cuts else max_chars)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def make_passages(
    sections: list[Section],
    doc: str,
    title: str,
    max_chars: int = 300,
    overlap_sentences: int = 1,
    date: str | None = None,
    tags: tuple[str, ...] = (),
) -> list[Passage]:
    """Pack each section's sentences into passages of at most max_chars characters,
    repeating the last overlap_sentences sentences at the start of the next passage."""
    passages: list[Passage] = []
    offset = 0
    seen: dict[str, int] = {}
    for section in sections:
        spans = [
            piece
            for span in split_sentences(section.text)
            for piece in _fit(section.text, span, max_chars)
        ]
        for group in _pack(spans, max_chars, overlap_sentences):
            passage = _passage(section, group, doc, title, offset, seen, date, tags)
            passages.append(passage)
        offset += len(section.text) + 1
    return passages


def _pack(
    spans: list[tuple[int, int]], max_chars: int, overlap: int
) -> list[list[tuple[int, int]]]:
    groups: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(spans):
        group = [spans[i]]
        j = i + 1
        while j < len(spans) and spans[j][1] - group[0][0] <= max_chars:
            group.append(spans[j])
            j += 1
        groups.append(group)
        if j >= len(spans):
            break
        i = max(j - overlap, i + 1)
    return groups


def _passage(
    section: Section,
    group: list[tuple[int, int]],
    doc: str,
    title: str,
    offset: int,
    seen: dict[str, int],
    date: str | None,
    tags: tuple[str, ...],
) -> Passage:
    start, end = group[0][0], group[-1][1]
    text = section.text[start:end]
    sentences = tuple(
        Sentence(s - start, e - start, section.lines[s], section.lines[e - 1]) for s, e in group
    )
    key = f"{doc}\0{title}\0{section.heading}\0{text}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    seen[digest] = seen.get(digest, 0) + 1
    if seen[digest] > 1:
        digest = hashlib.sha256(f"{key}\0{seen[digest]}".encode()).hexdigest()[:16]
    return Passage(
        id=digest,
        doc=doc,
        title=title,
        section=section.heading,
        line_start=min(section.lines[start:end]),
        line_end=max(section.lines[start:end]),
        char_start=offset + start,
        char_end=offset + end,
        text=text,
        sentences=sentences,
        date=date,
        tags=tags,
    )


def passage_to_json(passage: Passage) -> dict[str, Any]:
    """A passage as a JSON-ready record: what the index stores of it."""
    return {
        "id": passage.id,
        "doc": passage.doc,
        "title": passage.title,
        "section": passage.section,
        "lines": [passage.line_start, passage.line_end],
        "chars": [passage.char_start, passage.char_end],
        "date": passage.date,
        "tags": list(passage.tags),
        "sentences": [[s.start, s.end, s.line_start, s.line_end] for s in passage.sentences],
        "text": passage.text,
    }


def passage_from_json(record: dict[str, Any]) -> Passage:
    return Passage(
        id=record["id"],
        doc=record["doc"],
        title=record["title"],
        section=record["section"],
        line_start=record["lines"][0],
        line_end=record["lines"][1],
        char_start=record["chars"][0],
        char_end=record["chars"][1],
        text=record["text"],
        sentences=tuple(Sentence(*values) for values in record["sentences"]),
        date=record.get("date"),
        tags=tuple(record.get("tags") or ()),
    )
