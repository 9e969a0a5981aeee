from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import PARK_DOC
from parkqa import indexing, load_config
from parkqa.errors import IndexBusyError
from parkqa.indexing import update_index
from parkqa.store import index_lock, load_index

POLICY = "永川区软件产业扶持政策\n\n对新落户的软件企业给予三年房租减免。\n符合条件的企业可向区大数据发展局申请。\n"
TALENT = "人才公寓申请指南\n\n园区人才公寓共有2600余套，面向入驻企业员工开放申请。\n"


class CountingEncoder:
    """The real encoder, counting what it is asked to embed."""

    def __init__(self, encoder):
        self.inner = encoder
        self.name = encoder.name
        self.dimension = encoder.dimension
        self.embedded = 0

    def encode(self, texts, batch_size=64, progress=None):
        self.embedded += len(texts)
        return self.inner.encode(texts, batch_size, progress)


def keyword_hits(index, token):
    return int((index.keywords.scores([token]) > 0).sum())


def test_incremental_add_change_delete(make_kb, encoder):
    kb = make_kb({"policy.txt": POLICY})
    counting = CountingEncoder(encoder)
    first = update_index(kb.config, counting)
    assert set(first.added) == {PARK_DOC, "knowledge/policy.txt"}
    index = load_index(kb.config.index_dir)
    sentences = {t for p in index.passages for t in p.sentence_embedding_texts()}
    assert first.embedded == len(sentences) == counting.embedded

    knowledge = kb.config.knowledge_dir
    (knowledge / "talent.txt").write_text(TALENT, encoding="utf-8")
    counting.embedded = 0
    added = update_index(kb.config, counting)
    talent = [p for p in load_index(kb.config.index_dir).passages if p.doc.endswith("talent.txt")]
    assert added.added == ("knowledge/talent.txt",)
    assert added.embedded == counting.embedded == len(talent[0].sentence_embedding_texts()) == 1
    assert set(added.unchanged) == {PARK_DOC, "knowledge/policy.txt"}

    (knowledge / "policy.txt").write_text(POLICY.replace("三年", "五年"), encoding="utf-8")
    counting.embedded = 0
    changed = update_index(kb.config, counting)
    assert changed.changed == ("knowledge/policy.txt",)
    assert changed.embedded == counting.embedded == 1  # only the edited sentence

    before = load_index(kb.config.index_dir)
    assert "指南" in before.keywords and keyword_hits(before, "指南") == 1
    (knowledge / "talent.txt").unlink()
    removed = update_index(kb.config, counting)
    assert removed.removed == ("knowledge/talent.txt",) and removed.embedded == 0
    after = load_index(kb.config.index_dir)
    assert all(p.doc != "knowledge/talent.txt" for p in after.passages)
    assert "指南" not in after.keywords and keyword_hits(after, "指南") == 0
    assert after.vectors.ntotal == len(after.passages) == before.vectors.ntotal - 1
    vector = encoder.encode([TALENT])[0]
    _, rows = after.vectors.search(vector, after.vectors.ntotal)
    assert len(rows) == after.vectors.ntotal
    assert all(after.passage(int(r)).doc != "knowledge/talent.txt" for r in rows)

    again = update_index(kb.config, counting)
    assert not again.written and again.embedded == 0


def test_kept_vectors_are_the_ones_embedded(make_kb, encoder):
    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    (kb.config.knowledge_dir / "talent.txt").write_text(TALENT, encoding="utf-8")
    kb.update()
    index = load_index(kb.config.index_dir)
    texts = [t for p in index.passages for t in p.sentence_embedding_texts()]
    rows = index.passages.rows()
    kept = np.concatenate([index.sentence_vectors(int(r)) for r in rows])
    np.testing.assert_allclose(kept, encoder.encode(texts), atol=1e-5)
    stored = np.array([index.vectors.vector(int(r)) for r in rows])
    means = [index.sentence_vectors(int(r)).mean(0) for r in rows]
    means = np.array(means) / np.linalg.norm(means, axis=1, keepdims=True)
    np.testing.assert_allclose(stored, means, atol=1e-5)


def test_interrupted_build_leaves_the_previous_index(make_kb):
    kb = make_kb()
    kb.update()
    manifest = (kb.config.index_dir / "manifest.json").read_text(encoding="utf-8")
    (kb.config.knowledge_dir / "policy.txt").write_text(POLICY, encoding="utf-8")

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        kb.update(rebuild=True, progress=interrupt)
    assert (kb.config.index_dir / "manifest.json").read_text(encoding="utf-8") == manifest
    assert kb.ask("阿里巴巴在永川投资了多少钱？").citations[0].doc == PARK_DOC


def test_changed_chunking_triggers_a_full_rebuild(make_kb, encoder, tmp_path):
    kb = make_kb()
    kb.update()
    path = tmp_path / "parkqa.yaml"
    path.write_text(path.read_text() + "chunking:\n  max_chars: 120\n", encoding="utf-8")
    report = update_index(load_config(path), encoder)
    assert report.rebuilt_because == "the chunking settings changed"
    assert all(len(p.text) <= 120 for p in load_index(kb.config.index_dir).passages)


def test_a_new_sentence_splitter_triggers_a_full_rebuild(make_kb, encoder, monkeypatch):
    """An index keeps the sentences it was built with; when the way text is split into
    sentences changes, the next update rebuilds it."""
    kb = make_kb()
    kb.update()
    monkeypatch.setattr(
        indexing, "SENTENCE_SPLITTER_VERSION", indexing.SENTENCE_SPLITTER_VERSION + 1
    )
    report = update_index(kb.config, encoder)
    assert (
        report.rebuilt_because == "this version of parkqa cuts documents into passages differently"
    )
    # The same encoder embeds the same sentence the same way: none is embedded again.
    assert report.embedded == 0 and report.passages > 0
    assert kb.ask("阿里巴巴在永川投资了多少钱？").citations[0].doc == PARK_DOC


def test_a_settings_rebuild_embeds_again_when_the_old_index_is_damaged(
    make_kb, encoder, monkeypatch
):
    kb = make_kb()
    kb.update()
    for passages in kb.config.index_dir.glob("*.passages"):
        data = bytearray(passages.read_bytes())
        data[:40] = b"\xff" * 40
        passages.write_bytes(bytes(data))
    monkeypatch.setattr(
        indexing, "SENTENCE_SPLITTER_VERSION", indexing.SENTENCE_SPLITTER_VERSION + 1
    )
    report = update_index(kb.config, encoder)
    assert report.embedded > 0
    assert kb.ask("阿里巴巴在永川投资了多少钱？").citations[0].doc == PARK_DOC


def test_a_second_build_refuses_while_one_holds_the_lock(make_kb):
    kb = make_kb()
    with index_lock(kb.config.index_dir), pytest.raises(IndexBusyError, match="another parkqa"):
        kb.update()
    kb.update()


def test_unreadable_files_are_skipped_with_a_warning(make_kb):
    kb = make_kb()
    (kb.config.knowledge_dir / "photo.bin.txt").write_bytes(b"\x00\x01\x02" * 200)
    (kb.config.knowledge_dir / "notes.xyz").write_text("hello", encoding="utf-8")
    report = kb.update()
    assert set(report.skipped) == {"knowledge/photo.bin.txt", "knowledge/notes.xyz"}
    assert any("photo.bin.txt" in w for w in report.warnings)
    assert report.added == (PARK_DOC,)


def test_manifest_describes_the_index(make_kb):
    kb = make_kb()
    kb.update()
    manifest = json.loads((kb.config.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoder"] == {"name": "builtin:e5-small", "dimension": 384}
    assert manifest["chunking"] == {
        "max_chars": 300,
        "overlap_sentences": 1,
        "sentence_splitter": 4,
    }
    record = manifest["documents"][PARK_DOC]
    assert (
        record["title"].startswith("中国互联网前三企业已有两家落地") and record["date"] == "2020-04"
    )
    assert record["passages"] == manifest["passages"]
    (segment,) = manifest["segments"]
    assert record["segment"] == segment["name"] and segment["rows"] == manifest["passages"]
    assert (kb.config.index_dir / f"{segment['name']}.passages").exists()


def test_an_edit_re_embeds_only_the_passages_it_touched(make_kb, encoder):
    kb = make_kb()
    counting = CountingEncoder(encoder)
    first = update_index(kb.config, counting)
    article = kb.config.knowledge_dir / "yongchuan-big-data-park.txt"
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("83个项目", "84个项目"), encoding="utf-8")
    counting.embedded = 0
    report = update_index(kb.config, counting)
    assert report.changed == (PARK_DOC,)
    assert 0 < report.embedded == counting.embedded <= 2 < first.passages
    assert any("84个项目" in p.text for p in load_index(kb.config.index_dir).passages)


def test_updated_keyword_index_equals_a_fresh_build(make_kb):
    from parkqa.indexing import keyword_tokens
    from parkqa.keywords import KeywordIndex, tokenize

    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    knowledge = kb.config.knowledge_dir
    (knowledge / "talent.txt").write_text(TALENT, encoding="utf-8")
    (knowledge / "policy.txt").unlink()
    kb.update()
    index = load_index(kb.config.index_dir)
    fresh = KeywordIndex.build([keyword_tokens(p) for p in index.passages])
    live = index.passages.rows()
    for question in ("人才公寓申请", "阿里巴巴投资3亿元", "软件企业房租减免"):
        tokens = tokenize(question)
        scores = index.keywords.scores(tokens)
        np.testing.assert_allclose(scores[live], fresh.scores(tokens), rtol=1e-5)
        assert scores.sum() == pytest.approx(scores[live].sum())
        assert all(index.keywords.token_idf(t) == fresh.token_idf(t) for t in tokens)


def test_pending_changes_come_from_names_sizes_and_times_without_hashing(make_kb, monkeypatch):
    import hashlib

    kb = make_kb({"policy.txt": POLICY, "talent.txt": TALENT})
    knowledge = kb.config.knowledge_dir
    (knowledge / "notes.xyz").write_text("not a document", encoding="utf-8")
    (knowledge / "photo.txt").write_bytes(b"\x00\x01\x02" * 200)
    kb.update()
    assert not kb.pending_changes() and kb.pending_changes().count == 0

    (knowledge / "new.txt").write_text(TALENT.replace("2600", "3000"), encoding="utf-8")
    (knowledge / "policy.txt").write_text(POLICY.replace("三年", "五年"), encoding="utf-8")
    (knowledge / "talent.txt").unlink()
    hashed = []
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda *data: hashed.append(data) or real_sha256(*data))
    changes = kb.pending_changes()
    assert changes.new == ("knowledge/new.txt",)
    assert changes.changed == ("knowledge/policy.txt",)
    assert changes.deleted == ("knowledge/talent.txt",)
    assert changes.count == 3 and hashed == []
    monkeypatch.undo()
    kb.update()
    assert not kb.pending_changes()


def test_a_touched_file_or_an_edited_sidecar_is_pending_until_the_next_update(make_kb, encoder):
    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    policy = kb.config.knowledge_dir / "policy.txt"
    later = policy.stat().st_mtime_ns + 5_000_000_000
    os.utime(policy, ns=(later, later))
    assert kb.pending_changes().changed == ("knowledge/policy.txt",)
    counting = CountingEncoder(encoder)
    generation = load_index(kb.config.index_dir).generation
    report = update_index(kb.config, counting)
    assert report.unchanged and not report.changed and counting.embedded == 0
    assert not report.written and load_index(kb.config.index_dir).generation == generation
    assert not kb.pending_changes()

    sidecar = kb.config.knowledge_dir / "yongchuan-big-data-park.txt.meta.yaml"
    sidecar.write_text(sidecar.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    assert kb.pending_changes().changed == (PARK_DOC,)


def test_an_index_without_file_times_still_loads_and_is_checked_by_content(make_kb):
    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    path = kb.config.index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for record in manifest["documents"].values():
        record.pop("file", None)
    manifest.pop("skipped", None)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    assert kb.ask("阿里巴巴在永川投资了多少钱？").citations[0].doc == PARK_DOC
    assert not kb.pending_changes()
    (kb.config.knowledge_dir / "policy.txt").write_text(POLICY + "补充。\n", encoding="utf-8")
    assert kb.pending_changes().changed == ("knowledge/policy.txt",)


def test_each_update_step_works_alone_and_only_the_commit_switches(make_kb, encoder):
    from parkqa.indexing import (
        embed_sentences,
        index_settings,
        plan_update,
        read_changed,
        scan_knowledge,
        write_index,
    )
    from parkqa.manifest import Manifest
    from parkqa.store import commit_generation, read_manifest

    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    config, knowledge = kb.config, kb.config.knowledge_dir
    committed = read_manifest(config.index_dir)
    (knowledge / "talent.txt").write_text(TALENT, encoding="utf-8")
    (knowledge / "notes.xyz").write_text("not a document", encoding="utf-8")

    plan = plan_update(scan_knowledge(config), committed.documents)
    assert [file.doc for file, _ in plan.to_read] == ["knowledge/talent.txt"]
    assert set(plan.kept) == {PARK_DOC, "knowledge/policy.txt"} and not plan.restamped
    assert list(plan.skipped) == ["knowledge/notes.xyz"]

    read = read_changed(plan, config)
    talent = read.passages["knowledge/talent.txt"]
    assert read.records["knowledge/talent.txt"].passages == len(talent)
    assert "2600余套" in talent[0].text

    vectors, embedded = embed_sentences(talent, {}, encoder, config, None)
    assert embedded == len(vectors) == len(talent[0].sentence_embedding_texts())

    manifest = Manifest(index_settings(config, encoder), dict(read.records), len(talent))
    staged = write_index(config, manifest, talent, vectors)
    assert staged.staged.exists() and read_manifest(config.index_dir) == committed
    assert load_index(config.index_dir).generation == committed.generation
    commit_generation(staged)
    switched = load_index(config.index_dir)
    assert switched.generation == committed.generation + 1
    assert set(switched.manifest.documents) == {"knowledge/talent.txt"}


def test_a_changed_document_that_cannot_be_read_keeps_its_indexed_version(make_kb):
    kb = make_kb()
    kb.update()
    before = [p.id for p in load_index(kb.config.index_dir).passages if p.doc == PARK_DOC]
    sidecar = kb.config.knowledge_dir / "yongchuan-big-data-park.txt.meta.yaml"
    sidecar.write_text(sidecar.read_text(encoding="utf-8") + "tags: {a: 1}\n", encoding="utf-8")
    (kb.config.knowledge_dir / "room.txt").write_text(
        "会议室预订\n\n园区会议室需提前一天预订。\n", encoding="utf-8"
    )
    report = kb.update()
    assert report.removed == () and report.added == ("knowledge/room.txt",)
    kept = [w for w in report.warnings if w.startswith("kept the indexed version: ")]
    assert len(kept) == 1 and "yongchuan-big-data-park.txt" in kept[0] and "tags" in kept[0]
    after = [p.id for p in load_index(kb.config.index_dir).passages if p.doc == PARK_DOC]
    assert after == before and len(after) > 10
    assert PARK_DOC in [d.doc for d in kb.documents()]
    assert kb.skipped()[PARK_DOC].startswith("kept the indexed version")
    assert kb.pending_changes().changed == (PARK_DOC,)  # still to be indexed once it reads

    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("tags: {a: 1}\n", ""), "utf-8")
    report = kb.update()
    assert PARK_DOC in report.unchanged and PARK_DOC not in kb.skipped()


def test_verify_finds_an_edit_that_kept_the_size_and_the_time(make_kb):
    """An edit that keeps a file's size and modification time (a copy that preserves times)
    escapes the quick check; `parkqa index --verify` reads every file and finds it."""
    kb = make_kb({"policy.txt": POLICY})
    kb.update()
    policy = kb.config.knowledge_dir / "policy.txt"
    before = policy.stat()
    policy.write_text(POLICY.replace("三年", "五年"), encoding="utf-8")
    os.utime(policy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert policy.stat().st_size == before.st_size
    assert not kb.update().changed
    report = kb.update(verify=True)
    assert report.changed == ("knowledge/policy.txt",) and report.written
    answer = kb.ask("新落户的软件企业可以减免几年房租？")
    assert "五年" in answer.answer


def test_the_keyword_index_holds_a_label_repeated_down_a_table_once() -> None:
    """Rows read with their header repeat its labels on every line; the keyword index holds
    them once a passage, or a table passage outweighs prose on the labels' words (2019年营业收入
    asked of a passage of rows each saying 2023年营业收入)."""
    from conftest import make_passage
    from parkqa.indexing import keyword_tokens

    rows = make_passage(
        "企业名称：星河，营业收入：3亿元。\n企业名称：锐芯，营业收入：5亿元。", "名录"
    )
    tokens = keyword_tokens(rows)
    assert tokens.count("营业") == 1 and tokens.count("名称") == 1
    assert "星河" in tokens and "锐芯" in tokens
    prose = make_passage("营业收入：3亿元，营业收入增长了。\n营业收入：5亿元。", "年报")
    assert keyword_tokens(prose).count("营业") == 2  # a label is one a line begins or a comma ends
    hours = make_passage("周二开放，下午2:00关门。\n周三开放，下午2:00关门。", "开放时间")
    assert keyword_tokens(hours).count("下午") == 2  # 下午2 of 下午2:00 is no label
