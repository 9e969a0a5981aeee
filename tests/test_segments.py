"""The segmented index: an update writes only what changed, keeps BM25 exact, and opening an
index reads no passage until one is asked for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import copied_park_kb
from parkqa import indexing, load_config, store
from parkqa.indexing import update_index
from parkqa.keywords import tokenize
from parkqa.store import load_index

POLICY = "永川区软件产业扶持政策\n\n对新落户的软件企业给予三年房租减免。\n符合条件的企业可向区大数据发展局申请。\n"
TALENT = "人才公寓申请指南\n\n园区人才公寓共有2600余套，面向入驻企业员工开放申请。\n"
SUBJECTS = ("人才公寓", "房租减免", "数据中心", "通勤公交", "职业教育", "产业基金")
QUESTIONS = ("人才公寓申请", "阿里巴巴投资3亿元", "软件企业房租减免", "数据中心建设", "公交线路")


def notice(n: int) -> str:
    subject = SUBJECTS[n % len(SUBJECTS)]
    return (
        f"第{n}号通知\n\n园区{subject}项目第{n}期于{2015 + n % 9}年启动，计划投资{n + 2}亿元。\n"
        f"企业可向区大数据发展局申请{subject}支持，审核通过后按年度兑现。\n"
    )


def files_and_times(index: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in index.iterdir() if p.name.startswith("seg")}


def test_an_update_writes_one_small_segment_and_keeps_the_others(make_kb):
    kb = make_kb({"policy.txt": POLICY, "talent.txt": TALENT})
    kb.update()
    index = kb.config.index_dir
    before = files_and_times(index)
    (kb.config.knowledge_dir / "policy.txt").write_text(POLICY.replace("三年", "五年"), "utf-8")
    kb.update()

    after = files_and_times(index)
    assert {name: after[name] for name in before} == before  # written once, never rewritten
    new = sorted(set(after) - set(before))
    assert new == [
        "seg000001-0000.deleted000002.npy",
        "seg000002-0000.arrays",
        "seg000002-0000.passages",
    ]
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    first, second = manifest["segments"]
    assert first["deleted_rows"] == 1 and second["rows"] == 1
    assert manifest["documents"]["knowledge/policy.txt"] == {
        **manifest["documents"]["knowledge/policy.txt"],
        "passages": 1,
        "segment": "seg000002-0000",
    }
    loaded = load_index(index)
    assert loaded.rows == first["rows"] + 1 == len(loaded.passages) + 1
    assert [p.text for p in loaded.passages if p.doc == "knowledge/policy.txt"] == [
        "对新落户的软件企业给予五年房租减免。符合条件的企业可向区大数据发展局申请。"
    ]
    assert "三年" not in loaded.keywords and "五年" in loaded.keywords
    # a passage read again is not parsed again: a question reads its few passages many times
    assert loaded.passage(0) is loaded.passage(0)
    answer = kb.ask("新落户的软件企业房租减免几年？")
    assert answer.citations[0].doc == "knowledge/policy.txt" and "五年" in answer.citations[0].text


def test_scores_after_twenty_updates_equal_a_fresh_build(make_kb, encoder, tmp_path):
    """Documents added, changed and deleted over twenty updates (with merges of the small
    segments along the way): every BM25 score and IDF equals that of an index built at once
    from the same documents."""
    kb = make_kb({"policy.txt": POLICY, "talent.txt": TALENT})
    kb.update()
    knowledge = kb.config.knowledge_dir
    deletions = 0
    for n in range(20):
        path = knowledge / f"notice-{n % 7}.txt"
        if n % 5 == 4 and path.exists():
            path.unlink()
            deletions += 1
        else:
            path.write_text(notice(n), encoding="utf-8")
        assert update_index(kb.config, encoder).written
    assert deletions >= 3
    updated = load_index(kb.config.index_dir)
    assert len(updated.manifest.segments) <= indexing.MERGE_AFTER + 2

    fresh_root = tmp_path / "fresh"
    shutil.copytree(knowledge, fresh_root / "knowledge")
    shutil.copy(kb.config.root / "parkqa.yaml", fresh_root / "parkqa.yaml")
    fresh_config = load_config(fresh_root / "parkqa.yaml")
    update_index(fresh_config, encoder)
    fresh = load_index(fresh_config.index_dir)
    assert len(fresh.manifest.segments) == 1 and fresh.live is None

    def by_passage(index, tokens) -> dict[str, float]:
        scores = index.keywords.scores(tokens)
        return {index.passage(int(r)).id: float(scores[r]) for r in index.passages.rows()}

    assert updated.keywords.count == fresh.keywords.count
    assert updated.keywords.total_length == fresh.keywords.total_length
    for question in QUESTIONS:
        tokens = tokenize(question)
        got, want = by_passage(updated, tokens), by_passage(fresh, tokens)
        assert got.keys() == want.keys()
        np.testing.assert_allclose([got[i] for i in want], list(want.values()), rtol=1e-6)
        for token in tokens:
            assert updated.keywords.token_idf(token) == pytest.approx(
                fresh.keywords.token_idf(token)
            )


def test_many_small_updates_are_merged_into_one_segment(make_kb, encoder, monkeypatch):
    monkeypatch.setattr(indexing, "MERGE_AFTER", 3)
    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    for n in range(5):
        (kb.config.knowledge_dir / f"notice-{n}.txt").write_text(notice(n), encoding="utf-8")
        update_index(kb.config, encoder)
    loaded = load_index(kb.config.index_dir)
    assert len(loaded.manifest.segments) <= 4
    documents = loaded.manifest.documents
    assert {p.doc for p in loaded.passages} == set(documents)
    for doc, record in documents.items():
        assert len(loaded.document_rows(doc)) == record.passages
    answer = kb.ask("园区通勤公交项目第3期计划投资多少？")
    assert answer.citations[0].doc == "knowledge/notice-3.txt"


def test_opening_an_index_reads_no_passage(make_kb, monkeypatch):
    """Opening maps the segments' files: no passage is parsed and no vocabulary built until a
    question needs them, and then only the passages it retrieves."""
    kb = make_kb({"policy.txt": POLICY, "talent.txt": TALENT})
    kb.update()
    parsed = []
    real = store.passage_from_json
    monkeypatch.setattr(store, "passage_from_json", lambda r: parsed.append(r) or real(r))
    loaded = load_index(kb.config.index_dir)
    assert parsed == []
    (segment,) = loaded.segments
    tokens = segment.arrays["tokens"]
    assert tokens.dtype == np.uint64 and not tokens.flags.writeable  # mapped, not read
    assert kb.ask("人才公寓有多少套？").citations
    assert parsed


def test_a_filter_reads_dates_and_tags_without_passage_text(make_kb, monkeypatch):
    tagged = "---\ntitle: 人才政策\ndate: 2023-05\ntags: [人才]\n---\n" + TALENT
    kb = make_kb({"talent.md": tagged, "policy.txt": POLICY})
    kb.update()
    loaded = load_index(kb.config.index_dir)
    monkeypatch.setattr(store, "passage_from_json", lambda r: pytest.fail("read a passage"))
    from parkqa import Filters

    mask = loaded.allowed(Filters(tags=("人才",)))
    assert mask.sum() == loaded.manifest.documents["knowledge/talent.md"].passages
    assert (loaded.allowed(Filters(date_from="2023")) == mask).all()
    assert not loaded.allowed(Filters(date_from="2024")).any()


class CountingEncoder:
    """The real encoder, counting the texts it embeds."""

    def __init__(self, encoder):
        self.inner, self.name, self.dimension = encoder, encoder.name, encoder.dimension
        self.embedded = 0

    def encode(self, texts, batch_size=64, progress=None):
        self.embedded += len(texts)
        return self.inner.encode(texts, batch_size, progress)

    def query(self, texts):
        return self.inner.query(texts)


def test_an_interrupted_build_resumes_without_embedding_again(make_kb, encoder, monkeypatch):
    """A build writes segments as it goes; interrupted, it leaves them behind uncommitted, and
    the next build takes their sentence vectors instead of embedding those sentences again."""
    monkeypatch.setattr(indexing, "SEGMENT_PASSAGES", 5)
    kb = make_kb({f"notice-{n}.txt": notice(n) for n in range(12)})
    index = kb.config.index_dir
    real = store.GenerationWriter.write_segment
    calls = []

    def interrupted(self, *args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(store.GenerationWriter, "write_segment", interrupted)
    counting = CountingEncoder(encoder)
    with pytest.raises(KeyboardInterrupt):
        update_index(kb.config, counting)
    monkeypatch.setattr(store.GenerationWriter, "write_segment", real)
    assert not (index / "manifest.json").exists()
    left = sorted(p.name for p in index.glob("seg*.arrays"))
    assert len(left) == 2
    saved = sum(len(store.read_arrays(index / name)[0]["sentence_hashes"]) for name in left)

    counting.embedded = 0
    report = update_index(kb.config, counting)
    loaded = load_index(index)
    texts = {t for p in loaded.passages for t in p.sentence_embedding_texts()}
    assert report.written and 0 < report.embedded == counting.embedded
    assert report.embedded <= len(texts) - saved + 1  # a sentence may recur across segments
    stored = np.concatenate([loaded.sentence_vectors(int(r)) for r in loaded.passages.rows()])
    wanted = encoder.encode([t for p in loaded.passages for t in p.sentence_embedding_texts()])
    np.testing.assert_allclose(stored, wanted, atol=1e-5)
    named = loaded.manifest.files()
    assert {p.name for p in index.glob("seg*")} == named  # the interrupted build's files are gone
    assert kb.ask("园区数据中心项目第2期计划投资多少？").citations


def test_build_progress_estimates_the_whole_build_from_the_first_segment(
    make_kb, encoder, monkeypatch
):
    """A build streams its segments, yet the progress it reports counts toward the whole
    build (told from the bytes read so far), so the time left is that of the whole build."""
    monkeypatch.setattr(indexing, "SEGMENT_PASSAGES", 5)
    kb = make_kb({f"notice-{n}.txt": notice(n) for n in range(12)})
    calls: list[tuple[int, int]] = []
    report = update_index(kb.config, encoder, progress=lambda d, t: calls.append((d, t)))
    final = calls[-1][1]
    assert calls[-1][0] == final == report.embedded
    first_segment = [t for d, t in calls if d <= calls[0][1]]
    assert first_segment[0] >= 0.6 * final, (first_segment[0], final)
    assert all(d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_build_merges_the_segments_it_writes(make_kb, encoder, monkeypatch, tmp_path):
    """A build writing many segments merges them as it goes (every MERGE_FACTOR, then those
    left): the merged index holds the same passages, vectors, sentence vectors and BM25
    scores as one built as a single segment, the merged segments' files are gone, and later
    updates delete rows from merged segments as from any other."""
    documents = {f"notice-{n}.txt": notice(n) for n in range(14)}
    kb = make_kb(documents, config="retrieval:\n  exact_below: 8\n")
    monkeypatch.setattr(indexing, "SEGMENT_PASSAGES", 3)
    monkeypatch.setattr(indexing, "MERGE_FACTOR", 4)
    kb.update()
    merged = load_index(kb.config.index_dir)
    assert 2 <= len(merged.manifest.segments) <= 3
    assert {p.name for p in kb.config.index_dir.glob("seg*")} == merged.manifest.files()
    assert type(merged.vectors.parts[0][0]).__name__ == "ListIndex"

    monkeypatch.setattr(indexing, "SEGMENT_PASSAGES", 100_000)
    single = make_kb_at(tmp_path / "single", kb)
    assert len(single.manifest.segments) == 1

    def contents(index) -> dict[str, tuple]:
        found = {}
        for row in index.passages.rows().tolist():
            passage = index.passage(row)
            found[passage.id] = (passage, index.vectors.vector(row), index.sentence_vectors(row))
        return found

    got, want = contents(merged), contents(single)
    assert got.keys() == want.keys()
    for key, (passage, vector, sentences) in want.items():
        assert got[key][0] == passage
        np.testing.assert_array_equal(got[key][1], vector)
        np.testing.assert_array_equal(got[key][2], sentences)
    for doc, record in merged.manifest.documents.items():
        assert len(merged.document_rows(doc)) == record.passages
        assert {merged.passage(int(r)).doc for r in merged.document_rows(doc)} == {doc}
    for question in QUESTIONS:
        tokens = tokenize(question)
        a, b = merged.keywords.scores(tokens), single.keywords.scores(tokens)
        by_id = {merged.passage(r).id: a[r] for r in range(merged.rows)}
        np.testing.assert_allclose(
            [by_id[single.passage(r).id] for r in range(single.rows)], b, rtol=1e-6
        )

    (kb.config.knowledge_dir / "notice-3.txt").write_text(notice(30), encoding="utf-8")
    (kb.config.knowledge_dir / "notice-9.txt").unlink()
    assert update_index(kb.config, encoder).written
    updated = load_index(kb.config.index_dir)
    assert "knowledge/notice-9.txt" not in {p.doc for p in updated.passages}
    answer = kb.ask("园区人才公寓项目第30期计划投资多少？")
    assert answer.citations[0].doc == "knowledge/notice-3.txt" and "32亿元" in answer.answer


def make_kb_at(root: Path, like) -> store.LoadedIndex:
    """The same knowledge folder and config as `like`, indexed in root."""
    shutil.copytree(like.config.knowledge_dir, root / "knowledge")
    shutil.copy(like.config.root / "parkqa.yaml", root / "parkqa.yaml")
    config = load_config(root / "parkqa.yaml")
    update_index(config, like.encoder)
    return load_index(config.index_dir)


def index_pages_resident(index_dir: Path) -> int:
    """Bytes of the index folder's files this process holds resident, from /proc/self/smaps."""
    resident, inside = 0, False
    folder = str(index_dir.resolve())
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:  # a mapping's first line
                inside = len(head) >= 6 and head[-1].startswith(folder)
            elif inside and head[0] == "Rss:":
                resident += int(head[1]) * 1024
    return resident


@pytest.mark.parametrize(("budget", "kept"), [("0", False), ("1024", True)])
def test_answering_keeps_the_mapped_index_pages_within_the_budget(
    park_index: Path, tmp_path: Path, encoder, budget: str, kept: bool
):
    config = f"retrieval:\n  mapped_memory_mb: {budget}\n"
    kb = copied_park_kb(park_index, tmp_path / "kb", encoder, config)
    for question in ("园区有多少家企业？", "人才公寓租金是多少？", "阿里巴巴投资了多少钱？"):
        assert kb.ask(question).citations
    assert (index_pages_resident(kb.config.index_dir) > 0) is kept
