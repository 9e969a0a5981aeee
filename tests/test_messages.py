from __future__ import annotations

import re
from pathlib import Path

import pytest

from parkqa.errors import DateError, IndexCorruptError, ParkQAError, QuestionError, UploadError
from parkqa.messages import WORDS, say, say_error, translate
from parkqa.questions import clean_question
from parkqa.store import load_index
from parkqa.uploads import check_upload

# Words a Chinese message may hold in Latin letters: formats, file types and metadata keys.
ALLOWED = {"YYYY", "MM", "DD", "UTF", "GB", "Big", "PDF", "DOCX", "front", "matter", "meta"}
ALLOWED |= {"yaml", "title", "date", "source", "tags", "txt", "md", "markdown", "pdf", "docx"}
ALLOWED |= {"html", "htm", "exe", "Word", "embedding", "model"}


def english_words(message: str, *names: str) -> list[str]:
    for name in names:
        message = message.replace(name, "")
    return [w for w in re.findall(r"[A-Za-z]{2,}", message) if w not in ALLOWED]


def refused(tmp_path: Path, name: str, data: bytes, max_bytes: int | None = None) -> UploadError:
    source = tmp_path / "uploads" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    with pytest.raises(UploadError) as error:
        check_upload(tmp_path / "knowledge", source, max_bytes=max_bytes)
    return error.value


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("payload.exe", b"MZ\x90\x00", "不支持的文件类型“.exe”"),
        ("photo.txt", bytes(range(256)) * 16, "不是文本文档（二进制数据）"),
        ("empty.md", b"  \n", "文件是空的"),
        ("scan.pdf", b"%PDF-1.4 cut short", "PDF 文件已损坏"),
        ("notice.md", "---\ndate: 2020-13\n---\n通知正文。\n".encode(), "日期“2020-13”不对"),
        ("notice.docx", b"PK\x03\x04 not really a document", "无法读取 DOCX"),
    ],
)
def test_refused_uploads_are_said_in_chinese(tmp_path, name, data, words):
    error = refused(tmp_path, name, data)
    message = say_error(error, "zh")
    assert message.startswith(f"{name}：") and words in message, message
    assert english_words(message, name) == [], message


def test_an_upload_over_the_limit_is_said_in_chinese(tmp_path):
    message = say_error(refused(tmp_path, "big.txt", "永川".encode() * 400_000, 1_000_000), "zh")
    assert message == "big.txt：2.4 MB，超过了每个文件 1 MB 的上传上限"


def test_errors_for_the_page_name_no_commands_in_either_language(tmp_path):
    with pytest.raises(QuestionError) as empty:
        clean_question("  ", 2000)
    assert "parkqa ask" in str(empty.value)  # the terminal's wording
    assert say_error(empty.value, "zh") == "问题是空的，请写一个问题。"
    assert say_error(empty.value, "en") == "the question is empty; write a question"
    with pytest.raises(ParkQAError) as missing:
        load_index(tmp_path / "index")
    for language in ("zh", "en"):
        assert "parkqa" not in say_error(missing.value, language)
    assert say_error(missing.value, "zh").startswith("知识库还没有建立索引")


def test_dates_and_notes_follow_the_language():
    error = DateError("date_from", "2020-13")
    assert say_error(error, "zh") == "日期“2020-13”不对；请写成 YYYY、YYYY-MM 或 YYYY-MM-DD"
    assert "2020-13" in say_error(error, "en") and "date" in say_error(error, "en")
    _, notes = clean_question("问" * 30, 20)
    assert translate(notes[0], "zh") == "问题太长，只用了前 20 个字"
    assert translate(notes[0], "en") == notes[0]


def test_an_index_warning_keeps_its_document_and_says_it_was_skipped():
    warning = "knowledge/a.exe: unsupported file type '.exe'; skipped (supported: .txt, .md)"
    message = translate(warning, "zh")
    assert message.startswith("knowledge/a.exe：不支持的文件类型“.exe”")
    assert message.endswith("已跳过")


def test_a_message_not_in_the_table_gets_a_chinese_lead_by_its_kind():
    damaged = IndexCorruptError("index in /srv/index is damaged: vectors; rebuild it with: ...")
    assert english_words(say_error(damaged, "zh")) == []
    other = ParkQAError("something new")
    assert say_error(other, "zh") == "出错了：something new"
    assert say_error(other, "en") == "something new"
    assert say_error(QuestionError("已是中文的消息"), "zh") == "已是中文的消息"


def test_both_languages_have_every_word_and_the_same_values():
    assert WORDS["zh"].keys() == WORDS["en"].keys()
    for key, text in WORDS["zh"].items():
        assert set(re.findall(r"{(\w+)}", text)) <= set(re.findall(r"{(\w+)}", WORDS["en"][key]))
    assert say("line", "en", first=3, last=3) == "line 3"
