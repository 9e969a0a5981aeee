"""Reading one knowledge file into numbered source lines plus its metadata."""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from parkqa.dates import parse_date
from parkqa.errors import DateError, DocumentError
from parkqa.yaml_reading import read_yaml

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm")
SIDECAR_SUFFIX = ".meta.yaml"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Plain text is all passages: 10 MiB of Chinese is ~15,000 passages, minutes of embedding.
DEFAULT_MAX_TEXT_BYTES = 10 * 1024 * 1024

_TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_HTML_SUFFIXES = (".html", ".htm")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CJK_CANDIDATES = ("gb18030", "big5")
_DECLARED_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030"}
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)


@dataclass(frozen=True)
class SourceText:
    """A document's text lines, the lines that are headings, and its metadata."""

    path: Path
    lines: tuple[str, ...]
    heading_lines: frozenset[int]
    title: str
    date: str | None
    source: str | None
    tags: tuple[str, ...]
    encoding: str | None


@dataclass(frozen=True)
class _Metadata:
    title: str | None = None
    date: str | None = None
    source: str | None = None
    tags: tuple[str, ...] | None = None

    def overridden_by(self, other: _Metadata) -> _Metadata:
        return _Metadata(
            title=other.title if other.title is not None else self.title,
            date=other.date if other.date is not None else self.date,
            source=other.source if other.source is not None else self.source,
            tags=other.tags if other.tags is not None else self.tags,
        )


@dataclass(frozen=True)
class _Extracted:
    lines: tuple[str, ...]
    heading_lines: frozenset[int]
    title: str | None
    encoding: str | None
    metadata: _Metadata = _Metadata()


def knowledge_files(knowledge_dir: Path, warnings: list[str] | None = None) -> list[Path]:
    """Document files under knowledge_dir (recursive), sorted; skips hidden files/dirs
    (name starts with '.'), sidecar .meta.yaml files, and anything whose resolved path is
    outside knowledge_dir (a symlink pointing outside is skipped with a warning naming it,
    appended to `warnings` when given, else logged). Files with unsupported suffixes are
    included (so the caller can warn), except sidecars and hidden files."""

    def warn(message: str) -> None:
        if warnings is None:
            logger.warning("%s", message)
        else:
            warnings.append(message)

    if not knowledge_dir.is_dir():
        raise DocumentError(f"{knowledge_dir}: knowledge folder not found")
    root = knowledge_dir.resolve()
    found: list[Path] = []
    seen_dirs = {root}
    pending = [knowledge_dir]
    while pending:
        folder = pending.pop()
        for entry in folder.iterdir():
            if entry.name.startswith(".") or entry.name.endswith(SIDECAR_SUFFIX):
                continue
            resolved = entry.resolve()
            if not resolved.is_relative_to(root):
                warn(f"{entry}: skipped, it links to {resolved} outside the knowledge folder")
                continue
            if entry.is_dir():
                if resolved not in seen_dirs:
                    seen_dirs.add(resolved)
                    pending.append(entry)
            elif entry.is_file():
                found.append(entry)
            elif entry.is_symlink():
                warn(f"{entry}: skipped, it is a broken link")
    return sorted(found)


def sidecar_path(path: Path) -> Path:
    """The metadata file that describes path: 'report.pdf' -> 'report.pdf.meta.yaml'."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def has_sidecar(path: Path) -> bool:
    """Whether a metadata file describes path (a name too long to take the suffix has none)."""
    try:
        return sidecar_path(path).is_file()
    except OSError:
        return False


def content_hash(path: Path) -> str:
    """sha256 hex of the file bytes plus its sidecar's bytes (if any), so editing either
    changes the hash."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    sidecar = sidecar_path(path)
    if has_sidecar(path):
        digest.update(b"\0" + SIDECAR_SUFFIX.encode() + b"\0")
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


def read_document(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES
) -> SourceText:
    """Read one file into lines and metadata.

    Raises DocumentError with a one-line message naming the file and the problem: unsupported
    suffix, empty file, binary content, a damaged PDF/DOCX, a PDF without text, a file larger
    than max_bytes (max_text_bytes for plain text, HTML and Markdown), or malformed metadata.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported file type '{path.suffix or path.name}'; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        size = path.stat().st_size
        limit = max_bytes if suffix in (".pdf", ".docx") else min(max_bytes, max_text_bytes)
        if size > limit:
            raise DocumentError(
                f"{path}: file is {_format_size(size)}, larger than the "
                f"{_format_size(limit)} limit; split it into smaller files"
            )
        data = path.read_bytes()
    except OSError as error:
        raise DocumentError(f"{path}: cannot read file ({error.strerror or error})") from error
    if not data.strip():
        raise DocumentError(f"{path}: file is empty")

    if suffix == ".pdf":
        extracted = _read_pdf(path, data)
    elif suffix == ".docx":
        extracted = _read_docx(path, data)
    else:
        text, encoding = _decode_text(path, data, html=suffix in _HTML_SUFFIXES)
        if suffix in _HTML_SUFFIXES:
            extracted = _read_html(text, encoding)
        elif suffix in _MARKDOWN_SUFFIXES:
            extracted = _read_markdown(path, text, encoding)
        else:
            extracted = _Extracted(_split_lines(text), frozenset(), None, encoding)

    lines = _trim_trailing_blank(extracted.lines)
    if not any(line.strip() for line in lines):
        raise DocumentError(f"{path}: file is empty (no text)")

    metadata = extracted.metadata.overridden_by(_read_sidecar(path))
    title = metadata.title or extracted.title or _first_heading(lines, extracted.heading_lines)
    return SourceText(
        path=path.absolute(),
        lines=lines,
        heading_lines=frozenset(n for n in extracted.heading_lines if n <= len(lines)),
        title=title or path.stem,
        date=metadata.date,
        source=metadata.source,
        tags=metadata.tags or (),
        encoding=extracted.encoding,
    )


def _format_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def _split_lines(text: str) -> tuple[str, ...]:
    lines = _LINE_BREAK_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(line.rstrip() for line in lines)


def _trim_trailing_blank(lines: tuple[str, ...]) -> tuple[str, ...]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def _first_heading(lines: tuple[str, ...], heading_lines: frozenset[int]) -> str | None:
    for number in sorted(heading_lines):
        if lines[number - 1].strip():
            return lines[number - 1].strip()
    return None


# Text decoding


def _binary_error(path: Path) -> DocumentError:
    return DocumentError(
        f"{path}: not a text document (binary data); remove it or convert it to .txt"
    )


def _decode_text(path: Path, data: bytes, *, html: bool = False) -> tuple[str, str]:
    """Decode text bytes: BOM, then UTF-8, then a declared HTML charset, then GB18030 or Big5."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as error:
                raise _binary_error(path) from error
            if encoding == "utf-16":
                encoding = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
            elif encoding == "utf-32":
                encoding = "utf-32-le" if bom == codecs.BOM_UTF32_LE else "utf-32-be"
            return _check_not_binary(path, text), encoding
    if b"\0" in data:
        raise _binary_error(path)
    try:
        return _check_not_binary(path, data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    if html:
        declared = _declared_charset(data)
        if declared:
            try:
                return _check_not_binary(path, data.decode(declared)), declared
            except UnicodeDecodeError:
                pass
    decoded = _decode_chinese_legacy(data)
    if decoded is None:
        if _control_ratio(data.decode("latin-1")) > 0.1:
            raise _binary_error(path)
        raise DocumentError(
            f"{path}: unknown text encoding (not UTF-8, GB18030 or Big5); save it as UTF-8"
        )
    text, encoding = decoded
    return _check_not_binary(path, text), encoding


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET_RE.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii").lower()
    name = _DECLARED_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _control_ratio(text: str) -> float:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    return controls / max(1, len(text))


def _check_not_binary(path: Path, text: str) -> str:
    if "\0" in text or _control_ratio(text) > 0.1:
        raise _binary_error(path)
    return text


def _decode_chinese_legacy(data: bytes) -> tuple[str, str] | None:
    """Choose GB18030 or Big5 by which decoding reads as more common characters."""
    decodings: list[tuple[float, str, str]] = []
    for rank, encoding in enumerate(_CJK_CANDIDATES):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        decodings.append((_common_share(text, encoding), -rank, text))
    if not decodings:
        return None
    _, rank, text = max(decodings)
    return text, _CJK_CANDIDATES[-rank]


def _common_share(text: str, encoding: str) -> float:
    """Share of non-ASCII characters that are everyday characters in that encoding.

    Everyday means GB2312's hanzi and punctuation rows for GB18030, and Big5's punctuation
    and frequent-hanzi rows for Big5; text in the wrong encoding decodes to rare characters.
    """
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return 1.0
    if encoding == "gb18030":
        codec, common_leads = "gb2312", {0xA1, 0xA3, *range(0xB0, 0xF8)}
    else:
        codec, common_leads = "big5", {0xA1, 0xA2, *range(0xA4, 0xC7)}
    common = 0
    for ch in wide:
        try:
            encoded = ch.encode(codec)
        except UnicodeEncodeError:
            continue
        common += encoded[0] in common_leads
    return common / len(wide)


# Metadata


def _read_sidecar(path: Path) -> _Metadata:
    sidecar = sidecar_path(path)
    if not has_sidecar(path):
        return _Metadata()
    try:
        text = sidecar.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DocumentError(f"{sidecar}: cannot read metadata (save it as UTF-8 YAML)") from error
    return _parse_metadata(sidecar, text)


def _parse_metadata(origin: Path, text: str, first_line: int = 1) -> _Metadata:
    """The metadata in text (YAML), which starts at line first_line of origin."""
    raw = read_yaml(
        text, str(origin), error=DocumentError, what="metadata YAML", first_line=first_line
    )
    if raw is None:
        return _Metadata()
    if not isinstance(raw, dict):
        raise DocumentError(f"{origin}: metadata must be a mapping of title, date, source, tags")
    return _Metadata(
        title=_optional_text(origin, "title", raw.get("title")),
        date=_parse_date(origin, raw.get("date")),
        source=_optional_text(origin, "source", raw.get("source")),
        tags=_parse_tags(origin, raw.get("tags")),
    )


def _optional_text(origin: Path, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise DocumentError(f"{origin}: metadata '{key}' must be text")
    text = str(value).strip()
    return text or None


def _parse_date(origin: Path, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return parse_date(str(value).strip())
    except DateError as exc:
        raise DocumentError(f"{origin}: {exc}") from None


def _parse_tags(origin: Path, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts: list[Any] = value.split(",")
    elif isinstance(value, list):
        parts = value
    else:
        raise DocumentError(f"{origin}: metadata 'tags' must be a list or comma-separated text")
    if any(isinstance(part, (dict, list)) for part in parts):
        raise DocumentError(f"{origin}: metadata 'tags' must be a list of words")
    tags = (str(part).strip() for part in parts if part is not None)
    return tuple(dict.fromkeys(tag for tag in tags if tag))


# Markdown


def _read_markdown(path: Path, text: str, encoding: str) -> _Extracted:
    lines = list(_split_lines(text))
    metadata = _Metadata()
    if lines and lines[0].strip() == "---":
        end = next(
            (i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")),
            None,
        )
        if end is not None:
            metadata = _parse_metadata(path, "\n".join(lines[1:end]), first_line=2)
            lines[: end + 1] = [""] * (end + 1)
    headings: set[int] = set()
    fence: str | None = None
    for index, line in enumerate(lines):
        fence_match = _FENCE_RE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            fence = None if fence == marker else fence or marker
            continue
        if fence:
            continue
        heading = _ATX_HEADING_RE.match(line)
        if heading:
            lines[index] = (heading.group(2) or "").strip()
            headings.add(index + 1)
    return _Extracted(tuple(lines), frozenset(headings), None, encoding, metadata)


def table_row(cells: Sequence[str]) -> str:
    """A table row as Markdown writes it (| 企业 | 员工人数 |), a bar inside a cell a slash."""
    return "| " + " | ".join(" ".join(c.replace("|", "/").split()) for c in cells) + " |"


# HTML


class _HTMLText(HTMLParser):
    """Plain text of an HTML page: one line per block element, headings remembered."""

    _BLOCKS = frozenset(
        {
            "address",
            "article",
            "aside",
            "blockquote",
            "body",
            "br",
            "caption",
            "dd",
            "details",
            "div",
            "dl",
            "dt",
            "fieldset",
            "figcaption",
            "figure",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "html",
            "li",
            "main",
            "nav",
            "ol",
            "p",
            "pre",
            "section",
            "summary",
            "table",
            "tbody",
            "tfoot",
            "thead",
            "ul",
        }
    )
    _SKIPPED = frozenset(
        {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
    )
    _HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._row: list[str] | None = None  # the cells of the table row being read
        self._in_cell = False  # within a td or th: text between cells is no cell
        self._first_row = False  # the next row is its table's first, its header
        self.lines: list[str] = []
        self.heading_lines: set[int] = set()
        self.title_parts: list[str] = []
        self._line: list[str] = []
        self._skipping: list[str] = []
        self._in_title = False
        self._heading_depth = 0
        self._line_is_heading = False
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIPPED:
            self._skipping.append(tag)
        elif tag == "table":
            self._end_row()
            self._flush()
            self._first_row = True
        elif tag == "tr":
            self._end_row()  # an end tag HTML lets a page leave out
            self._flush()
            self._row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:  # a cell outside any row opens one
                self._flush()
                self._row = []
            self._line = []  # what stood between cells
            self._in_cell = True
        elif self._row is not None:
            self._line.append(" ")  # a block inside a cell is part of the cell
        elif tag in self._BLOCKS:
            self._flush()
            if tag in self._HEADINGS:
                self._heading_depth += 1
            elif tag == "pre":
                self._pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            if self._row is not None:
                self._line.append(" ")  # a line break inside a cell
            else:
                self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIPPED:
            if tag in self._skipping:
                del self._skipping[len(self._skipping) - 1 - self._skipping[::-1].index(tag) :]
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()
        elif self._row is not None:
            self._line.append(" ")
        elif tag in self._BLOCKS:
            self._flush()
            if tag in self._HEADINGS:
                self._heading_depth = max(0, self._heading_depth - 1)
            elif tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif self._skipping:
            return
        elif self._pre_depth:
            first, *rest = _LINE_BREAK_RE.split(data)
            self._line.append(first)
            for part in rest:
                self._flush(keep_blank=True)
                self._line.append(part)
        else:
            self._line.append(data)
            if self._heading_depth and data.strip():
                self._line_is_heading = True

    def close(self) -> None:
        super().close()
        self._end_row()
        self._flush()

    def _end_cell(self) -> None:
        """Close the cell being read, if any, into the row, an empty one too."""
        if self._row is not None and self._in_cell:
            self._row.append(" ".join("".join(self._line).split()))
        self._in_cell = False
        self._line = []

    def _end_row(self) -> None:
        """Write the row being read as a Markdown table row, its table's first followed by
        the rule under a header; cleaning reads each row with that header."""
        if self._row is None:
            return
        self._end_cell()
        row, self._row = self._row, None
        if any(row):
            self.lines.append(table_row(row))
            if self._first_row:
                self.lines.append(table_row(["---"] * len(row)))
            self._first_row = False

    def _flush(self, *, keep_blank: bool = False) -> None:
        raw = "".join(self._line)
        text = raw.rstrip() if self._pre_depth else " ".join(raw.split())
        if text or keep_blank:
            self.lines.append(text)
            if self._line_is_heading:
                self.heading_lines.add(len(self.lines))
        self._line = []
        self._line_is_heading = False


def _read_html(text: str, encoding: str) -> _Extracted:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    title = " ".join("".join(parser.title_parts).split()) or None
    return _Extracted(tuple(parser.lines), frozenset(parser.heading_lines), title, encoding)


# PDF and DOCX


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    pypdf_logger = logging.getLogger("pypdf")
    previous = pypdf_logger.level
    pypdf_logger.setLevel(logging.ERROR + 10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pypdf_logger.setLevel(previous)


def _read_pdf(path: Path, data: bytes) -> _Extracted:
    try:
        import pypdf
    except ImportError as error:
        raise DocumentError(
            f"{path}: reading PDF needs pypdf; install it with 'pip install pypdf'"
        ) from error
    damaged = DocumentError(f"{path}: cannot read PDF (file is damaged or truncated)")
    if b"%PDF-" not in data[:1024] or b"%%EOF" not in data[-2048:]:
        raise damaged
    lines: list[str] = []
    title = None
    with _quiet_pypdf():
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise DocumentError(f"{path}: PDF is password-protected; save an unlocked copy")
            for page in reader.pages:
                lines.extend(_split_lines(page.extract_text() or ""))
            metadata = reader.metadata
            title = _optional_text(path, "title", metadata.title) if metadata else None
        except DocumentError:
            raise
        except Exception as error:
            raise damaged from error
    if not any(line.strip() for line in lines):
        raise DocumentError(
            f"{path}: PDF has no extractable text (scanned images?); run OCR or convert it to .txt"
        )
    return _Extracted(tuple(lines), frozenset(), title, None)


def _read_docx(path: Path, data: bytes) -> _Extracted:
    try:
        import docx
    except ImportError as error:
        raise DocumentError(
            f"{path}: reading DOCX needs python-docx; install it with 'pip install python-docx'"
        ) from error
    from docx.table import Table

    lines: list[str] = []
    headings: set[int] = set()
    try:
        document = docx.Document(io.BytesIO(data))
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for number, row in enumerate(block.rows):
                    lines.append(table_row([cell.text for cell in row.cells]))
                    if number == 0:
                        lines.append(table_row(["---"] * len(row.cells)))
                continue
            style = block.style.name if block.style is not None else ""
            if style.startswith("Heading") or style == "Title":
                headings.add(len(lines) + 1)
            lines.extend(_split_lines(block.text) or ("",))
        title = _optional_text(path, "title", document.core_properties.title)
    except Exception as error:
        raise DocumentError(
            f"{path}: cannot read DOCX (file is damaged or not a Word document)"
        ) from error
    return _Extracted(tuple(lines), frozenset(headings), title, None)
