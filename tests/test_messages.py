from __future__ import annotations

import errno
import re
import shutil
import socket
from pathlib import Path

import pytest

from parkqa import KnowledgeBase
from parkqa.chinese import has_cjk
from parkqa.config import load_config, with_overrides
from parkqa.dates import parse_date
from parkqa.documents import knowledge_files, read_document
from parkqa.errors import DateError, IndexCorruptError, ParkQAError, QuestionError, UploadError
from parkqa.indexing import update_index
from parkqa.messages import WORDS, say, say_error, translate
from parkqa.questions import clean_question
from parkqa.retrieval import Filters
from parkqa.store import _write_error, check_encoder, index_lock, load_index
from parkqa.uploads import (
    check_upload,
    check_uploads,
    find_documents,
    refuse_all,
    remove_documents,
    store_all,
    store_upload,
)

# Words a Chinese message may hold in Latin letters: formats, file types and metadata keys.
ALLOWED = {"YYYY", "MM", "DD", "UTF", "GB", "Big", "PDF", "DOCX", "front", "matter", "meta"}
ALLOWED |= {"yaml", "title", "date", "source", "tags", "txt", "md", "markdown", "pdf", "docx"}
ALLOWED |= {"html", "htm", "exe", "Word", "embedding", "model"}


def english_words(message: str, *names: str) -> list[str]:
    for name in names:
        message = message.replace(name, "")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_]+", message) if w not in ALLOWED]


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


# Paths and file names a message names are the person's own words, not English to translate.
PATH_OR_FILE = re.compile(r"[\w.\-]*/[\w.\-/]*|[\w\-]+\.[A-Za-z]{2,5}\b", re.ASCII)
# Config keys and units a Chinese message may name in Latin letters.
ALLOWED |= {"MB", "KB", "knowledge_dir"}


def raised(call, *args, **kwargs) -> ParkQAError:
    with pytest.raises(ParkQAError) as error:
        call(*args, **kwargs)
    return error.value


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def pdf(path: Path, password: str | None = None) -> Path:
    """A real PDF with one blank page, encrypted when a password is given."""
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def document_errors(folder: Path) -> list[ParkQAError]:
    """What reading a document can refuse, besides what the upload tests above cover."""
    big = write(folder / "big.txt", "永川" * 100)
    not_mapping = write(folder / "list.md", "---\n- a\n---\n正文。\n")
    bad_yaml = write(folder / "yaml.md", "---\ntitle: [a\n---\n正文。\n")
    title = write(folder / "title.md", "---\ntitle: [a, b]\n---\n正文。\n")
    tags = write(folder / "tags.md", "---\ntags: 3\n---\n正文。\n")
    nested = write(folder / "nested.md", "---\ntags: [[a]]\n---\n正文。\n")
    sidecar = write(folder / "side.md", "正文。\n")
    write(folder / "side.md.meta.yaml", b"title: \xff\xfe\n")
    encoding = write(folder / "enc.txt", b"\xa0\xa1" * 40 + b"\xff" * 20)
    return [
        raised(read_document, big, max_bytes=100),
        *(raised(read_document, p) for p in (not_mapping, bad_yaml, title, tags, nested)),
        raised(read_document, sidecar),
        raised(read_document, encoding),
        raised(read_document, pdf(folder / "locked.pdf", "secret")),
        raised(read_document, pdf(folder / "blank.pdf")),
        raised(knowledge_files, folder / "missing"),
    ]


def upload_errors(tmp_path: Path) -> list[ParkQAError]:
    """What the knowledge tab can refuse: names, copies and deletions."""
    knowledge = tmp_path / "knowledge"
    kept = write(knowledge / "notice.md", "原来的通知。\n")
    revised = write(tmp_path / "new" / "notice.md", "新的通知。\n")
    twin = write(tmp_path / "other" / "notice.md", "另一份通知。\n")
    _, refused = check_uploads(knowledge, [revised, twin])
    upload = check_upload(knowledge, revised)
    blocked = check_upload(tmp_path / "file" / "knowledge", revised)
    long_name = write(tmp_path / "long" / ("园区通知" * 20 + ".md"), "长名字的通知。\n")
    store_upload(check_upload(tmp_path / "named", long_name))
    cut_to_it = write(tmp_path / "cut" / ("园区通知" * 20 + "X.md"), "另一篇长名字的通知。\n")
    write(tmp_path / "file", "不是文件夹")
    return [
        raised(check_upload, knowledge, tmp_path / "gone.md"),
        raised(check_upload, tmp_path / ("k" * 300), revised),
        raised(check_upload, knowledge, tmp_path / "new"),
        raised(check_upload, tmp_path / "named", cut_to_it),
        raised(refuse_all, refused * 2),
        *refused,
        raised(store_all, [upload]),
        raised(store_upload, blocked),
        raised(find_documents, knowledge, tmp_path, ["a.md", "b.md"]),
        raised(remove_documents, knowledge, tmp_path, [kept.name]),
    ]


def locked(directory: Path) -> None:
    with index_lock(directory):
        pass


def index_errors(tmp_path: Path) -> list[ParkQAError]:
    """What loading, locking and writing the index can say."""
    index = write(tmp_path / "index" / "manifest.json", "{").parent
    write(tmp_path / "not-a-folder", "")
    errors = [
        raised(load_index, tmp_path / "none"),
        raised(load_index, index),
        raised(locked, tmp_path / "not-a-folder" / "index"),
        _write_error(index, OSError(errno.ENOSPC, "No space left on device")),
    ]
    with index_lock(tmp_path / "busy"):
        errors.append(raised(locked, tmp_path / "busy"))
    return errors


def question_errors() -> list[ParkQAError]:
    """What asking can refuse: the question and its filters."""
    filters = Filters(tags=("没有的标签",))
    return [
        raised(clean_question, "  ", 2000),
        raised(clean_question, 42, 2000),
        raised(parse_date, "2020-13", "date_from"),
        raised(filters.check_tags, ["招商", "政策"]),
        raised(filters.check_tags, []),
    ]


def index_warnings(tmp_path: Path, encoder) -> tuple[list[str], list[ParkQAError]]:
    """An update's warnings for files it skips, and its refusals."""
    root = tmp_path / "kb"
    knowledge = root / "knowledge"
    write(knowledge / "good.md", "# 通知\n\n园区本周三下午停电两小时。\n")
    write(knowledge / "later.md", "# 通知\n\n园区下周一恢复供水。\n")
    write(knowledge / "a.exe", b"MZ\x90\x00")
    write(knowledge / "h.md", "# h\n")
    write(knowledge / "empty.txt", " \n")
    write(knowledge / "photo.txt", bytes(range(256)) * 16)
    write(tmp_path / "outside.md", "外面的文件。\n")
    (knowledge / "link.md").symlink_to(tmp_path / "outside.md")
    (knowledge / "broken.md").symlink_to(tmp_path / "nowhere.md")
    write(root / "parkqa.yaml", "knowledge_dir: knowledge\nindex_dir: index\n")
    config = load_config(root / "parkqa.yaml")
    update_index(config, encoder)
    write(knowledge / "later.md", " \n")
    warnings = list(update_index(config, encoder).warnings)
    assert any(w.startswith("kept the indexed version") for w in warnings), warnings
    (knowledge / "good.md").unlink()
    (knowledge / "later.md").unlink()
    refused = raised(update_index, config, encoder)
    shutil.rmtree(knowledge)
    return warnings, [refused, raised(update_index, config, encoder)]


def answer_notes() -> list[str]:
    """The notes a question's cleaning adds to its answer."""
    return clean_question("问\x1b[31m" + "问" * 30, 20)[1]


def test_every_message_the_page_shows_is_said_in_chinese(tmp_path, encoder):
    warnings, refusals = index_warnings(tmp_path, encoder)
    errors = [
        *document_errors(tmp_path / "documents"),
        *upload_errors(tmp_path / "uploads"),
        *index_errors(tmp_path / "indexes"),
        *question_errors(),
        *refusals,
    ]
    assert len(warnings) == 7, warnings
    messages = [(str(e), type(e)) for e in errors]
    messages += [(m, ParkQAError) for m in [*warnings, *answer_notes()]]
    wrong = []
    for message, kind in messages:
        chinese = translate(message, "zh", kind)
        if not has_cjk(chinese) or english_words(PATH_OR_FILE.sub("", chinese)):
            wrong.append(chinese)
        for language in ("zh", "en"):
            shown = translate(message, language, kind)
            if "parkqa" in shown or "--" in shown:
                wrong.append(shown)
    assert wrong == [], "\n".join(wrong)


def test_a_document_without_text_is_said_wholly_in_chinese():
    message = translate("knowledge/h.md: no text found; skipped", "zh")
    assert message == "knowledge/h.md：没有找到文字；已跳过"


def test_a_message_not_in_the_table_keeps_no_commands():
    message = (
        "index manifest /srv/index/manifest.json is odd; rebuild it with: parkqa index --rebuild"
    )
    for language in ("zh", "en"):
        assert "parkqa" not in translate(message, language, IndexCorruptError)
    assert translate("something new; run parkqa index again", "en") == "something new"


def test_an_unknown_tag_is_said_with_chinese_punctuation():
    error = raised(Filters(tags=("没有的标签", "另一个")).check_tags, ["招商", "政策"])
    assert (
        say_error(error, "zh") == "没有这个标签：“没有的标签”、“另一个”；文档中的标签有：招商、政策"
    )
    assert say_error(raised(Filters(tags=("x",)).check_tags, []), "zh").endswith("文档都没有标签")


def test_notes_on_an_answer_are_said_in_chinese(park_kb):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    config = with_overrides(
        park_kb.config,
        generation={"endpoint": f"http://127.0.0.1:{closed}/v1", "timeout": 2.0},
        answer={"max_question_chars": 14},
    )
    kb = KnowledgeBase(config, encoder=park_kb.encoder)
    answer = kb.ask("阿里巴巴在永川\x1b[31m投资了多少钱？请详细说明")
    assert len(answer.notes) == 3, answer.notes
    for note in answer.notes:
        chinese = translate(note, "zh")
        assert has_cjk(chinese) and english_words(chinese) == [], (note, chinese)
    mismatch = raised(check_encoder, load_index(config.index_dir), "another-model")
    assert english_words(say_error(mismatch, "zh")) == []
    assert "parkqa" not in say_error(mismatch, "en")
