"""Answering from Milvus (a milvus section in the config) on real Milvus Lite: the same answers
as the index folder gives, updates mirrored before they are committed, a crash between the two
repaired by the next `parkqa index`, readers that hold no folder of their own, and processes
sharing one `milvus-lite server` while a third updates."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import PARK_DOC, REPO, free_port, write_knowledge_base
from parkqa import KnowledgeBase, cli, indexing, load_config
from parkqa.config import MilvusConfig
from parkqa.errors import IndexServerError
from parkqa.keywords import tokenize
from parkqa.milvus_index import MilvusIndex, drop_collections
from parkqa.retrieval import Filters
from parkqa.store import load_index, read_manifest

PARK_QUESTIONS = [
    item["question"]
    for item in yaml.safe_load((REPO / "tests" / "data" / "park_questions.yaml").read_text())
]
ENGLISH = ["How much did Alibaba invest in Yongchuan?", "Who is Deng Wen?"]
POLICY = (
    "---\ntitle: 软件产业扶持政策\ndate: 2021-03\ntags: [政策]\n---\n"
    "永川区对新落户的软件企业给予三年房租减免。\n符合条件的企业可向区大数据发展局申请。\n"
)
TALENT = "人才公寓申请指南\n\n园区人才公寓共有2600余套，面向入驻企业员工开放申请。\n"
NOTICE = "# 停电通知\n\n园区将于本周五下午停电检修，请各企业提前做好准备。\n"
UPDATE_QUESTIONS = [
    "软件企业房租减免几年？",
    "人才公寓有多少套？",
    "园区什么时候停电检修？",
    "阿里巴巴在永川投资了多少钱？",
    "博彦科技是做什么的？",
]


@pytest.fixture(autouse=True)
def shared_encoder(monkeypatch, encoder):
    """Commands run in-process with the session's encoder instead of loading it again."""
    monkeypatch.setattr("parkqa.knowledge_base.make_encoder", lambda config: encoder)


def summary(answer) -> dict:
    """What a reader sees of an answer: its text and what it cites (scores left out: after an
    update Milvus's BM25 weights use an average passage length within 5% of the true one)."""
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "citations": [
            (c.passage_id, c.doc, tuple(c.lines), c.highlights) for c in answer.citations
        ],
    }


def folder_twin(kb: KnowledgeBase) -> KnowledgeBase:
    """The same knowledge base answering from its index folder, the ledger Milvus mirrors."""
    return KnowledgeBase(dataclasses.replace(kb.config, milvus=None), encoder=kb.encoder)


def assert_answers_as_the_folder(kb: KnowledgeBase, questions: list[str]) -> None:
    twin = folder_twin(kb)
    for question in questions:
        assert summary(kb.ask(question)) == summary(twin.ask(question)), question


def milvus_generation(kb: KnowledgeBase) -> int:
    return MilvusIndex.existing(kb.config.milvus).generation


def folder_generation(kb: KnowledgeBase) -> int:
    return read_manifest(kb.config.index_dir).generation


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("backend", ["milvus"])
def test_every_park_question_is_answered_as_the_index_folder_answers_it(park_kb):
    twin = folder_twin(park_kb)
    for question in [*PARK_QUESTIONS, *ENGLISH]:
        ours, theirs = park_kb.ask(question).to_json(), twin.ask(question).to_json()
        ours.pop("seconds"), theirs.pop("seconds")
        # Milvus sums the products of a cosine in another order: the last digits may differ.
        ours_probability = ours["support"].pop("probability")
        theirs_probability = theirs["support"].pop("probability")
        assert ours == theirs, question
        assert ours_probability == pytest.approx(theirs_probability, abs=1e-4), question
    assert park_kb.stats() == twin.stats()
    assert park_kb.documents() == twin.documents()
    assert park_kb.topics() == twin.topics()


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_milvus_generation_offers_what_the_index_folder_offers(park_kb, encoder):
    """Keyword statistics, BM25 candidates and scores, passages holding given tokens, dense
    candidates and sentence similarities: as the index folder gives them, row for row."""
    ours, folder = park_kb.index(), load_index(park_kb.config.index_dir)
    ids = {row: folder.passage(row).id for row in range(folder.rows)}

    def of(index, rows):
        return [index.passage(int(row)).id for row in rows]

    assert ours.keywords.count == folder.keywords.count
    assert ours.keywords.max_idf == folder.keywords.max_idf
    for question in [*PARK_QUESTIONS[:12], "数据 中心 席位", "alibaba cloud"]:
        tokens = tokenize(question)
        for token in tokens:
            assert ours.keywords.token_idf(token) == pytest.approx(folder.keywords.token_idf(token))
        found, scores = ours.keywords.top(tokens, 8)
        expected, expected_scores = folder.keywords.top(tokens, 8)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
        assert of(ours, found) == [ids[int(r)] for r in expected] or np.unique(scores).size < 8
        some = np.array([int(r) for r in found[::2]])
        np.testing.assert_allclose(
            ours.keywords.scores_at(tokens, some),
            folder.keywords.scores_at(tokens, [r for r in expected[::2]]),
            rtol=1e-5,
        )
        vector = encoder.query([question])[0]
        scores, found = ours.vectors.search(vector, 6)
        expected_scores, expected = folder.vectors.search(vector, 6)
        assert of(ours, found) == [ids[int(r)] for r in expected]
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
        for row, other in zip(found, expected):
            np.testing.assert_allclose(
                ours.sentence_similarities(int(row), vector),
                folder.sentence_similarities(int(other), vector),
                rtol=1e-5,
            )
    for name in ("阿里巴巴", "博彦科技", "大数据", "特斯拉", "永川区"):
        bigrams = [name[i : i + 2] for i in range(len(name) - 1)]
        assert sorted(of(ours, ours.keywords.rows_with_all(bigrams))) == sorted(
            ids[int(r)] for r in folder.keywords.rows_with_all(bigrams)
        )
        chars = list(name)
        assert sorted(of(ours, ours.keywords.rows_with_at_least(chars, len(chars) - 1))) == sorted(
            ids[int(r)] for r in folder.keywords.rows_with_at_least(chars, len(chars) - 1)
        )
    assert [p.id for p in ours.passages] == [p.id for p in folder.passages]


@pytest.mark.parametrize("backend", ["milvus"])
def test_added_changed_and_deleted_documents_are_mirrored(park_kb, encoder):
    kb = park_kb
    knowledge = kb.config.knowledge_dir
    generation = folder_generation(kb)
    assert milvus_generation(kb) == generation
    (knowledge / "policy.md").write_text(POLICY, encoding="utf-8")
    (knowledge / "talent.txt").write_text(TALENT, encoding="utf-8")
    (knowledge / "notice.md").write_text(NOTICE, encoding="utf-8")
    assert kb.update().added == (
        "knowledge/notice.md",
        "knowledge/policy.md",
        "knowledge/talent.txt",
    )
    assert "2600余套" in kb.ask("人才公寓有多少套？").answer
    assert_answers_as_the_folder(kb, UPDATE_QUESTIONS)

    (knowledge / "policy.md").write_text(POLICY.replace("三年", "五年"), encoding="utf-8")
    (knowledge / "talent.txt").unlink()
    report = kb.update()
    assert (report.changed, report.removed, report.embedded) == (
        ("knowledge/policy.md",),
        ("knowledge/talent.txt",),
        1,
    )
    assert milvus_generation(kb) == folder_generation(kb) == generation + 2
    assert "五年" in kb.ask("软件企业房租减免几年？").answer
    assert_answers_as_the_folder(kb, UPDATE_QUESTIONS)
    assert [d.doc for d in kb.documents()] == [d.doc for d in folder_twin(kb).documents()]

    index = kb.index()  # the deleted document is found by no search
    for question in ("人才公寓申请指南", "园区人才公寓共有2600余套", "软件企业"):
        answer = kb.ask(question)
        cited = [c.doc for c in (*answer.citations, *answer.related)]
        assert "knowledge/talent.txt" not in cited
        _, rows = index.vectors.search(encoder.query([question])[0], index.keywords.count)
        assert len(rows) == index.keywords.count
        assert all(index.passage(int(r)).doc != "knowledge/talent.txt" for r in rows)
    assert index.keywords.token_idf("指南") is None
    assert len(index.keywords.rows_with_all(["指南"])) == 0
    filtered = kb.ask("软件企业房租减免几年？", filters=Filters(tags=("政策",), date_from="2021"))
    assert not filtered.abstained and "五年" in filtered.answer
    assert kb.ask("阿里巴巴在永川投资了多少钱？", filters=Filters(tags=("政策",))).abstained


class Killed(BaseException):
    """Stands in for the process dying: nothing after it runs."""


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_failure_before_the_milvus_flip_changes_neither_index(capsys, monkeypatch, park_kb):
    from pymilvus.exceptions import MilvusException

    config = str(park_kb.config.root / "parkqa.yaml")
    generation = folder_generation(park_kb)
    assert milvus_generation(park_kb) == generation
    before = summary(park_kb.ask("人才公寓有多少套？"))
    (park_kb.config.knowledge_dir / "talent.txt").write_text(TALENT, encoding="utf-8")
    real = MilvusIndex._insert

    def failing(self, collection, rows):
        if collection.endswith("_state"):
            raise MilvusException(message="injected fault")
        real(self, collection, rows)

    monkeypatch.setattr(MilvusIndex, "_insert", failing)
    code, _, err = run(capsys, "--config", config, "index")
    monkeypatch.undo()
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("parkqa: error: the Milvus index at ") and "injected fault" in err
    assert (milvus_generation(park_kb), folder_generation(park_kb)) == (generation, generation)
    assert summary(park_kb.ask("人才公寓有多少套？")) == before

    code, _, err = run(capsys, "--config", config, "index")
    assert code == 0 and "1 added" in err and "(0 embedded)" in err, err
    assert milvus_generation(park_kb) == folder_generation(park_kb) == generation + 1
    assert "2600余套" in park_kb.ask("人才公寓有多少套？").answer
    assert_answers_as_the_folder(park_kb, [*UPDATE_QUESTIONS, *PARK_QUESTIONS[:10]])


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_crash_between_the_milvus_flip_and_the_commit_is_repaired(capsys, monkeypatch, park_kb):
    """Milvus is one generation ahead of the folder: readers see the whole update, and the next
    update numbers its generation after both and makes them agree, embedding nothing again."""
    config = str(park_kb.config.root / "parkqa.yaml")
    generation = folder_generation(park_kb)
    (park_kb.config.knowledge_dir / "talent.txt").write_text(TALENT, encoding="utf-8")

    def dying(staged):
        raise Killed

    monkeypatch.setattr(indexing, "commit_generation", dying)
    with pytest.raises(Killed):
        cli.main(["--config", config, "index"])
    monkeypatch.undo()
    capsys.readouterr()
    assert (milvus_generation(park_kb), folder_generation(park_kb)) == (generation + 1, generation)
    reader = KnowledgeBase(load_config(config), encoder=park_kb.encoder)
    assert "2600余套" in reader.ask("人才公寓有多少套？").answer
    assert "knowledge/talent.txt" in [d.doc for d in reader.documents()]

    (park_kb.config.knowledge_dir / "notice.md").write_text(NOTICE, encoding="utf-8")
    code, _, err = run(capsys, "--config", config, "index")
    assert code == 0 and "2 added" in err, err
    assert "(1 embedded)" in err  # the talent notice's vectors were kept from the crashed run
    assert milvus_generation(park_kb) == folder_generation(park_kb) == generation + 2
    assert_answers_as_the_folder(park_kb, [*UPDATE_QUESTIONS, *PARK_QUESTIONS[:10]])
    code, _, err = run(capsys, "--config", config, "index")
    assert code == 0 and "index already up to date" in err


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_fresh_collection_is_filled_from_the_index_folder_without_embedding(
    capsys, park_kb, milvus_database
):
    """A collection dropped, emptied, or newly named is reloaded whole from the folder."""
    config = park_kb.config.root / "parkqa.yaml"
    generation = folder_generation(park_kb)
    drop_collections(park_kb.config.milvus)
    code, _, err = run(capsys, "--config", str(config), "index")
    assert code == 0 and "(0 embedded)" in err and "already up to date" not in err, err
    assert f"warning: the Milvus collection {park_kb.config.milvus.collection} did not hold" in err
    assert milvus_generation(park_kb) == folder_generation(park_kb) == generation + 1
    text = config.read_text(encoding="utf-8").replace("collection: test", "collection: other")
    config.write_text(text, encoding="utf-8")
    renamed = KnowledgeBase(load_config(config), encoder=park_kb.encoder)
    code, out, err = run(capsys, "--config", str(config), "ask", "阿里巴巴在永川投资了多少钱？")
    assert code == 0 and "3亿元" in out
    assert milvus_generation(renamed) == folder_generation(renamed) == generation + 2
    assert_answers_as_the_folder(renamed, PARK_QUESTIONS[:8])
    drop_collections(renamed.config.milvus)


def reader_config(folder: Path, milvus: MilvusConfig, extra: str = "") -> Path:
    """A config naming only the Milvus index: no knowledge or index folder exists."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "parkqa.yaml"
    path.write_text(
        f"milvus:\n  uri: {milvus.uri}\n  collection: {milvus.collection}\n{extra}",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_reader_needs_no_folder_of_its_own(capsys, park_kb, tmp_path):
    config = reader_config(tmp_path / "reader", park_kb.config.milvus)
    question = "阿里巴巴在永川投资了多少钱？"
    code, out, err = run(capsys, "--config", str(config), "ask", "--json", question)
    assert code == 0 and err == "", err
    assert json.loads(out)["answer"] == park_kb.ask(question).answer
    code, out, err = run(capsys, "--config", str(config), "docs")
    assert code == 0 and out.startswith(f"{PARK_DOC}\t") and err == ""
    reader = KnowledgeBase(load_config(config), encoder=park_kb.encoder)
    assert reader.stats() == park_kb.stats() and not reader.pending_changes()
    assert sorted(p.name for p in (tmp_path / "reader").iterdir()) == ["parkqa.yaml"]


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_reader_before_the_first_index_is_told_where_to_build_it(
    capsys, milvus_section, milvus_database, tmp_path
):
    collection = milvus_section.split("collection: ")[1].strip()
    config = reader_config(tmp_path, MilvusConfig(uri=str(milvus_database), collection=collection))
    code, out, err = run(capsys, "--config", str(config), "ask", "园区有多少家企业？")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
    assert f"no index in the Milvus collection {collection} at {milvus_database} yet" in err
    assert "parkqa index (on the machine that holds the knowledge folder)" in err


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_reader_with_another_encoder_is_refused(capsys, park_kb, tmp_path):
    extra = "embedding:\n  model: builtin:use-multilingual\n"
    config = reader_config(tmp_path / "reader", park_kb.config.milvus, extra)
    code, _, err = run(capsys, "--config", str(config), "ask", "园区有多少家企业？")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "was built with the encoder builtin:e5-small" in err
    assert "but embedding.model is builtin:use-multilingual" in err


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_collection_kept_by_another_index_folder_is_refused_unless_rebuilt(
    capsys, park_kb, tmp_path
):
    milvus = park_kb.config.milvus
    (tmp_path / "other" / "knowledge").mkdir(parents=True)
    (tmp_path / "other" / "knowledge" / "talent.txt").write_text(TALENT, encoding="utf-8")
    other = tmp_path / "other" / "parkqa.yaml"
    other.write_text(
        f"milvus:\n  uri: {milvus.uri}\n  collection: {milvus.collection}\n", encoding="utf-8"
    )
    code, _, err = run(capsys, "--config", str(other), "index")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"is kept by the index in {socket.gethostname()}:{park_kb.config.index_dir}" in err
    assert "take it over with: parkqa index --rebuild" in err

    def cited() -> set[str]:
        return {Path(c.doc).name for c in park_kb.ask("人才公寓有多少套？").citations}

    assert "talent.txt" not in cited()
    code, _, err = run(capsys, "--config", str(other), "index", "--rebuild")
    assert code == 0, err
    assert cited() == {"talent.txt"}
    code, _, err = run(capsys, "--config", str(park_kb.config.root / "parkqa.yaml"), "index")
    assert code == 1 and f"kept by the index in {socket.gethostname()}:" in err


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_collection_of_another_encoder_is_refused_and_replaced_by_a_rebuild(
    capsys, milvus_section, milvus_database, tmp_path
):
    collection = milvus_section.split("collection: ")[1].strip()
    MilvusIndex(MilvusConfig(uri=str(milvus_database), collection=collection), "other-model", 384)
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "talent.txt").write_text(TALENT, encoding="utf-8")
    config = tmp_path / "parkqa.yaml"
    config.write_text(milvus_section, encoding="utf-8")
    code, _, err = run(capsys, "--config", str(config), "index")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"the Milvus collection {collection} was built with the encoder other-model" in err
    assert err.strip().endswith("replace it with: parkqa index --rebuild")
    code, _, err = run(capsys, "--config", str(config), "index", "--rebuild")
    assert code == 0, err
    code, out, _ = run(capsys, "--config", str(config), "ask", "人才公寓有多少套？")
    assert code == 0 and "2600余套" in out


@pytest.mark.parametrize("backend", ["milvus"])
def test_a_server_that_stops_answering_is_named_in_one_line(park_kb):
    milvus = dataclasses.replace(park_kb.config.milvus, uri=f"http://127.0.0.1:{free_port()}")
    kb = KnowledgeBase(dataclasses.replace(park_kb.config, milvus=milvus), park_kb.encoder)
    with pytest.raises(IndexServerError, match="cannot open the Milvus index at http://"):
        kb.ask("园区有多少家企业？")


# Several processes on one `milvus-lite server`: two ask the same questions again and again
# while a third runs `parkqa index` after documents changed.
ASKING = """
import json, sys, time
from pathlib import Path
from parkqa import KnowledgeBase

config, folder, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
questions = json.loads(sys.argv[4])
kb = KnowledgeBase.open(config)
seen, rounds = [], 0
while True:
    stop = (folder / "stop").exists()
    for question in questions:
        answer = kb.ask(question)
        seen.append([question, answer.answer, [c.passage_id for c in answer.citations]])
    rounds += 1
    (folder / f"ready-{name}").touch()
    if stop:
        break
print(json.dumps({"rounds": rounds, "seen": seen}, ensure_ascii=False))
"""
SHARED_QUESTIONS = ["人才公寓有多少套？", "园区什么时候停电检修？", "软件企业房租减免几年？"]


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "no milvus-lite server"
            time.sleep(0.2)


def wait_for(paths: list[Path], processes: list[subprocess.Popen], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not all(path.exists() for path in paths):
        for process in processes:
            assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the readers did not start asking"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_servers_answer_from_one_index_while_a_third_machine_updates_it(encoder, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [Path(sys.executable).with_name("milvus-lite"), "server", "--data-dir"]
        + [str(tmp_path / "milvus"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    section = f"milvus:\n  uri: http://127.0.0.1:{port}\n  collection: shared\n"
    writer = write_knowledge_base(tmp_path / "writer", {"policy.md": POLICY}, section)
    knowledge = tmp_path / "writer" / "knowledge"
    readers = [reader_config(tmp_path / f"reader-{n}", load_config(writer).milvus) for n in (1, 2)]
    script = tmp_path / "asking.py"
    script.write_text(ASKING, encoding="utf-8")
    paths = [str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    processes: list[subprocess.Popen] = []
    try:
        wait_for_port(port, server)
        kb = KnowledgeBase(load_config(writer), encoder=encoder)
        kb.update()
        before = {q: kb.ask(q) for q in SHARED_QUESTIONS}
        for n, config in enumerate(readers, 1):
            command = [sys.executable, str(script), str(config), str(tmp_path), str(n)]
            command.append(json.dumps(SHARED_QUESTIONS, ensure_ascii=False))
            processes.append(
                subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
                )
            )
        wait_for([tmp_path / "ready-1", tmp_path / "ready-2"], processes, 180)
        (knowledge / "talent.txt").write_text(TALENT, encoding="utf-8")
        (knowledge / "notice.md").write_text(NOTICE, encoding="utf-8")
        (knowledge / "policy.md").write_text(POLICY.replace("三年", "五年"), encoding="utf-8")
        index = subprocess.run(
            [sys.executable, "-m", "parkqa", "--config", str(writer), "index"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert index.returncode == 0, index.stderr[-3000:]
        (tmp_path / "stop").touch()
        results = []
        for process in processes:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0 and "Traceback" not in err, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        after = {q: KnowledgeBase(load_config(writer), encoder=encoder).ask(q) for q in before}
    finally:
        for process in processes:
            process.kill()
        server.terminate()
        server.wait(10)
    seen_as = {
        q: {
            "before": [before[q].answer, [c.passage_id for c in before[q].citations]],
            "after": [after[q].answer, [c.passage_id for c in after[q].citations]],
        }
        for q in before
    }
    assert all(s["before"] != s["after"] for s in seen_as.values())
    for result in results:
        assert result["rounds"] >= 2
        states = set()
        for question, answer, citations in result["seen"]:
            matches = [k for k, v in seen_as[question].items() if v == [answer, citations]]
            assert matches, (question, answer, citations)
            states.update(matches)
        assert states == {"before", "after"}
