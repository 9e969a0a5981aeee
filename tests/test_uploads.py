from __future__ import annotations

import random
from pathlib import Path

import pytest

from parkqa.documents import SUPPORTED_SUFFIXES
from parkqa.errors import DocumentExistsError, DocumentNotFoundError, UploadError
from parkqa.uploads import (
    MAX_NAME_BYTES,
    check_upload,
    check_uploads,
    remove_documents,
    safe_filename,
    store_upload,
)

NOTICE = "软件企业房租减免通知\n\n永川区对新落户的软件企业给予三年房租减免。\n"
REVISED = "软件企业房租减免通知\n\n永川区对新落户的软件企业给予五年房租减免。\n"
LONG_CHINESE = "永川区大数据产业园关于软件和信息服务企业房租减免及人才公寓申请的补充通知" * 3


def write(path: Path, text: str = NOTICE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("notice.txt", "notice.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/etc/cron.d/job.md", "job.md"),
        ("C:\\Users\\staff\\report.pdf", "report.pdf"),
        ("..", "document"),
        ("../", "document"),
        (".txt", "document.txt"),
        (".hidden.md", "hidden.md"),
        ("a\x00b.txt", "a_b.txt"),
        ("line\nbreak\ttab\x7f.md", "line_break_tab_.md"),
        ("\u202etxt.exe", "_txt.exe"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("  notice.txt . ", "notice.txt"),
        ("政策通知.docx", "政策通知.docx"),
    ],
)
def test_safe_filename(given, expected):
    assert safe_filename(given) == expected


def test_ninety_chinese_characters_are_cut_by_bytes_keeping_the_extension():
    given = LONG_CHINESE[:90] + ".txt"
    assert len(given.encode()) > 255
    name = safe_filename(given)
    assert name.endswith(".txt")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert LONG_CHINESE.startswith(name.removesuffix(".txt"))
    assert len(name.removesuffix(".txt").encode()) > MAX_NAME_BYTES - 10  # cut at the limit


def test_very_long_latin_name_keeps_its_extension():
    name = safe_filename("annual-report-" * 40 + ".docx")
    assert name.endswith(".docx") and len(name.encode()) == MAX_NAME_BYTES


def test_safe_filename_on_random_names():
    """Whatever the name, the result is one short, visible file name in the folder, and a
    supported extension survives."""
    rng = random.Random(7)
    alphabet = "ab永川/\\.. \x00\x01\n\t:*?<>|\u202e\u200b\ud800é" + "园" * 5
    for _ in range(2000):
        stem = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        suffix = rng.choice([*SUPPORTED_SUFFIXES, "", ".TXT"])
        name = safe_filename(stem + suffix)
        assert name and name not in (".", "..") and not name.startswith(".")
        assert "/" not in name and "\\" not in name
        assert all(ch.isprintable() for ch in name), repr(name)
        assert len(name.encode()) <= MAX_NAME_BYTES
        if suffix:
            assert name.endswith(suffix), (stem + suffix, name)


# -- storing -------------------------------------------------------------------------------------


def test_names_from_outside_are_stored_inside_the_knowledge_folder(tmp_path):
    knowledge = tmp_path / "base" / "knowledge"
    source = write(tmp_path / "upload" / "notice.txt")
    for name in ("../../evil.txt", "/tmp/abs.txt", "..\\win.txt", "nul\x00name.txt"):
        upload = check_upload(knowledge, source, name=name)
        store_upload(upload)
    assert files_under(tmp_path / "base") == {
        "knowledge/evil.txt",
        "knowledge/abs.txt",
        "knowledge/win.txt",
        "knowledge/nul_name.txt",
    }


def test_a_ninety_character_chinese_name_is_stored(tmp_path):
    knowledge = tmp_path / "knowledge"
    source = write(tmp_path / "notice.txt")
    upload = check_upload(knowledge, source, name=LONG_CHINESE[:90] + ".txt")
    stored = store_upload(upload)
    assert stored.target.is_file() and stored.target.suffix == ".txt"
    assert stored.target.read_text(encoding="utf-8") == NOTICE


def test_a_source_path_with_nul_is_refused_with_a_message(tmp_path):
    with pytest.raises(UploadError, match=r"no such file"):
        check_upload(tmp_path / "knowledge", tmp_path / "a\x00b.txt")


def test_a_name_already_in_the_folder_is_refused_unless_replaced(tmp_path):
    knowledge = tmp_path / "knowledge"
    write(knowledge / "notice.txt")
    same = check_upload(knowledge, write(tmp_path / "same" / "notice.txt"))
    assert same.unchanged and not same.replaces
    assert store_upload(same).target == knowledge / "notice.txt"

    revised = check_upload(knowledge, write(tmp_path / "new" / "notice.txt", REVISED))
    assert revised.replaces and not revised.unchanged
    with pytest.raises(
        DocumentExistsError, match=r"knowledge/notice.txt already exists.*--replace"
    ):
        store_upload(revised)
    assert (knowledge / "notice.txt").read_text(encoding="utf-8") == NOTICE
    store_upload(revised, replace=True)
    assert (knowledge / "notice.txt").read_text(encoding="utf-8") == REVISED
    assert files_under(knowledge) == {"notice.txt"}


def test_names_that_collide_in_one_batch_are_refused(tmp_path):
    knowledge = tmp_path / "knowledge"
    first = write(tmp_path / "a" / "notice.txt")
    second = write(tmp_path / "b" / "notice.txt", REVISED)
    question = write(tmp_path / "c" / "plan?.md")
    star = write(tmp_path / "c" / "plan*.md", REVISED)
    long_one = write(tmp_path / "d" / (LONG_CHINESE[:70] + "一.txt"))
    long_two = write(tmp_path / "d" / (LONG_CHINESE[:70] + "二.txt"), REVISED)
    accepted, refused = check_uploads(
        knowledge, [first, second, question, star, long_one, long_two]
    )
    assert [u.source for u in accepted] == [first, question, long_one]
    assert len(refused) == 3
    assert all("rename one" in str(error) for error in refused)
    assert "notice.txt" in str(refused[0]) and "plan_.md" in str(refused[1])


def test_file_system_errors_become_upload_errors(tmp_path):
    source = write(tmp_path / "notice.txt")
    blocker = write(tmp_path / "blocker", "a file where a folder should be")
    with pytest.raises(UploadError, match=r"notice.txt: cannot store .*Not a directory"):
        store_upload(check_upload(blocker / "knowledge", source))

    knowledge = tmp_path / "knowledge"
    (knowledge / "notice.txt").mkdir(parents=True)
    upload = check_upload(knowledge, source)
    assert upload.replaces
    with pytest.raises(UploadError, match=r"notice.txt: cannot store .*[Ii]s a directory"):
        store_upload(upload, replace=True)
    assert not [p for p in knowledge.iterdir() if p.name.startswith(".")]  # no partial copy left


# -- removing ------------------------------------------------------------------------------------


def test_remove_documents_by_name(tmp_path):
    knowledge = tmp_path / "knowledge"
    write(knowledge / "keep.txt")
    write(knowledge / "notice.md")
    write(knowledge / "notice.md.meta.yaml", "title: 通知\n")
    write(knowledge / "policies" / "rent.txt")
    removed = remove_documents(knowledge, tmp_path, ["knowledge/notice.md", "policies/rent.txt"])
    assert [p.name for p in removed] == ["notice.md", "notice.md.meta.yaml", "rent.txt"]
    assert files_under(knowledge) == {"keep.txt"}


@pytest.mark.parametrize("name", ["missing.txt", "../parkqa.yaml", "../outside.txt", "/etc/hosts"])
def test_remove_refuses_what_is_not_a_document_of_the_folder(tmp_path, name):
    knowledge = tmp_path / "knowledge"
    write(knowledge / "keep.txt")
    write(knowledge / "notice.txt")
    write(tmp_path / "outside.txt")
    write(tmp_path / "parkqa.yaml", "knowledge_dir: knowledge\n")
    before = files_under(tmp_path)
    with pytest.raises(DocumentNotFoundError, match="no such document in the knowledge folder"):
        remove_documents(knowledge, tmp_path, ["notice.txt", name])
    assert files_under(tmp_path) == before  # nothing removed when one name is wrong


def test_removing_every_document_is_refused(tmp_path):
    knowledge = tmp_path / "knowledge"
    write(knowledge / "notice.txt")
    with pytest.raises(UploadError, match="every document"):
        remove_documents(knowledge, tmp_path, ["notice.txt"])
    assert (knowledge / "notice.txt").is_file()


# -- through the knowledge base, with real answers -----------------------------------------------


@pytest.mark.slow
def test_add_replace_and_remove_change_the_answers(park_kb, tmp_path):
    question = "软件企业房租减免几年？"
    notice = write(tmp_path / "v1" / "notice.md", NOTICE)
    stored, report = park_kb.add([notice])
    assert [u.target.name for u in stored] == ["notice.md"] and report.added
    assert "三年房租减免" in park_kb.ask(question).answer

    revised = write(tmp_path / "v2" / "notice.md", REVISED)
    with pytest.raises(DocumentExistsError):
        park_kb.add([revised])
    assert "三年房租减免" in park_kb.ask(question).answer

    stored, report = park_kb.add([revised], replace=True)
    assert stored[0].replaces and report.changed == ("knowledge/notice.md",)
    answer = park_kb.ask(question)
    assert "五年房租减免" in answer.answer
    assert all("三年房租减免" not in c.text for c in answer.citations + answer.related)

    removed, report = park_kb.remove(["notice.md"])
    assert [p.name for p in removed] == ["notice.md"] and report.removed == ("knowledge/notice.md",)
    answer = park_kb.ask(question)
    assert "房租减免" not in answer.answer
    assert all(c.doc != "knowledge/notice.md" for c in answer.citations + answer.related)
    assert [d.doc for d in park_kb.documents()] == ["knowledge/yongchuan-big-data-park.txt"]


@pytest.mark.slow
def test_a_document_deleted_by_hand_can_still_be_removed_from_the_index(park_kb, tmp_path):
    question = "软件企业房租减免几年？"
    park_kb.add([write(tmp_path / "v1" / "notice.md", NOTICE)])
    (park_kb.config.knowledge_dir / "notice.md").unlink()
    assert "三年房租减免" in park_kb.ask(question).answer  # still in the index
    removed, report = park_kb.remove(["notice.md"])
    assert [p.name for p in removed] == ["notice.md"] and report.removed == ("knowledge/notice.md",)
    assert "房租减免" not in park_kb.ask(question).answer
    with pytest.raises(DocumentNotFoundError, match="no such document"):
        park_kb.remove(["notice.md"])  # gone from the folder and from the index


def test_add_checks_every_file_before_copying_any(park_kb, tmp_path):
    good = write(tmp_path / "good.txt")
    bad = tmp_path / "payload.exe"
    bad.write_bytes(b"MZ\x90\x00")
    with pytest.raises(UploadError, match="unsupported file type"):
        park_kb.add([good, bad])
    assert not (park_kb.config.knowledge_dir / "good.txt").exists()


# -- nothing is lost when a change cannot go through ----------------------------------------------

HEADINGS_ONLY = "# 标题\n\n## 小节\n"
ARTICLE = "yongchuan-big-data-park.txt"
PARK_QUESTION = "永川大数据产业园有哪些企业？"


def cites_article(kb) -> bool:
    answer = kb.ask(PARK_QUESTION)
    return any(c.doc.endswith(ARTICLE) for c in answer.citations + answer.related)


def test_remove_is_refused_when_only_files_the_index_skips_would_be_left(park_kb):
    knowledge = park_kb.config.knowledge_dir
    write(knowledge / "outline.md", HEADINGS_ONLY)
    park_kb.update()
    with pytest.raises(UploadError, match="every document"):
        park_kb.remove([ARTICLE])
    assert (knowledge / ARTICLE).is_file() and (knowledge / (ARTICLE + ".meta.yaml")).is_file()
    assert cites_article(park_kb)


def test_remove_while_the_index_is_busy_deletes_nothing(park_kb):
    from parkqa.errors import IndexBusyError
    from parkqa.store import index_lock

    knowledge = park_kb.config.knowledge_dir
    park_kb.add([write(knowledge.parent / "in" / "bus.txt", NOTICE)])
    with index_lock(park_kb.config.index_dir), pytest.raises(IndexBusyError):
        park_kb.remove(["bus.txt"])
    assert (knowledge / "bus.txt").is_file()
    _, report = park_kb.remove(["bus.txt"])
    assert report.removed == ("knowledge/bus.txt",) and not (knowledge / "bus.txt").exists()


def test_remove_says_so_when_the_index_update_fails_after_deleting(park_kb, monkeypatch):
    from parkqa.errors import IndexWriteError

    knowledge = park_kb.config.knowledge_dir
    park_kb.add([write(knowledge.parent / "in" / "bus.txt", NOTICE)])

    def full_disk(staged):
        raise IndexWriteError("disk full while writing the index")

    monkeypatch.setattr("parkqa.indexing.commit_generation", full_disk)
    message = r"^removed knowledge/bus.txt; the index was not updated.*run parkqa index"
    with pytest.raises(UploadError, match=message):
        park_kb.remove(["bus.txt"])
    assert park_kb.pending_changes().deleted == ("knowledge/bus.txt",)


def test_replace_with_a_file_that_gives_no_passages_is_refused(park_kb, tmp_path):
    knowledge = park_kb.config.knowledge_dir
    park_kb.add([write(tmp_path / "v1" / "hidden.md", NOTICE)])
    with pytest.raises(UploadError, match=r"hidden.md: no text found"):
        park_kb.add([write(tmp_path / "v2" / "hidden.md", HEADINGS_ONLY)], replace=True)
    assert (knowledge / "hidden.md").read_text(encoding="utf-8") == NOTICE
    assert "knowledge/hidden.md" in [d.doc for d in park_kb.documents()]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("园区通知" * 20 + ".md", "园区通知" * 20 + "X.md"),
        ("  .md", "..md"),
    ],
    ids=["cut-long-names", "dot-names"],
)
def test_a_cleaned_name_taken_by_another_document_is_refused_without_replace(
    tmp_path, first, second
):
    from parkqa.messages import translate

    knowledge = tmp_path / "knowledge"
    stored = store_upload(check_upload(knowledge, write(tmp_path / "a" / first, NOTICE)))
    with pytest.raises(UploadError, match=r"would be stored as .*another document") as refused:
        check_upload(knowledge, write(tmp_path / "b" / second, REVISED))
    assert "--replace" not in str(refused.value) and "rename" in str(refused.value)
    assert stored.target.read_text(encoding="utf-8") == NOTICE
    assert "另一篇文档" in translate(str(refused.value), "zh")
    same = check_upload(knowledge, write(tmp_path / "c" / first, NOTICE))
    assert same.unchanged


def test_a_sidecar_travels_with_its_document(park_kb, tmp_path):
    knowledge = park_kb.config.knowledge_dir
    room = write(tmp_path / "sc" / "room.txt", NOTICE)
    write(tmp_path / "sc" / "room.txt.meta.yaml", "title: 房租通知\ndate: 2024-05\ntags: [房租]\n")
    (stored,), _ = park_kb.add([room])
    assert stored.sidecar_copied and (knowledge / "room.txt.meta.yaml").is_file()
    listed = {d.doc: d for d in park_kb.documents()}["knowledge/room.txt"]
    assert (listed.title, listed.date, listed.tags) == ("房租通知", "2024-05", ("房租",))

    revised = write(tmp_path / "v2" / "room.txt", REVISED)
    write(tmp_path / "v2" / "room.txt.meta.yaml", "title: 新通知\ndate: 2025-01\n")
    (stored,), _ = park_kb.add([revised], replace=True)
    assert stored.replaces and stored.sidecar_copied
    listed = {d.doc: d for d in park_kb.documents()}["knowledge/room.txt"]
    assert (listed.title, listed.date, listed.tags) == ("新通知", "2025-01", ())

    bare = write(tmp_path / "v3" / "room.txt", NOTICE)
    (stored,), _ = park_kb.add([bare], replace=True)
    assert stored.sidecar_removed and not (knowledge / "room.txt.meta.yaml").exists()
    listed = {d.doc: d for d in park_kb.documents()}["knowledge/room.txt"]
    assert listed.date is None and listed.tags == ()


def test_a_bad_sidecar_is_refused_before_anything_is_copied(park_kb, tmp_path):
    room = write(tmp_path / "sc" / "room.txt", NOTICE)
    write(tmp_path / "sc" / "room.txt.meta.yaml", "tags: {a: 1}\n")
    with pytest.raises(UploadError, match="room.txt"):
        park_kb.add([room])
    assert not (park_kb.config.knowledge_dir / "room.txt").exists()


def test_add_reports_every_refused_file_and_a_folder_as_a_folder(park_kb, tmp_path):
    good = write(tmp_path / "good.txt")
    empty = write(tmp_path / "empty.md", HEADINGS_ONLY)
    folder = tmp_path / "papers"
    folder.mkdir()
    with pytest.raises(UploadError) as refused:
        park_kb.add([good, folder, empty, tmp_path / "missing.txt"])
    lines = str(refused.value).splitlines()
    assert len(lines) == 3
    assert "papers" in lines[0] and "folder" in lines[0]
    assert "empty.md" in lines[1] and "missing.txt: no such file" in lines[2]
    assert not (park_kb.config.knowledge_dir / "good.txt").exists()


def test_the_page_says_when_a_replacement_drops_the_old_metadata(park_kb, tmp_path):
    from parkqa.web import format_report, store_uploads

    knowledge = park_kb.config.knowledge_dir
    park_kb.add([write(tmp_path / "sc" / "room.txt", NOTICE)])
    write(knowledge / "room.txt.meta.yaml", "title: 房租通知\n")
    outcome = store_uploads(park_kb, [write(tmp_path / "v2" / "room.txt", REVISED)], replace=True)
    assert outcome.replaced == [knowledge / "room.txt"]
    assert outcome.metadata_removed == [knowledge / "room.txt.meta.yaml"]
    report = format_report(
        park_kb.update(), [], [], "zh", metadata_removed=outcome.metadata_removed
    )
    assert "已删除原来的：room.txt.meta.yaml" in report


def test_the_page_refuses_a_cleaned_name_another_document_has(park_kb, tmp_path):
    from parkqa.web import store_uploads

    park_kb.add([write(tmp_path / "a" / "  .md", NOTICE)])
    outcome = store_uploads(park_kb, [write(tmp_path / "b" / "..md", REVISED)])
    assert not outcome.waiting and "would be stored as document.md" in outcome.refused[0]
    assert (park_kb.config.knowledge_dir / "document.md").read_text(encoding="utf-8") == NOTICE
