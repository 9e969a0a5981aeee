"""The web chat page: a thin Gradio front over KnowledgeBase.

Everything that comes from a document or a person is HTML-escaped before it is put into the
page; the formatting functions here are pure, so the escaping is tested directly.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from parkqa.citations import Answer, Citation
from parkqa.documents import SUPPORTED_SUFFIXES
from parkqa.errors import DocumentError, ParkQAError, QuestionError, UploadError
from parkqa.indexing import IndexReport
from parkqa.knowledge_base import KnowledgeBase
from parkqa.retrieval import Filters

if TYPE_CHECKING:
    import gradio as gr

DOCUMENT_COLUMNS = ["文件", "标题", "日期", "标签", "段落"]
logger = logging.getLogger(__name__)
CREDENTIALS_ENV = ("PARKQA_USERNAME", "PARKQA_PASSWORD")

_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
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


def _where(citation: Citation) -> str:
    first, last = citation.lines
    lines = f"第 {first} 行" if first == last else f"第 {first}–{last} 行"
    return f"{citation.doc} · {lines}"


def format_citation_html(citation: Citation, label: str) -> str:
    """One source as a collapsed <details>: section (or title), file and lines; opened, the
    document's title and date, then the passage with the answering sentences marked."""
    heading = citation.section or citation.title or citation.doc
    title = citation.title if heading != citation.title else ""
    about = " · ".join(part for part in (title, citation.date) if part)
    return (
        f'<details><summary><span class="pq-ref">{escape_text(label)}</span> '
        f'{escape_text(heading)} <span class="pq-where">{escape_text(_where(citation))}</span>'
        f'</summary><div class="pq-about">{escape_text(about)}</div>'
        f'<div class="pq-passage">{highlight_passage(citation.text, citation.highlights)}</div>'
        "</details>"
    )


def _answer_text_html(text: str) -> str:
    return _MARKER.sub(r'<span class="pq-ref">[\1]</span>', escape_text(text))


def format_answer_html(answer: Answer) -> str:
    """An answer as one chat message: the text with its [n] markers, then expandable sources;
    an abstention says so and lists the nearest passages apart, as related reading."""
    parts = []
    if answer.abstained:
        parts.append('<div class="pq-answer pq-abstained">')
        parts.append(f'<p class="pq-text">{escape_text(answer.answer)}</p>')
        if answer.related:
            parts.append('<div class="pq-label">相关阅读（不是答案的出处，仅供参考）</div>')
            parts += [format_citation_html(c, "相关") for c in answer.related]
    else:
        parts.append('<div class="pq-answer">')
        parts.append(f"<p>{_answer_text_html(answer.answer)}</p>")
        used = {int(n) for n in _MARKER.findall(answer.answer)}
        cited = [c for c in answer.citations if c.n in used or c.highlights]
        others = [c for c in answer.citations if c not in cited]
        if cited:
            parts.append('<div class="pq-label">来源</div>')
            parts += [format_citation_html(c, f"[{c.n}]") for c in cited]
        if others:
            parts.append(
                f'<details class="pq-others"><summary class="pq-label">其他检索到的段落（{len(others)}）'
                "</summary>"
            )
            parts += [format_citation_html(c, f"[{c.n}]") for c in others]
            parts.append("</details>")
    meta = []
    if answer.resolved_question:
        meta.append(f"理解为：{answer.resolved_question}")
    meta += list(answer.notes)
    meta.append(f"{answer.seconds * 1000:.0f} ms")
    parts.append(f'<div class="pq-meta">{escape_text(" · ".join(meta))}</div>')
    parts.append("</div>")
    return "".join(parts)


def format_error_html(message: str) -> str:
    """An error shown in the chat in place of an answer."""
    return f'<div class="pq-answer pq-error">{escape_text(message)}</div>'


def format_question_html(question: str) -> str:
    """A question as the user typed it, shown as text."""
    return f'<div class="pq-question">{escape_text(question)}</div>'


def format_header(stats: dict[str, Any] | None) -> str:
    """The knowledge base in one line: documents, passages, when last indexed, which encoder."""
    if stats is None:
        return "知识库尚未建立索引：在“知识库”页上传文档并更新索引。"
    built = stats.get("built_at") or ""
    try:
        built = datetime.fromisoformat(built).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        pass
    return (
        f"知识库：{stats['documents']} 篇文档 · {stats['passages']} 个段落 · "
        f"最后索引 {built} · 编码器 {stats['encoder']}"
    )


def document_rows(documents: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The indexed documents as table rows: file, title, date, tags, passages."""
    return [
        [d["doc"], d["title"], d.get("date") or "", "、".join(d.get("tags") or []), d["passages"]]
        for d in documents
    ]


def format_report(report: IndexReport, stored: Sequence[Path], refused: Sequence[str]) -> str:
    """What an upload and index update did, for the knowledge panel (markdown, escaped)."""
    lines = []
    if stored:
        lines.append("已保存：" + "、".join(html.escape(p.name) for p in stored))
    lines += [f"未接收：{html.escape(message)}" for message in refused]
    if report.written:
        lines.append(
            f"索引已更新：新增 {len(report.added)}、修改 {len(report.changed)}、"
            f"删除 {len(report.removed)} 篇文档；共 {report.passages} 个段落"
            f"（新编码 {report.embedded} 个），用时 {report.seconds:.1f} 秒。"
        )
    else:
        lines.append("索引已是最新。")
    lines += [f"注意：{html.escape(warning)}" for warning in report.warnings]
    return "\n\n".join(lines)


def parse_filters(
    tags: Sequence[str] | None, date_from: str | None, date_to: str | None
) -> Filters | None:
    """Filters from the page's tag choice and date boxes (YYYY, YYYY-MM or YYYY-MM-DD)."""
    dates = []
    for label, value in (("起始日期", date_from), ("截止日期", date_to)):
        value = (value or "").strip()
        if value and not _DATE.fullmatch(value):
            raise QuestionError(f"{label}“{value}”格式不对；请写成 YYYY、YYYY-MM 或 YYYY-MM-DD")
        dates.append(value or None)
    filters = Filters(tags=tuple(tags or ()), date_from=dates[0], date_to=dates[1])
    return filters if filters else None


def store_uploads(
    kb: KnowledgeBase, paths: Sequence[str | os.PathLike]
) -> tuple[list[Path], list[str]]:
    """Check and copy uploaded files into the knowledge folder (type, size and readability are
    checked here, on the server); returns the stored paths and a message for each refused file."""
    max_bytes = int(kb.config.server.max_upload_mb * 1_000_000)
    stored, refused = [], []
    for path in paths:
        path = Path(path)
        try:
            stored.append(kb.store_document(path, name=path.name, max_bytes=max_bytes))
        except UploadError as exc:
            refused.append(str(exc))
    return stored, refused


def tag_choices(documents: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({tag for d in documents for tag in d.get("tags") or []})


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
    """The configured example questions, else one about each of the first indexed documents."""
    if kb.config.server.examples:
        return list(kb.config.server.examples)
    return [f"{d['title']}讲了什么？" for d in kb.documents()[:3] if d["title"]]


def build_app(
    kb: KnowledgeBase, title: str | None = None, examples: Sequence[str] | None = None
) -> gr.Blocks:
    """The chat page over kb, with its knowledge panel and the `/ask` API endpoint."""
    gr = _gradio()

    def chat(question, messages, asked, tags, date_from, date_to):
        question = (question or "").strip()
        messages = list(messages or [])
        if not question:
            return "", messages, asked
        messages.append({"role": "user", "content": format_question_html(question)})
        try:
            answer = kb.ask(
                question, history=asked, filters=parse_filters(tags, date_from, date_to)
            )
        except ParkQAError as exc:
            gr.Warning(str(exc))
            messages.append({"role": "assistant", "content": format_error_html(str(exc))})
            return "", messages, asked
        messages.append({"role": "assistant", "content": format_answer_html(answer)})
        return "", messages, [*asked, question]

    def ask_api(question: str, history: list[str] | None = None, k: int | None = None) -> dict:
        """Answer a question; returns the same object as one line of `parkqa ask --json`."""
        try:
            return kb.ask(question, history=history or [], k=k or None).to_json()
        except ParkQAError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def refresh():
        documents = kb.documents()
        choices = tag_choices(documents)
        dated = any(d.get("date") for d in documents)
        return (
            format_header(_stats(kb)),
            document_rows(documents),
            gr.update(choices=choices, visible=bool(choices)),
            gr.update(visible=dated),
            gr.update(visible=dated),
        )

    def update_index(files, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        stored, refused = store_uploads(kb, files or [])
        if refused:
            gr.Warning("；".join(refused))

        def report_progress(done: int, total: int) -> None:
            progress((done, total), desc="正在编码段落", unit="段")

        progress(0, desc="正在更新索引")
        try:
            report = kb.update(progress=report_progress)
        except ParkQAError as exc:
            gr.Warning(str(exc))
            status = "\n\n".join(
                [
                    *(f"未接收：{html.escape(m)}" for m in refused),
                    f"索引未更新：{html.escape(str(exc))}",
                ]
            )
            return status, None, *refresh()
        return format_report(report, stored, refused), None, *refresh()

    documents = kb.documents()
    choices = tag_choices(documents)
    title = title or kb.config.server.title
    examples = example_questions(kb) if examples is None else examples
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"# {html.escape(title)}", elem_id="pq-title")
        header = gr.Markdown(format_header(_stats(kb)), elem_id="pq-header")
        asked = gr.State([])
        with gr.Tabs():
            with gr.Tab("问答"):
                chatbot = gr.Chatbot(
                    label="问答",
                    show_label=False,
                    height="70vh",
                    min_height=420,
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=[],
                    placeholder="就产业园的投资、政策和产业提问；每个回答都标出处，点开可看原文。",
                    elem_id="pq-chat",
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="输入问题，按回车发送",
                        scale=8,
                        max_lines=4,
                        elem_id="pq-question",
                    )
                    send = gr.Button("发送", variant="primary", scale=1, min_width=80)
                    clear = gr.Button("清空对话", scale=1, min_width=80)
                with gr.Row(elem_id="pq-examples"):
                    example_buttons = [gr.Button(q, size="sm") for q in examples]
                with gr.Accordion("按标签和日期筛选", open=False), gr.Row():
                    tags = gr.Dropdown(
                        choices=choices,
                        multiselect=True,
                        label="标签（任一）",
                        visible=bool(choices),
                        scale=2,
                    )
                    dated = any(d.get("date") for d in documents)
                    date_from = gr.Textbox(
                        label="起始日期", placeholder="YYYY、YYYY-MM 或 YYYY-MM-DD", visible=dated
                    )
                    date_to = gr.Textbox(
                        label="截止日期", placeholder="YYYY、YYYY-MM 或 YYYY-MM-DD", visible=dated
                    )
            with gr.Tab("知识库"):
                table = gr.Dataframe(
                    value=document_rows(documents),
                    headers=DOCUMENT_COLUMNS,
                    datatype=["str", "str", "str", "str", "number"],
                    interactive=False,
                    label="已索引的文档",
                    wrap=True,
                    column_widths=["30%", "40%", "10%", "12%", "8%"],
                    elem_id="pq-documents",
                )
                uploads = gr.File(
                    label=(
                        f"上传文档（{' '.join(SUPPORTED_SUFFIXES)}，"
                        f"每个不超过 {kb.config.server.max_upload_mb:g} MB）"
                    ),
                    file_count="multiple",
                    file_types=list(SUPPORTED_SUFFIXES),
                    type="filepath",
                    elem_id="pq-upload",
                )
                update = gr.Button("更新索引", variant="primary", elem_id="pq-update")
                status = gr.Markdown(elem_id="pq-status")

        ask_inputs = [question, chatbot, asked, tags, date_from, date_to]
        ask_outputs = [question, chatbot, asked]
        ask_options = {"concurrency_id": "ask", "concurrency_limit": 4, "api_visibility": "private"}
        question.submit(chat, ask_inputs, ask_outputs, **ask_options)
        send.click(chat, ask_inputs, ask_outputs, **ask_options)
        for button in example_buttons:
            button.click(chat, [button, *ask_inputs[1:]], ask_outputs, **ask_options)
        clear.click(lambda: ([], []), None, [chatbot, asked], api_visibility="private")
        chatbot.clear(list, None, asked, api_visibility="private")
        refreshed = [header, table, tags, date_from, date_to]
        update.click(
            update_index,
            uploads,
            [status, uploads, *refreshed],
            show_progress_on=uploads,
            concurrency_id="update",
            concurrency_limit=1,
            api_visibility="private",
        )
        app.load(refresh, None, refreshed, api_visibility="private")
        gr.api(ask_api, api_name="ask", concurrency_id="ask", concurrency_limit=4)
    return app


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only, so the page requests nothing external."""
    return _gradio().themes.Default(primary_hue="blue", font=_SYSTEM_FONTS, font_mono=_SYSTEM_MONO)


class AskRequest(BaseModel):
    """The body of POST /api/ask."""

    question: str = Field(max_length=1_000_000)
    history: list[str] = []
    k: int | None = Field(default=None, ge=1, le=50)
    tags: list[str] = []
    date_from: str = ""
    date_to: str = ""


def create_server(
    kb: KnowledgeBase, username: str | None = None, password: str | None = None
) -> Any:
    """The web application: the chat page at "/" and a plain JSON endpoint, POST /api/ask,
    for programs. With a username and password both require them (HTTP Basic for the API)."""
    import secrets

    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPBasic, HTTPBasicCredentials

    gr = _gradio()
    basic = HTTPBasic(auto_error=False)

    def authorised(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:  # noqa: B008
        if not (username and password):
            return
        if credentials is None or not (
            secrets.compare_digest(credentials.username.encode(), username.encode())
            and secrets.compare_digest(credentials.password.encode(), password.encode())
        ):
            raise HTTPException(
                401, "username and password required", {"WWW-Authenticate": "Basic"}
            )

    api = FastAPI(title="parkqa", docs_url=None, redoc_url=None, openapi_url=None)

    @api.post("/api/ask", dependencies=[Depends(authorised)])
    def ask(body: AskRequest) -> dict[str, Any]:
        """The same object as one line of `parkqa ask --json`."""
        try:
            filters = parse_filters(body.tags, body.date_from, body.date_to)
            return kb.ask(body.question, history=body.history, k=body.k, filters=filters).to_json()
        except ParkQAError as exc:
            raise HTTPException(400, str(exc)) from None

    server = kb.config.server
    blocks = build_app(kb)
    blocks.queue(default_concurrency_limit=1)
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=(username, password) if username and password else None,
        max_file_size=int(server.max_upload_mb * 1_000_000),
        ssr_mode=False,
        theme=theme(),
        css=CSS,
        footer_links=["api", "settings"],
    )


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
    try:
        kb.ensure_index()
        kb.warm_up()
    except DocumentError as exc:
        logger.warning("%s; serving without an index until documents are uploaded", exc)
    app = create_server(kb, username, password)
    print(f"parkqa: serving on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
