from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import free_port, running_server
from parkqa import Answer, Citation, KnowledgeBase, ParkQAError, load_config
from parkqa.errors import (
    DateError,
    EncoderError,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    QuestionError,
    TagError,
)
from parkqa.questions import is_follow_up
from parkqa.web import (
    example_questions,
    format_answer_html,
    format_header,
    format_remove_question,
    format_replace_question,
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


@pytest.fixture
def server(config_path: Path, tmp_path: Path) -> Iterator[str]:
    """`parkqa serve` on a free port, run until the port answers; yields its URL."""
    with running_server(config_path, tmp_path) as url:
        yield url


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
    assert "knowledge/notice.txt · 2020-04" in rendered and "第 3–4 行" in rendered
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
    assert "2 篇文档" in header and "14 个段落" in header and "2026-11-2" in header
    assert "builtin" not in header and "编码器" not in header  # no jargon for park staff
    english = format_header({**stats, "documents": 1}, "en")
    assert "1 document · 14 passages" in english and "builtin" not in english


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
    outcome = store_uploads(kb, [script, big, notice])
    assert [p.name for p in outcome.stored] == ["notice.txt"]
    assert "unsupported file type '.exe'" in outcome.refused[0]
    assert "upload limit" in outcome.refused[1]
    knowledge = sorted(p.name for p in kb.config.knowledge_dir.iterdir())
    assert "payload.exe" not in knowledge and "big.txt" not in knowledge


def test_an_upload_of_a_taken_name_waits_for_confirmation(config_path, tmp_path):
    kb = KnowledgeBase.open(config_path)
    first = tmp_path / "v1" / "notice.txt"
    revised = tmp_path / "v2" / "notice.txt"
    for path, text in ((first, NOTICE), (revised, NOTICE.replace("三年", "五年"))):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    stored = kb.config.knowledge_dir / "notice.txt"
    assert [p.name for p in store_uploads(kb, [first]).stored] == ["notice.txt"]
    outcome = store_uploads(kb, [revised])
    assert outcome.stored == [] and outcome.refused == [] and outcome.waiting == [revised]
    assert "三年" in stored.read_text(encoding="utf-8")
    question = format_replace_question(outcome.waiting)
    assert "notice.txt" in question and "替换" in question
    outcome = store_uploads(kb, outcome.waiting, replace=True)
    assert outcome.replaced == [stored] and outcome.waiting == []
    assert "五年" in stored.read_text(encoding="utf-8")
    question = format_remove_question(["knowledge/<b>x</b>.txt"])
    assert "删除" in question and "<b>" not in question


def test_an_upload_without_text_is_refused_on_the_page_before_it_replaces_anything(
    config_path, tmp_path
):
    kb = KnowledgeBase.open(config_path)
    first = tmp_path / "v1" / "notice.md"
    empty = tmp_path / "v2" / "notice.md"
    for path, text in ((first, NOTICE), (empty, "# 通知\n\n## 小节\n")):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    stored = kb.config.knowledge_dir / "notice.md"
    assert store_uploads(kb, [first]).stored == [stored]
    outcome = store_uploads(kb, [empty], replace=True)
    assert outcome.replaced == [] and len(outcome.refused) == 1
    assert "no text found" in outcome.refused[0]
    assert "三年" in stored.read_text(encoding="utf-8")


def test_messages_about_documents_follow_the_interface_language(tmp_path):
    from parkqa.messages import say_error
    from parkqa.uploads import check_upload, check_uploads, remove_documents, store_upload

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (knowledge / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (tmp_path / "blocker").write_text("not a folder", encoding="utf-8")
    errors = []
    for attempt in (
        lambda: remove_documents(knowledge, tmp_path, ["missing.txt"]),
        lambda: remove_documents(knowledge, tmp_path, ["notice.txt"]),
        lambda: store_upload(
            check_upload(tmp_path / "blocker" / "k", tmp_path / "a" / "notice.txt")
        ),
    ):
        with pytest.raises(ParkQAError) as caught:
            attempt()
        errors.append(caught.value)
    errors.append(
        check_uploads(knowledge, [tmp_path / "a/notice.txt", tmp_path / "b/notice.txt"])[1][0]
    )
    chinese = [say_error(error, "zh") for error in errors]
    assert chinese[0] == "知识库中没有这些文档：missing.txt"
    assert chinese[1].startswith("不能删除全部文档")
    assert chinese[2] == "notice.txt：无法保存到知识库文件夹（路径中有一项不是文件夹）"
    assert "改名" in chinese[3]
    english = say_error(errors[0], "en")
    assert english == "no such document in the knowledge base: missing.txt"


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
    assert empty.status_code == 400 and empty.json()["detail"] == "问题是空的，请写一个问题。"


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
        expect(source.locator("summary")).to_contain_text("中国互联网前三企业已有两家落地")
        expect(source.locator("summary")).to_contain_text("第 1")
        expect(source.locator(".pq-about")).to_contain_text("yongchuan-big-data-park.txt")

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


def test_pending_note_counts_the_documents_not_yet_indexed(park_kb):
    from parkqa.web import format_pending

    assert format_pending(park_kb.pending_changes()) == ""
    knowledge = park_kb.config.knowledge_dir
    (knowledge / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (knowledge / "yongchuan-big-data-park.txt").unlink()
    note = format_pending(park_kb.pending_changes())
    assert "2 篇文档" in note and "新增 1" in note and "删除 1" in note and "更新索引" in note
    assert "\n" not in note


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
def test_page_shows_documents_changed_since_the_index_and_updates_it(server, config_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server)
        expect(page.locator("#pq-header")).to_contain_text("1 篇文档", timeout=30_000)
        expect(page.locator("#pq-pending")).not_to_be_visible()
        (config_path.parent / "knowledge" / "notice.txt").write_text(NOTICE, encoding="utf-8")
        page.reload()
        expect(page.locator("#pq-pending")).to_contain_text("1 篇文档", timeout=30_000)
        page.locator("#pq-pending-update").click()
        expect(page.locator("#pq-header")).to_contain_text("2 篇文档", timeout=60_000)
        expect(page.locator("#pq-pending")).not_to_be_visible()
        answer = ask_on_page(page, "软件企业房租减免几年？")
        expect(answer.locator("p").first).to_contain_text("三年房租减免")
        browser.close()


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
def test_knowledge_tab_replaces_and_deletes_documents(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    first = tmp_path / "v1" / "notice.txt"
    revised = tmp_path / "v2" / "notice.txt"
    for path, text in ((first, NOTICE), (revised, NOTICE.replace("三年", "五年"))):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    question = "软件企业房租减免几年？"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server)
        expect(page.locator("#pq-header")).to_contain_text("1 篇文档", timeout=30_000)
        knowledge_tab = page.get_by_role("tab", name="知识库")
        chat_tab = page.get_by_role("tab", name="问答")
        status = page.locator("#pq-status")
        confirm = page.locator("#pq-confirm")

        def upload(path: Path) -> None:
            # The name shows whole only while the file is uploading; once uploaded, the
            # widget lists it as a table row whose cell is labelled with the name.
            page.locator("#pq-upload input[type=file]").set_input_files([path])
            uploaded = page.locator("#pq-upload").get_by_role("cell", name=path.name, exact=True)
            expect(uploaded).to_be_visible(timeout=30_000)
            page.locator("#pq-update").click()

        knowledge_tab.click()
        upload(first)
        expect(status).to_contain_text("索引已更新", timeout=60_000)
        expect(page.locator("#pq-header")).to_contain_text("2 篇文档")

        upload(revised)
        expect(confirm).to_be_visible(timeout=30_000)
        expect(confirm).to_contain_text("notice.txt")
        expect(confirm).to_contain_text("替换")
        chat_tab.click()
        expect(ask_on_page(page, question).locator("p").first).to_contain_text("三年")
        knowledge_tab.click()
        page.locator("#pq-confirm-yes").click()
        expect(status).to_contain_text("已替换：notice.txt", timeout=60_000)
        expect(confirm).not_to_be_visible()
        chat_tab.click()
        answer = ask_on_page(page, question)
        expect(answer.locator("p").first).to_contain_text("五年")
        expect(answer).not_to_contain_text("三年")

        knowledge_tab.click()
        page.locator("#pq-remove-docs input").click()
        page.get_by_role("option", name="knowledge/notice.txt").click()
        page.locator("#pq-remove").click()
        expect(confirm).to_contain_text("knowledge/notice.txt", timeout=30_000)
        page.locator("#pq-confirm-no").click()
        expect(confirm).not_to_be_visible(timeout=30_000)
        expect(page.locator("#pq-documents")).to_contain_text("knowledge/notice.txt")
        page.locator("#pq-remove").click()
        expect(confirm).to_be_visible(timeout=30_000)
        page.locator("#pq-confirm-yes").click()
        expect(status).to_contain_text("已删除：knowledge/notice.txt", timeout=60_000)
        expect(page.locator("#pq-header")).to_contain_text("1 篇文档")
        expect(page.locator("#pq-documents")).not_to_contain_text("notice.txt")
        chat_tab.click()
        answer = ask_on_page(page, question)
        expect(answer.locator("p").first).not_to_contain_text("房租减免")
        expect(answer).not_to_contain_text("notice.txt")
        browser.close()


@pytest.mark.parametrize("value", ["2020-13", "2020-02-31", "2020/04", "去年"])
def test_page_dates_are_checked_by_the_same_parser_as_the_command_line(value):
    with pytest.raises(QuestionError) as error:
        parse_filters([], value, "")
    assert str(error.value).startswith(f"起始日期“{value}”") and "YYYY-MM-DD" in str(error.value)
    assert parse_filters([], "2020-02-29", "2020-04").date_from == "2020-02-29"


@pytest.fixture
def api(park_kb):
    """The web application over an indexed knowledge base, called in-process."""
    from fastapi.testclient import TestClient

    from parkqa.web import create_server

    return TestClient(create_server(park_kb))


def one_line_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and len(response.json()) == 1
    return detail


@pytest.mark.slow
def test_json_api_refuses_bad_requests_with_one_line(park_kb):
    from fastapi.testclient import TestClient

    from parkqa.config import with_overrides
    from parkqa.web import create_server

    park_kb.config = with_overrides(park_kb.config, server={"language": "en"})
    api = TestClient(create_server(park_kb))
    response = api.get("/api/ask")
    assert "POST" in one_line_error(response, 405) and response.headers["allow"] == "POST"
    form = api.post("/api/ask", data={"question": "阿里巴巴在永川投资了多少钱？"})
    assert "Content-Type: application/json" in one_line_error(form, 415)
    broken = api.post(
        "/api/ask", content=b'{"question": "x",}', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in one_line_error(broken, 400)
    assert "line 1, column 18" in one_line_error(broken, 400)
    assert "'question'" in one_line_error(api.post("/api/ask", json={"k": 3}), 400)
    assert "'k'" in one_line_error(api.post("/api/ask", json={"question": "x", "k": 0}), 400)
    assert "object" in one_line_error(api.post("/api/ask", json=["x"]), 400)
    unknown = api.post("/api/ask", json={"question": "阿里巴巴投资了多少钱？", "tags": ["招商"]})
    detail = one_line_error(unknown, 400)  # the tag, then the known ones
    assert "'招商'" in detail and detail.endswith("产业政策, 招商引资, 永川大数据产业园")
    answer = api.post(
        "/api/ask",
        json={
            "question": "阿里巴巴在永川投资了多少钱？",
            "tags": ["招商引资"],
            "date_from": "2020",
        },
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 200 and "3亿元" in answer.json()["answer"]


@pytest.mark.slow
def test_json_api_refuses_bad_requests_in_the_interface_language(api):
    # The default interface is Chinese: so are the API's refusals, whatever their status.
    assert "POST" in one_line_error(api.get("/api/ask"), 405)
    form = api.post("/api/ask", data={"question": "阿里巴巴在永川投资了多少钱？"})
    broken = api.post(
        "/api/ask", content=b'{"question": "x",}', headers={"Content-Type": "application/json"}
    )
    details = [
        one_line_error(api.get("/api/ask"), 405),
        one_line_error(form, 415),
        one_line_error(broken, 400),
        one_line_error(api.post("/api/ask", json={"k": 3}), 400),
        one_line_error(api.post("/api/ask", json={"question": "x", "k": 0}), 400),
        one_line_error(api.post("/api/ask", json=["x"]), 400),
    ]
    for detail in details:
        assert re.search(r"[\u4e00-\u9fff]", detail), detail
        assert not re.search(r"\b(?:the|use|must|send|should|input)\b", detail, re.I), detail
    assert "第 1 行第 18 列" in details[2]
    assert "“question”" in details[3] and "“k”" in details[4]


def test_serve_on_a_busy_port_says_so_before_any_address(capsys, config_path, encoder, monkeypatch):
    import re

    import uvicorn

    from parkqa import cli

    monkeypatch.setattr("parkqa.knowledge_base.make_encoder", lambda config: encoder)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: pytest.fail("uvicorn started"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = cli.main(["--config", str(config_path), "serve", "--port", str(port)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    suggestion = re.fullmatch(rf"parkqa: error: port {port} is in use \(try --port (\d+)\)\n", err)
    assert suggestion and int(suggestion[1]) != port


def test_a_source_is_labelled_by_document_title_and_section_and_no_timing_is_shown():
    answer = Answer(
        question="房租减免几年？",
        answer="三年。 房租减免三年。 [1]",
        abstained=False,
        citations=(replace(citation("房租减免三年。", highlights=((0, 7),)), section="扶持政策"),),
        seconds=0.008,
    )
    rendered = format_answer_html(answer)
    summary = rendered[rendered.index("<summary>") : rendered.index("</summary>")]
    assert "&lt;b&gt;通知&lt;/b&gt;" in summary and "扶持政策" in summary and "第 3–4 行" in summary
    assert "ms" not in rendered and "8" not in rendered.replace("knowledge", "")
    english = format_answer_html(answer, "en")
    assert "Sources" in english and "lines 3–4" in english and "来源" not in english


def test_example_questions_stand_on_their_own(make_kb):
    sections = "# 软件产业扶持政策\n\n## 房租减免\n\n软件企业房租减免三年。\n\n## 人才公寓\n\n人才公寓可申请两年。\n"
    kb = make_kb({"policy.md": sections}, config="server:\n  examples: [那百度呢？, 它在哪里？]\n")
    kb.update()
    examples = example_questions(kb)
    assert "那百度呢？" not in examples and "它在哪里？" not in examples
    assert "房租减免" in examples and "人才公寓" in examples  # the knowledge base's own topics
    assert len(examples) <= 4 and not any(is_follow_up(q) for q in examples)
    for question in examples:
        assert not kb.ask(question).abstained, question


def text_lines(locator) -> int:
    """How many lines a cell's text takes on the page."""
    return locator.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size }"
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
@pytest.mark.parametrize(("width", "height"), [(390, 664), (1280, 720)])
def test_page_fits_a_phone_and_a_desktop(server, tmp_path, width, height):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(server)
        expect(page.locator("#pq-header")).to_contain_text("1 篇文档", timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / f"chat-{width}.png"))
        box = page.locator("#pq-question textarea").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box  # no scrolling to ask
        send = page.locator("#pq-send")
        assert text_lines(send) == 1 and send.bounding_box()["y"] < box["y"] + box["height"]

        page.get_by_role("tab", name="知识库").click()
        table = page.locator("#pq-documents")
        expect(table).to_contain_text("knowledge/yongchuan-big-data-park.txt")
        page.screenshot(path=str(tmp_path / f"knowledge-{width}.png"), full_page=True)
        date = table.locator("td", has_text="2020-04")
        assert text_lines(date) == 1  # not one character per line
        for cell in table.locator("td, th").all():
            if cell.is_visible():
                cell_box = cell.bounding_box()
                assert cell_box["x"] >= 0 and cell_box["x"] + cell_box["width"] <= width, cell_box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        browser.close()


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
def test_page_speaks_chinese_in_an_english_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00" * 64)
    photo = tmp_path / "photo.txt"
    photo.write_bytes(bytes(range(256)) * 16)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(locale="en-US")
        page.goto(server)
        expect(page.locator("#pq-header")).to_contain_text("1 篇文档", timeout=30_000)
        body = page.locator("body")
        for english in ("Use via API", "Settings", "Built with", "Textbox"):
            expect(body).not_to_contain_text(english)
        answer = ask_on_page(page, "  \u200b ")
        expect(answer).to_contain_text("问题是空的")
        expect(answer).not_to_contain_text("parkqa ask")

        page.get_by_role("tab", name="知识库").click()
        upload = page.locator("#pq-upload")
        expect(upload).to_contain_text("将文件拖放到此处")
        expect(upload).not_to_contain_text("Drop File Here")
        upload.locator("input[type=file]").set_input_files([program, photo])
        expect(upload.get_by_role("row", name="Remove this file")).to_have_count(2, timeout=30_000)
        page.locator("#pq-update").click()
        status = page.locator("#pq-status")
        expect(status).to_contain_text("setup.exe：不支持的文件类型“.exe”", timeout=60_000)
        expect(status).to_contain_text("photo.txt：不是文本文档")
        expect(status).to_contain_text("索引已是最新")
        for english in ("Invalid file", "binary data", "Warning"):  # nor a toast in English
            expect(body).not_to_contain_text(english)
        browser.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "locale", "empty"),
    [
        ("zh", "zh-CN", "问题是空的，请写一个问题。"),
        ("en", "en", "the question is empty; write a question"),
    ],
)
def test_page_and_api_follow_the_configured_language(park_kb, language, locale, empty):
    from fastapi.testclient import TestClient

    from parkqa.config import with_overrides
    from parkqa.web import create_server

    park_kb.config = with_overrides(park_kb.config, server={"language": language})
    client = TestClient(create_server(park_kb))
    page = client.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert page.status_code == 200
    # Gradio words its own parts in the browser's language: the page sets it first.
    assert f'["language", "{locale}"]' in page.text.split("</head>")[0]
    assert '"footer_links":[]' in page.text  # no "Use via API · Settings" footer
    error = client.post("/api/ask", json={"question": " "}).json()["detail"]
    assert error == empty


def test_page_date_mistakes_follow_the_interface_language():
    with pytest.raises(QuestionError, match="^From '2020-13' is not a date; write YYYY"):
        parse_filters([], "2020-13", "", "en")
    with pytest.raises(QuestionError, match="^截止日期“2020-02-31”格式不对"):
        parse_filters([], "", "2020-02-31")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (QuestionError("the question is empty"), 400),
        (DateError("date_from", "2020-13"), 400),
        (TagError(["x"], ["y"]), 400),
        (IndexMissingError("no index yet"), 503),
        (IndexBusyError("the index is being updated"), 503),
        (EncoderError("the model cannot be loaded"), 503),
        (IndexCorruptError("the index is damaged"), 500),
        (ParkQAError("something else"), 500),
    ],
)
def test_json_api_status_says_whose_fault_a_refusal_is(error, status):
    from parkqa.web import api_status

    assert api_status(error) == status


@pytest.mark.slow
def test_json_api_reports_a_missing_or_damaged_index_as_the_server_s(make_kb):
    from fastapi.testclient import TestClient

    from parkqa.web import create_server

    kb = make_kb()
    api = TestClient(create_server(kb))
    question = {"question": "园区有多少家企业？"}
    one_line_error(api.post("/api/ask", json=question), 503)
    kb.update()
    (kb.config.index_dir / "manifest.json").write_text("{", encoding="utf-8")
    one_line_error(api.post("/api/ask", json=question), 500)


def test_filters_refuse_a_reversed_range_in_the_interface_language():
    with pytest.raises(QuestionError) as error:
        parse_filters([], "2021", " 2019", "zh")
    assert str(error.value).startswith("起始日期“2021”晚于截止日期“2019”")
    with pytest.raises(QuestionError, match="From '2021' is after Until '2019'"):
        parse_filters([], "2021", "2019", "en")


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:7999/"),
        ("localhost", "http://localhost:7999/"),
        ("::1", "http://[::1]:7999/"),
        ("fe80::1%eth0", "http://[fe80::1%25eth0]:7999/"),
    ],
)
def test_the_printed_address_brackets_ipv6_hosts(host, url):
    from parkqa.web import address_url

    assert address_url(host, 7999) == url
