from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parkqa import Answer, Citation, KnowledgeBase, ParkQAError, load_config
from parkqa.errors import QuestionError
from parkqa.web import (
    format_answer_html,
    format_header,
    highlight_passage,
    is_loopback,
    parse_filters,
    serve,
    store_uploads,
)

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTICE = (
    "永川区软件产业扶持政策通知\n\n"
    "为加快软件和信息服务业发展，永川区对新落户的软件企业给予三年房租减免。\n"
    "符合条件的企业可向区大数据发展局提出申请，审核通过后按年度兑现。\n"
)
INJECTION = (
    "# <img src=x onerror=\"window.__pqxss='title'\">\n\n"
    "永川区数据中心机房的机柜租金每月八百元。<script>window.__pqxss='script'</script>\n"
    "<img src=x onerror=\"window.__pqxss='passage'\"> 机柜租金按季度缴纳。\n"
)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A knowledge base of its own: the park article (with its sidecar) and an empty index."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for source in (PARK_ARTICLE, PARK_ARTICLE.with_name(PARK_ARTICLE.name + ".meta.yaml")):
        shutil.copy(source, knowledge / source.name)
    path = tmp_path / "parkqa.yaml"
    path.write_text("knowledge_dir: knowledge\nindex_dir: index\n", encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(config: Path, port: int) -> list[str]:
    """`parkqa serve` from this interpreter."""
    return [sys.executable, "-m", "parkqa", "--config", str(config), "serve", "--port", str(port)]


@pytest.fixture
def server(config_path: Path, tmp_path: Path) -> Iterator[str]:
    """`parkqa serve` on a free port, run until the port answers; yields its URL."""
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("PARKQA_USERNAME", None)
    env.pop("PARKQA_PASSWORD", None)
    process = subprocess.Popen(
        serve_command(config_path, port),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"parkqa serve exited: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("parkqa serve did not open its port within 120 s")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def ask_on_page(page, question: str):
    """Type a question into the chat page and return its answer once it has arrived."""
    from playwright.sync_api import expect

    answers = page.locator(".pq-answer")
    count = answers.count()
    box = page.get_by_placeholder("输入问题，按回车发送")
    box.fill(question)
    box.press("Enter")
    expect(answers).to_have_count(count + 1, timeout=30_000)
    return answers.nth(count)


def citation(text: str, highlights=((0, 4),), n: int = 1) -> Citation:
    return Citation(
        n=n,
        doc="knowledge/notice.txt",
        title="<b>通知</b>",
        section="",
        lines=(3, 4),
        text=text,
        score=0.9,
        highlights=highlights,
        date="2020-04",
    )


def test_answer_html_shows_document_markup_as_text():
    text = "房租减免三年。<script>alert(1)</script><img src=x onerror=alert(2)>"
    answer = Answer(
        question="房租？",
        answer="房租减免三年。<script>alert(1)</script> [1]",
        abstained=False,
        citations=(citation(text, highlights=((0, len(text)),)),),
    )
    rendered = format_answer_html(answer)
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert "<b>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "&lt;img src=x onerror=alert(2)&gt;" in rendered
    assert '<span class="pq-ref">[1]</span>' in rendered
    assert "knowledge/notice.txt · 第 3–4 行" in rendered
    assert "\n\n" not in rendered  # a blank line would end the HTML block and start markdown


def test_highlight_marks_the_answering_sentence_only():
    text = "第一句。<第二句>。第三句。"
    assert highlight_passage(text, [(4, 10)]) == "第一句。<mark>&lt;第二句&gt;。</mark>第三句。"
    assert highlight_passage("a\nb", []) == "a<br>b"


def test_abstention_lists_related_reading_not_sources():
    answer = Answer(
        question="火星上有多少人？",
        answer="知识库中没有找到关于“火星上”的信息。",
        abstained=True,
        related=(citation("永川大数据产业园。", highlights=()),),
    )
    rendered = format_answer_html(answer)
    assert "pq-abstained" in rendered
    assert "相关阅读" in rendered
    assert "来源" not in rendered


def test_header_is_one_line():
    stats = {
        "documents": 2,
        "passages": 14,
        "built_at": "2026-11-26T22:39:26+00:00",
        "encoder": "builtin:e5-small",
        "generation": 3,
    }
    header = format_header(stats)
    assert "\n" not in header
    assert "2 篇文档" in header and "14 个段落" in header and "builtin:e5-small" in header
    assert "2026-11-2" in header


def test_filters_accept_partial_dates_and_refuse_others():
    assert parse_filters([], "", "") is None
    filters = parse_filters(["产业政策"], "2020", "2020-12")
    assert filters.tags == ("产业政策",) and filters.date_from == "2020"
    with pytest.raises(QuestionError, match="YYYY-MM"):
        parse_filters([], "2020/04", "")


def test_serve_refuses_other_addresses_without_credentials(config_path, monkeypatch):
    monkeypatch.delenv("PARKQA_USERNAME", raising=False)
    monkeypatch.delenv("PARKQA_PASSWORD", raising=False)
    kb = KnowledgeBase.open(config_path)
    with pytest.raises(ParkQAError, match="refusing to listen on 0.0.0.0 without a username"):
        serve(kb, host="0.0.0.0", port=free_port())
    monkeypatch.setenv("PARKQA_USERNAME", "admin")
    with pytest.raises(ParkQAError, match="PARKQA_PASSWORD"):
        serve(kb, host="0.0.0.0", port=free_port())
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


@pytest.mark.slow
def test_serve_with_credentials_requires_them_and_limits_uploads(config_path, encoder, monkeypatch):
    import uvicorn
    from fastapi.testclient import TestClient

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(app=app, **options))
    monkeypatch.setenv("PARKQA_USERNAME", "admin")
    monkeypatch.setenv("PARKQA_PASSWORD", "s3cret")
    kb = KnowledgeBase(load_config(config_path), encoder=encoder)
    serve(kb, host="0.0.0.0", port=8123)
    assert started["host"] == "0.0.0.0" and started["port"] == 8123
    blocks = next(
        r.app.blocks for r in started["app"].routes if hasattr(getattr(r, "app", None), "blocks")
    )
    assert blocks.auth == [("admin", "s3cret")] and blocks.max_file_size == 20_000_000
    client = TestClient(started["app"])
    question = {"question": "阿里巴巴在永川投资了多少钱？"}
    assert client.post("/api/ask", json=question).status_code == 401
    assert client.post("/api/ask", json=question, auth=("admin", "wrong")).status_code == 401
    answer = client.post("/api/ask", json=question, auth=("admin", "s3cret")).json()
    assert "3亿元" in answer["answer"] and answer["citations"][0]["lines"] == [1, 10]


def test_uploads_are_checked_on_the_server(config_path, tmp_path):
    kb = KnowledgeBase.open(config_path)
    script = tmp_path / "payload.exe"
    script.write_bytes(b"MZ\x90\x00")
    big = tmp_path / "big.txt"
    big.write_text("永川" * 4_000_000, encoding="utf-8")  # 24 MB, over the default 20 MB
    notice = tmp_path / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    stored, refused = store_uploads(kb, [script, big, notice])
    assert [p.name for p in stored] == ["notice.txt"]
    assert "unsupported file type '.exe'" in refused[0]
    assert "upload limit" in refused[1]
    knowledge = sorted(p.name for p in kb.config.knowledge_dir.iterdir())
    assert "payload.exe" not in knowledge and "big.txt" not in knowledge


@pytest.mark.slow
def test_real_answer_from_an_injection_document_renders_as_text(config_path, encoder):
    kb = KnowledgeBase(load_config(config_path), encoder=encoder)
    (kb.config.knowledge_dir / "inject.md").write_text(INJECTION, encoding="utf-8")
    kb.update()
    answer = kb.ask("机柜租金每月多少钱？")
    assert not answer.abstained
    assert "<script>" in answer.citations[0].text  # the library keeps the document's text
    rendered = format_answer_html(answer)
    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;" in rendered


@pytest.mark.slow
def test_json_api_answers_and_reports_mistakes(server):
    import httpx

    answer = httpx.post(f"{server}api/ask", json={"question": "特斯拉在永川投资了多少钱？"}).json()
    assert answer["abstained"] is True and answer["missing_terms"][0] == "特斯拉"
    empty = httpx.post(f"{server}api/ask", json={"question": "  "})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]


@pytest.mark.slow
def test_ask_endpoint_returns_the_json_answer(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    result = client.predict("阿里巴巴在永川投资了多少钱？", api_name="/ask")
    assert result["abstained"] is False
    assert "3亿元" in result["answer"] and "[1]" in result["answer"]
    first = result["citations"][0]
    assert first["doc"] == "knowledge/yongchuan-big-data-park.txt"
    assert first["lines"][0] <= first["lines"][1]
    assert "3亿元" in first["text"] and first["highlights"]
    follow_up = client.predict("那百度呢？", ["阿里巴巴在永川投资了多少钱？"], 3, api_name="/ask")
    assert "10亿元" in follow_up["answer"] and len(follow_up["citations"]) <= 3


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
def test_chat_page_answers_cites_and_learns_an_uploaded_document(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    notice = tmp_path / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    injection = tmp_path / "inject.md"
    injection.write_text(INJECTION, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        external = []
        page.on(
            "request",
            lambda r: (
                r.url.startswith(("http", "ws"))
                and not r.url.startswith(server)
                and external.append(r.url)
            ),
        )
        page.goto(server)
        expect(page.locator("#pq-header")).to_contain_text("1 篇文档", timeout=30_000)

        answer = ask_on_page(page, "阿里巴巴在永川投资了多少钱？")
        expect(answer.locator("p").first).to_contain_text("3亿元")
        expect(answer.locator(".pq-ref").first).to_have_text("[1]")
        source = answer.locator("details").first
        expect(source.locator(".pq-passage")).not_to_be_visible()
        source.locator("summary").click()
        expect(source.locator(".pq-passage")).to_be_visible()
        expect(source.locator("mark")).to_contain_text("投资3亿元")
        expect(source.locator("summary")).to_contain_text("yongchuan-big-data-park.txt · 第 1")

        page.get_by_role("tab", name="知识库").click()
        page.locator("#pq-upload input[type=file]").set_input_files([notice, injection])
        uploaded = page.locator("#pq-upload").get_by_role("row", name="Remove this file")
        expect(uploaded).to_have_count(2, timeout=30_000)
        page.locator("#pq-update").click()
        expect(page.locator("#pq-status")).to_contain_text("索引已更新", timeout=60_000)
        expect(page.locator("#pq-header")).to_contain_text("3 篇文档")
        expect(page.locator("#pq-documents")).to_contain_text("knowledge/notice.txt")

        page.get_by_role("tab", name="问答").click()
        answer = ask_on_page(page, "软件企业房租减免几年？")
        expect(answer.locator("p").first).to_contain_text("三年房租减免")
        answer = ask_on_page(page, "机柜租金每月多少钱？")
        expect(answer.locator("p").first).to_contain_text("八百元")
        answer.locator("details summary").first.click()
        expect(answer.locator(".pq-passage").first).to_contain_text("<script>window.__pqxss")
        assert page.evaluate("window.__pqxss") is None
        assert page.locator("#pq-chat script, #pq-chat img[src=x]").count() == 0
        browser.close()
    assert external == []
