"""The web chat page: a thin Gradio front over KnowledgeBase.

Everything that comes from a document or a person is HTML-escaped before it is put into the
page; the formatting functions here are pure, so the escaping is tested directly.
"""

from __future__ import annotations

import errno
import html
import ipaddress
import json
import logging
import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from parkqa.citations import Answer, Citation
from parkqa.dates import parse_date
from parkqa.documents import SUPPORTED_SUFFIXES, sidecar_path
from parkqa.errors import (
    DateError,
    DocumentError,
    EncoderError,
    IndexBusyError,
    IndexMissingError,
    ParkQAError,
    QuestionError,
    UploadError,
)
from parkqa.indexing import IndexedDocument, IndexReport, PendingChanges
from parkqa.knowledge_base import KnowledgeBase
from parkqa.messages import (
    BROWSER_LOCALES,
    DOCUMENT_COLUMNS,
    GRADIO_WORDS,
    say,
    say_error,
    translate,
)
from parkqa.questions import is_follow_up
from parkqa.retrieval import Filters, dates_reversed
from parkqa.uploads import check_uploads, safe_filename, store_upload

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)
CREDENTIALS_ENV = ("PARKQA_USERNAME", "PARKQA_PASSWORD")

_MARKER = re.compile(r"\[(\d+)\]")
_SYSTEM_FONTS = (
    "ui-sans-serif",
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "sans-serif",
)
_SYSTEM_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")

CSS = """
.gradio-container { max-width: 1080px !important; width: 100% !important; margin: 0 auto !important; }
.gradio-container main, .gradio-container .tabs, .gradio-container .tabitem { width: 100%; }
#pq-title h1 { font-size: 1.45rem; margin: 0.2rem 0 0; }
#pq-header p { color: var(--body-text-color-subdued); font-size: 0.9rem; margin: 0; }
.pq-answer p { margin: 0 0 0.5em; }
.pq-ref { color: var(--color-accent); font-weight: 600; font-size: 0.85em; }
.pq-label { font-size: 0.8em; font-weight: 600; color: var(--body-text-color-subdued);
  margin: 0.8em 0 0.3em; }
.pq-answer details { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.35em 0.7em; margin: 0.3em 0; background: var(--background-fill-secondary); }
.pq-answer summary { cursor: pointer; }
.pq-where { color: var(--body-text-color-subdued); font-size: 0.85em; }
.pq-about { color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 0.4em; }
.pq-passage { margin-top: 0.3em; line-height: 1.7; }
.pq-answer details.pq-others { border: none; background: none; padding: 0; }
.pq-passage mark { background: #fde68a; color: inherit; padding: 0 0.1em; border-radius: 2px; }
.pq-meta { color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 0.5em; }
.pq-abstained .pq-text { color: #b45309; font-weight: 600; }
.pq-error { color: #b91c1c; }
.pq-question { white-space: pre-wrap; }
#pq-examples button { flex: 0 1 auto; min-width: 0; }
.pq-section { color: var(--body-text-color-subdued); }
.pq-where { white-space: nowrap; }
#pq-chat { height: max(240px, calc(100svh - 300px)) !important; }
#pq-ask button { white-space: nowrap; }
.gradio-container > .main.app { padding-left: clamp(10px, 4vw, 32px) !important;
  padding-right: clamp(10px, 4vw, 32px) !important; }
#pq-documents table { width: 100%; border-collapse: collapse; font-size: 0.9rem; margin: 0; }
#pq-documents table, #pq-documents thead, #pq-documents tbody, #pq-documents tr {
  border: none !important; }
#pq-documents th { text-align: left; font-weight: 600; white-space: nowrap;
  background: var(--background-fill-secondary); }
#pq-documents th, #pq-documents td { padding: 0.45em 0.6em; vertical-align: top;
  border: none !important; border-bottom: 1px solid var(--border-color-primary) !important; }
#pq-documents td:nth-child(2) { overflow-wrap: anywhere; color: var(--body-text-color-subdued); }
#pq-documents td:nth-child(3), #pq-documents td:nth-child(5) { white-space: nowrap; }
@media (max-width: 640px) {
  #pq-chat .message-row { max-width: 100% !important; margin-left: 0 !important;
    margin-right: 0 !important; }
  #pq-title h1 { font-size: 1.2rem; }
  #pq-ask { flex-wrap: nowrap; gap: 8px; }
  #pq-clear { display: none; }
  #pq-documents thead { display: none; }
  #pq-documents table, #pq-documents tbody { display: block; }
  #pq-documents tr { display: block; padding: 0.5em 0;
    border-bottom: 1px solid var(--border-color-primary) !important; }
  #pq-documents td { display: block; border: none !important; padding: 0.1em 0; }
  #pq-documents td:first-child { font-weight: 600; }
  #pq-documents td:not(:first-child)::before { content: attr(data-label) "：";
    color: var(--body-text-color-subdued); }
  #pq-documents td:empty { display: none; }
}
"""


# -- pure formatting ---------------------------------------------------------------------------


def escape_text(text: str) -> str:
    """Document or user text as HTML that shows the characters, never markup or blank lines."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def highlight_passage(text: str, highlights: Sequence[tuple[int, int]]) -> str:
    """A passage as escaped HTML with its answering sentences (character spans) in <mark>."""
    parts = []
    position = 0
    for start, end in sorted(highlights):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        parts.append(escape_text(text[position:start]))
        parts.append(f"<mark>{escape_text(text[start:end])}</mark>")
        position = end
    parts.append(escape_text(text[position:]))
    return "".join(parts)


def _lines(citation: Citation, language: str) -> str:
    first, last = citation.lines
    return say("line" if first == last else "lines", language, first=first, last=last)


def format_citation_html(citation: Citation, label: str, language: str = "zh") -> str:
    """One source as a collapsed <details>: the document's title, section and lines; opened,
    its file and date, then the passage with the answering sentences marked."""
    title = citation.title or citation.doc
    section = f'<span class="pq-section"> · {escape_text(citation.section)}</span>'
    about = " · ".join(part for part in (citation.doc, citation.date) if part)
    return (
        f'<details><summary><span class="pq-ref">{escape_text(label)}</span> '
        f"{escape_text(title)}{section if citation.section else ''} "
        f'<span class="pq-where">{escape_text(_lines(citation, language))}</span>'
        f'</summary><div class="pq-about">{escape_text(about)}</div>'
        f'<div class="pq-passage">{highlight_passage(citation.text, citation.highlights)}</div>'
        "</details>"
    )


def _answer_text_html(text: str) -> str:
    return _MARKER.sub(r'<span class="pq-ref">[\1]</span>', escape_text(text))


def format_answer_html(answer: Answer, language: str = "zh") -> str:
    """An answer as one chat message: the text with its [n] markers, then expandable sources;
    an abstention says so and lists the nearest passages apart, as related reading."""
    parts = []
    if answer.abstained:
        parts.append('<div class="pq-answer pq-abstained">')
        parts.append(f'<p class="pq-text">{escape_text(answer.answer)}</p>')
        if answer.related:
            parts.append(f'<div class="pq-label">{say("related", language)}</div>')
            label = say("related_label", language)
            parts += [format_citation_html(c, label, language) for c in answer.related]
    else:
        parts.append('<div class="pq-answer">')
        parts.append(f"<p>{_answer_text_html(answer.answer)}</p>")
        used = {int(n) for n in _MARKER.findall(answer.answer)}
        cited = [c for c in answer.citations if c.n in used or c.highlights]
        others = [c for c in answer.citations if c not in cited]
        if cited:
            parts.append(f'<div class="pq-label">{say("sources", language)}</div>')
            parts += [format_citation_html(c, f"[{c.n}]", language) for c in cited]
        if others:
            parts.append(
                '<details class="pq-others"><summary class="pq-label">'
                f"{say('others', language, count=len(others))}</summary>"
            )
            parts += [format_citation_html(c, f"[{c.n}]", language) for c in others]
            parts.append("</details>")
    meta = []
    if answer.resolved_question:
        meta.append(say("understood", language, question=answer.resolved_question))
    meta += [translate(note, language) for note in answer.notes]
    if meta:
        parts.append(f'<div class="pq-meta">{escape_text(" · ".join(meta))}</div>')
    parts.append("</div>")
    return "".join(parts)


def format_error_html(message: str) -> str:
    """An error shown in the chat in place of an answer."""
    return f'<div class="pq-answer pq-error">{escape_text(message)}</div>'


def format_question_html(question: str) -> str:
    """A question as the user typed it, shown as text."""
    return f'<div class="pq-question">{escape_text(question)}</div>'


def format_header(stats: dict[str, Any] | None, language: str = "zh") -> str:
    """The knowledge base's size in one line, for the people who ask: documents, passages and
    when it was last updated."""
    if stats is None:
        return say("no_index", language)
    built = stats.get("built_at") or ""
    try:
        built = datetime.fromisoformat(built).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    documents = stats["documents"]
    return say(
        "header",
        language,
        documents=documents,
        s="" if documents == 1 else "s",
        passages=stats["passages"],
        built=built,
    )


def format_documents_html(documents: Sequence[IndexedDocument], language: str = "zh") -> str:
    """The indexed documents as a table (escaped): title, file, date, tags and passages, one
    row each; on a phone each row becomes a card, its cells labelled."""
    if not documents:
        return f'<p class="pq-documents">{say("no_documents", language)}</p>'
    columns = DOCUMENT_COLUMNS[language]
    head = "".join(f"<th>{escape_text(c)}</th>" for c in columns)
    rows = []
    for d in documents:
        tags = say("list_separator", language).join(d.tags)
        cells = (d.title or d.doc, d.doc, d.date or "", tags, str(d.passages))
        rows.append(
            "<tr>"
            + "".join(
                f'<td data-label="{escape_text(column)}">{escape_text(cell)}</td>'
                for column, cell in zip(columns, cells, strict=True)
            )
            + "</tr>"
        )
    return (
        f'<div class="pq-label">{say("documents", language)}</div><table class="pq-documents">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def format_pending(changes: PendingChanges, language: str = "zh") -> str:
    """One line on the documents changed since the index was built; empty when none."""
    if not changes:
        return ""
    parts = [
        say(f"pending_{kind}", language, count=len(docs))
        for kind, docs in (
            ("new", changes.new),
            ("changed", changes.changed),
            ("deleted", changes.deleted),
        )
        if docs
    ]
    return say(
        "pending",
        language,
        count=changes.count,
        s="" if changes.count == 1 else "s",
        parts=say("list_separator", language).join(parts),
    )


def format_report(
    report: IndexReport,
    stored: Sequence[Path],
    refused: Sequence[str],
    language: str = "zh",
    *,
    replaced: Sequence[Path] = (),
    removed: Sequence[str] = (),
    metadata_removed: Sequence[Path] = (),
) -> str:
    """What an upload, replacement or deletion and the index update did, for the knowledge
    panel (markdown, escaped)."""
    lines = []
    for key, names in (
        ("saved", [p.name for p in stored]),
        ("replaced", [p.name for p in replaced]),
        ("metadata_removed", [p.name for p in metadata_removed]),
        ("removed", removed),
    ):
        if names:
            lines.append(say(key, language, names=_names(names, language)))
    lines += [refused_line(message, language) for message in refused]
    if report.written:
        lines.append(
            say(
                "updated",
                language,
                added=len(report.added),
                changed=len(report.changed),
                removed=len(report.removed),
                passages=report.passages,
                embedded=report.embedded,
                seconds=f"{report.seconds:.1f}",
            )
        )
    else:
        lines.append(say("up_to_date", language))
    lines += [
        say("warning", language, message=html.escape(translate(warning, language)))
        for warning in report.warnings
    ]
    return "\n\n".join(lines)


def refused_line(message: str, language: str = "zh") -> str:
    """A refused upload's line in the knowledge panel (markdown, escaped)."""
    return say("refused", language, message=html.escape(translate(message, language)))


def format_replace_question(uploads: Sequence[Path], language: str = "zh") -> str:
    """The question asked before uploaded files overwrite documents of the same names."""
    names = [safe_filename(p.name) for p in uploads]
    return say("confirm_replace", language, names=_names(names, language))


def format_remove_question(docs: Sequence[str], language: str = "zh") -> str:
    """The question asked before documents are deleted."""
    return say("confirm_remove", language, names=_names(docs, language))


def _names(names: Sequence[str], language: str) -> str:
    return say("list_separator", language).join(html.escape(name) for name in names)


def parse_filters(
    tags: Sequence[str] | None,
    date_from: str | None,
    date_to: str | None,
    language: str = "zh",
) -> Filters | None:
    """Filters from the page's tag choice and date boxes (YYYY, YYYY-MM or YYYY-MM-DD)."""
    dates = []
    for key, value in (("date_from", date_from), ("date_to", date_to)):
        value = (value or "").strip()
        label = say(key, language)
        try:
            dates.append(parse_date(value, label) if value else None)
        except DateError:
            raise QuestionError(say("bad_date", language, label=label, value=value)) from None
    if dates_reversed(*dates):
        words = {"label": say("date_from", language), "label_to": say("date_to", language)}
        raise QuestionError(
            say("dates_reversed", language, **words, value=dates[0], value_to=dates[1])
        )
    filters = Filters(tags=tuple(tags or ()), date_from=dates[0], date_to=dates[1])
    return filters if filters else None


@dataclass(frozen=True)
class StoredUploads:
    """What became of uploaded files: stored, replaced (and the old metadata files removed with
    them), refused (one message each), and those whose name a different document already has,
    waiting for the person to confirm."""

    stored: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    metadata_removed: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)


def store_uploads(
    kb: KnowledgeBase, paths: Sequence[str | os.PathLike], replace: bool = False
) -> StoredUploads:
    """Check and copy uploaded files into the knowledge folder (type, size, readability and
    name are checked here, on the server); a file whose name is taken waits unless replace."""
    max_bytes = int(kb.config.server.max_upload_mb * 1_000_000)
    uploads, refused = check_uploads(kb.config.knowledge_dir, [Path(p) for p in paths], max_bytes)
    outcome = StoredUploads(refused=[str(error) for error in refused])
    for upload in uploads:
        if upload.replaces and not replace:
            outcome.waiting.append(upload.source)
            continue
        try:
            store_upload(upload, replace=replace)
        except UploadError as exc:
            outcome.refused.append(str(exc))
            continue
        (outcome.replaced if upload.replaces else outcome.stored).append(upload.target)
        if upload.sidecar_removed:
            outcome.metadata_removed.append(sidecar_path(upload.target))
    return outcome


def tag_choices(documents: Sequence[IndexedDocument]) -> list[str]:
    return sorted({tag for d in documents for tag in d.tags})


def is_loopback(host: str) -> bool:
    """Whether host only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the page ----------------------------------------------------------------------------------


def _gradio():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError:
        raise ParkQAError(
            "the web page needs Gradio; install it with: pip install gradio"
        ) from None
    return gradio


def _stats(kb: KnowledgeBase) -> dict[str, Any] | None:
    try:
        return kb.stats()
    except ParkQAError:
        return None


def example_questions(kb: KnowledgeBase) -> list[str]:
    """Questions to start with: the configured ones, else the knowledge base's topics. A
    follow-up (「那……呢？」) means nothing before a first question and is left out."""
    configured = list(kb.config.server.examples)
    starters = [q for q in configured if not is_follow_up(q)]
    for question in configured:
        if question not in starters:
            logger.warning("example question %r is a follow-up; it is not shown", question)
    return starters or kb.topics()


def build_app(
    kb: KnowledgeBase, title: str | None = None, examples: Sequence[str] | None = None
) -> gr.Blocks:
    """The chat page over kb, in its interface language, with its knowledge panel and the
    `/ask` API endpoint."""
    gr = _gradio()
    language = kb.config.server.language

    # Mistakes are said where the person looks (the chat, the knowledge panel's status), not in
    # Gradio's toasts, whose title is always English.

    def chat(question, messages, asked, tags, date_from, date_to):
        question = (question or "").strip()
        messages = list(messages or [])
        if not question:
            return "", messages, asked
        messages.append({"role": "user", "content": format_question_html(question)})
        try:
            answer = kb.ask(
                question,
                history=asked,
                filters=parse_filters(tags, date_from, date_to, language),
            )
        except ParkQAError as exc:
            message = say_error(exc, language)
            messages.append({"role": "assistant", "content": format_error_html(message)})
            return "", messages, asked
        messages.append({"role": "assistant", "content": format_answer_html(answer, language)})
        return "", messages, [*asked, question]

    def ask_api(question: str, history: list[str] | None = None, k: int | None = None) -> dict:
        """Answer a question; returns the same object as one line of `parkqa ask --json`."""
        try:
            return kb.ask(question, history=history or [], k=k or None).to_json()
        except ParkQAError as exc:
            raise gr.Error(
                say_error(exc, language), title=say("error_title", language), print_exception=False
            ) from None

    def refresh():
        documents = kb.documents()
        choices = tag_choices(documents)
        dated = any(d.date for d in documents)
        return (
            format_header(_stats(kb), language),
            format_documents_html(documents, language),
            gr.update(choices=choices, visible=bool(choices)),
            gr.update(visible=dated),
            gr.update(visible=dated),
            gr.update(choices=[d.doc for d in documents], value=[]),
            *pending_note(),
        )

    def pending_note() -> tuple[Any, Any]:
        note = format_pending(kb.pending_changes(), language)
        return gr.update(visible=bool(note)), note

    def index_progress(progress) -> Callable[[int, int], None]:
        def report_progress(done: int, total: int) -> None:
            progress(
                (done, total), desc=say("embedding", language), unit=say("passages_unit", language)
            )

        progress(0, desc=say("updating", language))
        return report_progress

    def report_change(
        change: Callable[[], tuple[IndexReport, list[str]]], outcome: StoredUploads
    ) -> str:
        """Run a change that ends with an index update; say what was stored, replaced, refused
        and removed, and what the update did."""
        try:
            report, removed = change()
        except ParkQAError as exc:
            message = say_error(exc, language)
            return "\n\n".join(
                [
                    *(refused_line(m, language) for m in outcome.refused),
                    say("not_updated", language, message=html.escape(message)),
                ]
            )
        return format_report(
            report,
            outcome.stored,
            outcome.refused,
            language,
            replaced=outcome.replaced,
            removed=removed,
            metadata_removed=outcome.metadata_removed,
        )

    def confirmation(action: str, items: Sequence[Any]) -> tuple[Any, ...]:
        """The action waiting for a yes, and the box that asks about it (hidden when none)."""
        if not items:
            return None, gr.update(visible=False), "", gr.update()
        if action == "replace":
            question = format_replace_question([Path(p) for p in items], language)
        else:
            question = format_remove_question(items, language)
        return (
            (action, [str(item) for item in items]),
            gr.update(visible=True),
            question,
            gr.update(value=say(f"{action}_yes", language)),
        )

    def update_index(files, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        outcome = store_uploads(kb, files or [])
        status = report_change(lambda: (kb.update(progress=index_progress(progress)), []), outcome)
        return status, None, *confirmation("replace", outcome.waiting), *refresh()

    def ask_to_remove(docs):
        if not docs:
            return say("choose_to_remove", language), *confirmation("remove", [])
        return "", *confirmation("remove", docs)

    def remove_documents(docs, progress) -> tuple[IndexReport, list[str]]:
        removed, report = kb.remove(docs, progress=index_progress(progress))
        return report, [kb.config.relative(path) for path in removed]

    def confirmed(pending, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        action, items = pending or ("", [])
        if not items:
            status = ""
        elif action == "replace":
            outcome = store_uploads(kb, items, replace=True)
            status = report_change(
                lambda: (kb.update(progress=index_progress(progress)), []), outcome
            )
        else:
            status = report_change(lambda: remove_documents(items, progress), StoredUploads())
        return status, *confirmation(action, []), *refresh()

    def cancelled(pending):
        action, items = pending or ("", [])
        if action == "replace":
            names = [safe_filename(Path(item).name) for item in items]
            status = say("not_replaced", language, names=_names(names, language))
        else:
            status = say("not_removed", language)
        return status, *confirmation(action, [])

    documents = kb.documents()
    choices = tag_choices(documents)
    title = title or kb.config.server.title
    examples = example_questions(kb) if examples is None else examples
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"# {html.escape(title)}", elem_id="pq-title")
        header = gr.Markdown(format_header(_stats(kb), language), elem_id="pq-header")
        note = format_pending(kb.pending_changes(), language)
        with gr.Row(visible=bool(note), elem_id="pq-pending-row") as pending_row:
            pending_text = gr.Markdown(note, elem_id="pq-pending")
            pending_update = gr.Button(
                say("update", language),
                size="sm",
                scale=0,
                min_width=96,
                elem_id="pq-pending-update",
            )
        asked = gr.State([])
        with gr.Tabs():
            with gr.Tab(say("chat_tab", language)):
                chatbot = gr.Chatbot(
                    label=say("chat_tab", language),
                    show_label=False,
                    height="70vh",
                    min_height=240,
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=[],
                    placeholder=say("chat_placeholder", language),
                    elem_id="pq-chat",
                )
                with gr.Row(elem_id="pq-ask"):
                    question = gr.Textbox(
                        label=say("question", language),
                        show_label=False,
                        placeholder=say("question_placeholder", language),
                        scale=8,
                        min_width=0,
                        max_lines=4,
                        elem_id="pq-question",
                    )
                    send = gr.Button(
                        say("send", language),
                        variant="primary",
                        scale=1,
                        min_width=64,
                        elem_id="pq-send",
                    )
                    clear = gr.Button(
                        say("clear", language), scale=1, min_width=64, elem_id="pq-clear"
                    )
                with gr.Row(elem_id="pq-examples"):
                    example_buttons = [gr.Button(q, size="sm") for q in examples]
                with gr.Accordion(say("filters", language), open=False), gr.Row():
                    tags = gr.Dropdown(
                        choices=choices,
                        multiselect=True,
                        label=say("tags", language),
                        visible=bool(choices),
                        scale=2,
                    )
                    dated = any(d.date for d in documents)
                    date_from = gr.Textbox(
                        label=say("date_from", language),
                        placeholder=say("date_format", language),
                        visible=dated,
                    )
                    date_to = gr.Textbox(
                        label=say("date_to", language),
                        placeholder=say("date_format", language),
                        visible=dated,
                    )
            with gr.Tab(say("knowledge_tab", language)):
                table = gr.HTML(format_documents_html(documents, language), elem_id="pq-documents")
                with gr.Row(elem_id="pq-remove-row"):
                    remove_choice = gr.Dropdown(
                        choices=[d.doc for d in documents],
                        multiselect=True,
                        label=say("remove_choice", language),
                        scale=4,
                        elem_id="pq-remove-docs",
                    )
                    remove = gr.Button(
                        say("remove", language), scale=1, min_width=96, elem_id="pq-remove"
                    )
                # No file_types: Gradio would refuse other files with an English message of
                # its own; the server checks every upload and says why in the page's language.
                uploads = gr.File(
                    label=say(
                        "upload",
                        language,
                        types=" ".join(SUPPORTED_SUFFIXES),
                        mb=f"{kb.config.server.max_upload_mb:g}",
                    ),
                    file_count="multiple",
                    type="filepath",
                    elem_id="pq-upload",
                )
                update = gr.Button(say("update", language), variant="primary", elem_id="pq-update")
                with gr.Column(visible=False, elem_id="pq-confirm") as confirm_box:
                    confirm_text = gr.Markdown()
                    with gr.Row():
                        confirm_yes = gr.Button(
                            say("replace_yes", language), variant="stop", elem_id="pq-confirm-yes"
                        )
                        confirm_no = gr.Button(say("cancel", language), elem_id="pq-confirm-no")
                status = gr.Markdown(elem_id="pq-status")
                pending = gr.State(None)

        ask_inputs = [question, chatbot, asked, tags, date_from, date_to]
        ask_outputs = [question, chatbot, asked]
        ask_options = {"concurrency_id": "ask", "concurrency_limit": 4, "api_visibility": "private"}
        question.submit(chat, ask_inputs, ask_outputs, **ask_options)
        send.click(chat, ask_inputs, ask_outputs, **ask_options)
        for button in example_buttons:
            button.click(chat, [button, *ask_inputs[1:]], ask_outputs, **ask_options)
        clear.click(lambda: ([], []), None, [chatbot, asked], api_visibility="private")
        chatbot.clear(list, None, asked, api_visibility="private")
        refreshed = [header, table, tags, date_from, date_to, remove_choice]
        refreshed += [pending_row, pending_text]
        confirming = [pending, confirm_box, confirm_text, confirm_yes]
        changes = {"concurrency_id": "update", "concurrency_limit": 1, "api_visibility": "private"}
        update.click(
            update_index,
            uploads,
            [status, uploads, *confirming, *refreshed],
            show_progress_on=uploads,
            **changes,
        )
        pending_update.click(
            update_index,
            uploads,
            [status, uploads, *confirming, *refreshed],
            show_progress_on=pending_text,
            **changes,
        )
        remove.click(ask_to_remove, remove_choice, [status, *confirming], **changes)
        confirm_yes.click(confirmed, pending, [status, *confirming, *refreshed], **changes)
        confirm_no.click(cancelled, pending, [status, *confirming], **changes)
        app.load(refresh, None, refreshed, api_visibility="private")
        gr.api(ask_api, api_name="ask", concurrency_id="ask", concurrency_limit=4)
    return app


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only, so the page requests nothing external."""
    return _gradio().themes.Default(primary_hue="blue", font=_SYSTEM_FONTS, font_mono=_SYSTEM_MONO)


class PageLanguage:
    """ASGI middleware that starts the page with a script giving the browser's language as
    the interface language: Gradio words its own parts (the drop zone, its messages) in the
    browser's language, which may not be the page's."""

    def __init__(self, app: Any, locale: str) -> None:
        self.app = app
        self.script = (
            "<script>"
            f'for (const [key, value] of [["language", "{locale}"], ["languages", ["{locale}"]]])'
            " Object.defineProperty(Navigator.prototype, key, {get: () => value});"
            f'document.documentElement.lang = "{locale}";'
            "</script>"
        ).encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        # The page uncompressed, so that the script can be put into it.
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def send_page(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body)
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in kept):
                page = page.replace(b"<head>", b"<head>" + self.script, 1)
            kept.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": kept})
            await send({"type": "http.response.body", "body": page})

        await self.app({**scope, "headers": headers}, receive, send_page)


class AskRequest(BaseModel):
    """The body of POST /api/ask."""

    question: str = Field(max_length=1_000_000)
    history: list[str] = []
    k: int | None = Field(default=None, ge=1, le=50)
    tags: list[str] = []
    date_from: str = ""
    date_to: str = ""


def request_problem(
    content_type: str, body: bytes, errors: Sequence[dict[str, Any]], language: str
) -> tuple[int, str]:
    """Why a POST /api/ask body was refused, as an HTTP status and one line in the interface
    language: not JSON (415), JSON that does not parse, is not an object, or has a bad field
    (400)."""
    media = content_type.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return 415, say("api_not_json", language)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return 400, say("api_bad_json_at", language, line=exc.lineno, column=exc.colno)
    except ValueError:
        return 400, say("api_bad_json", language)
    if not isinstance(data, dict):
        return 400, say("api_not_object", language)
    if not errors:
        return 400, say("api_unreadable", language)
    name = ".".join(str(part) for part in errors[0]["loc"][1:])
    if errors[0].get("type") == "missing":
        return 400, say("api_missing_field", language, name=name)
    return 400, say("api_bad_field", language, name=name, problem=errors[0]["msg"])


def api_status(error: ParkQAError) -> int:
    """The HTTP status for a refused question: 400 when the question itself is at fault,
    503 while the index or the model is not available, 500 when the server's data is damaged."""
    if isinstance(error, QuestionError):
        return 400
    if isinstance(error, (IndexMissingError, IndexBusyError, EncoderError)):
        return 503
    return 500


def create_server(
    kb: KnowledgeBase, username: str | None = None, password: str | None = None
) -> Any:
    """The web application: the chat page at "/" and a plain JSON endpoint, POST /api/ask,
    for programs. With a username and password both require them (HTTP Basic for the API)."""
    import secrets

    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.security import HTTPBasic, HTTPBasicCredentials

    gr = _gradio()
    server = kb.config.server
    basic = HTTPBasic(auto_error=False)

    def authorised(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:  # noqa: B008
        if not (username and password):
            return
        if credentials is None or not (
            secrets.compare_digest(credentials.username.encode(), username.encode())
            and secrets.compare_digest(credentials.password.encode(), password.encode())
        ):
            raise HTTPException(
                401, say("api_login", server.language), {"WWW-Authenticate": "Basic"}
            )

    api = FastAPI(title="parkqa", docs_url=None, redoc_url=None, openapi_url=None)

    @api.post("/api/ask", dependencies=[Depends(authorised)])
    def ask(body: AskRequest) -> dict[str, Any]:
        """The same object as one line of `parkqa ask --json`."""
        try:
            filters = parse_filters(body.tags, body.date_from, body.date_to, server.language)
            return kb.ask(body.question, history=body.history, k=body.k, filters=filters).to_json()
        except ParkQAError as exc:
            raise HTTPException(api_status(exc), say_error(exc, server.language)) from None

    @api.api_route("/api/ask", methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"])
    def ask_needs_post() -> None:
        raise HTTPException(405, say("api_post_only", server.language), {"Allow": "POST"})

    @api.exception_handler(RequestValidationError)
    async def refuse_request(request, exc) -> JSONResponse:
        status, message = request_problem(
            request.headers.get("content-type", ""),
            await request.body(),
            exc.errors(),
            server.language,
        )
        return JSONResponse({"detail": message}, status)

    blocks = build_app(kb)
    blocks.queue(default_concurrency_limit=1)
    api.add_middleware(PageLanguage, locale=BROWSER_LOCALES[server.language])
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=(username, password) if username and password else None,
        max_file_size=int(server.max_upload_mb * 1_000_000),
        ssr_mode=False,
        theme=theme(),
        css=CSS,
        footer_links=[],
        i18n=gr.I18n(**GRADIO_WORDS),
    )


def check_address(host: str, port: int) -> None:
    """Refuse an address this machine cannot listen on, before anything is loaded or printed:
    a port another program holds (naming the next free one), or a host that is not its own."""
    try:
        _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ParkQAError(
                f"port {port} is in use (try --port {_next_free(host, port)})"
            ) from None
        raise ParkQAError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def _bind(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        probe.bind((host, port))


def _next_free(host: str, port: int) -> int:
    for candidate in range(port + 1, min(port + 100, 65_535) + 1):
        try:
            _bind(host, candidate)
        except OSError:
            continue
        return candidate
    return port + 1


def address_url(host: str, port: int) -> str:
    """The address a browser opens for host and port, with an IPv6 host in brackets
    (a zone such as %eth0 written %25eth0)."""
    if ":" in host:
        host = "[" + host.replace("%", "%25", 1) + "]"
    return f"http://{host}:{port}/"


def serve(
    kb: KnowledgeBase,
    host: str | None = None,
    port: int | None = None,
    username: str | None = None,
    password: str | None = None,
) -> None:
    """Serve the chat page (127.0.0.1 by default); any other address needs a username and password."""
    import uvicorn

    server = kb.config.server
    host = host or server.host
    port = port or server.port
    username = username or os.environ.get(CREDENTIALS_ENV[0]) or server.username
    password = password or os.environ.get(CREDENTIALS_ENV[1]) or server.password
    if not is_loopback(host) and not (username and password):
        raise ParkQAError(
            f"refusing to listen on {host} without a username and password; set server.username "
            f"and server.password (or {CREDENTIALS_ENV[0]}/{CREDENTIALS_ENV[1]})"
        )
    check_address(host, port)
    try:
        kb.ensure_index()
        kb.warm_up()
    except DocumentError as exc:
        logger.warning("%s; serving without an index until documents are uploaded", exc)
    app = create_server(kb, username, password)
    print(f"parkqa: serving on {address_url(host, port)} (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
