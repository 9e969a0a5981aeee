from __future__ import annotations

import io
import json
import os

import pytest

from conftest import BACKENDS, PARK_DOC
from parkqa import cli

COMMANDS = ["index", "add", "remove", "ask", "eval", "serve", "docs"]


@pytest.fixture(autouse=True)
def shared_encoder(monkeypatch, encoder):
    """Commands run in-process with the session's encoder instead of loading it again."""
    monkeypatch.setattr("parkqa.knowledge_base.make_encoder", lambda config: encoder)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: parkqa {command}" in out and len(out.splitlines()) > 3


def test_top_level_help_lists_the_commands(capsys):
    code, out, _ = run(capsys)
    assert code == 2 and all(command in out for command in COMMANDS)


def test_ask_builds_the_index_on_first_use_and_answers(capsys, tmp_path):
    from conftest import write_knowledge_base

    config = str(write_knowledge_base(tmp_path))
    code, out, err = run(capsys, "--config", config, "ask", "阿里巴巴在永川投资了多少钱？")
    assert code == 0
    assert "1 added" in err
    assert "3亿元" in out.splitlines()[0] and "[1]" in out
    assert f"{PARK_DOC}, lines 1-3" in out and "【" in out  # the answering sentence's lines


def test_ask_json_one_object_per_question(capsys, park_kb):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, _ = run(
        capsys,
        "--config",
        config,
        "ask",
        "--json",
        "-k",
        "2",
        "阿里巴巴在永川投资了多少钱？",
        "特斯拉在永川投资了吗？",
    )
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["abstained"] is False and first["citations"][0]["lines"] == [1, 10]
    assert first["citations"][0]["doc"] == PARK_DOC and len(first["citations"]) == 2
    assert second["abstained"] is True and second["citations"] == [] and second["related"]


def test_ask_reads_questions_from_stdin_as_a_chat(capsys, park_kb, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("阿里巴巴在永川投资了多少钱？\n\n那百度呢？\n"))
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, _ = run(capsys, "--config", config, "ask", "--json", "--chat", "-")
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(answers) == 2
    assert "10亿元" in answers[1]["answer"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_add_and_docs(capsys, park_kb, tmp_path):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, _, err = run(capsys, "--config", config, "index")
    assert code == 0 and "index already up to date" in err
    notice = tmp_path / "notice.md"
    notice.write_text(
        "---\ntitle: 软件企业房租减免\ndate: 2021-03\n---\n永川区对新落户的软件企业给予三年房租减免。\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "--config", config, "add", str(notice))
    assert code == 0 and "copied knowledge/notice.md" in err and "1 added" in err
    code, out, _ = run(capsys, "--config", config, "docs")
    assert "knowledge/notice.md\t软件企业房租减免\t2021-03\t1 passages" in out
    code, out, _ = run(capsys, "--config", config, "ask", "软件企业房租减免几年？")
    assert "三年房租减免" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "x", "--since", "last year"], "--since 'last year' is not a date"),
        (["ask", "x", "--since", "2021", "--until", "2019"], "2021 is after 2019"),
        (["add", "/nonexistent/file.txt"], "no such file"),
        (["eval", "/nonexistent/q.yaml"], "question file not found"),
    ],
)
def test_mistakes_get_one_line_and_exit_1(capsys, park_kb, args, message):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, _, err = run(capsys, "--config", config, *args)
    assert code == 1
    assert err.startswith("parkqa: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unknown_config_key_is_named(capsys, tmp_path):
    path = tmp_path / "parkqa.yaml"
    path.write_text("knowledge_dir: k\nindex_dri: i\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(path), "index")
    assert code == 1 and "unknown key 'index_dri'" in err


def test_eval_prints_the_scores(capsys, park_kb, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "阿里巴巴在永川投资了多少钱？", "answers": ["3亿元"]}\n'
        '{"question": "特斯拉在永川投资了多少钱？", "answers": []}\n',
        encoding="utf-8",
    )
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, _ = run(capsys, "--config", config, "eval", str(questions), "--json")
    scores = json.loads(out)
    assert code == 0
    assert scores["top1"] == 1.0 and scores["answer_hit"] == 1.0
    assert scores["abstention_precision"] == 1.0 and scores["abstention_recall"] == 1.0


def test_ask_does_not_import_torch_or_gradio(park_kb):
    import subprocess
    import sys

    probe = (
        "import sys; from parkqa.cli import main; main(sys.argv[1:]); "
        "print(sorted(m for m in ('torch', 'gradio', 'sentence_transformers') if m in sys.modules))"
    )
    config = str(park_kb.config.root / "parkqa.yaml")
    result = subprocess.run(
        [sys.executable, "-c", probe, "--config", config, "ask", "阿里巴巴在永川投资了多少钱？"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "3亿元" in result.stdout and result.stdout.strip().endswith("[]")


NOTICE = "软件企业房租减免通知\n\n永川区对新落户的软件企业给予三年房租减免。\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_replace_and_remove_from_the_command_line(capsys, park_kb, tmp_path):
    config = str(park_kb.config.root / "parkqa.yaml")
    first = tmp_path / "v1" / "notice.md"
    first.parent.mkdir()
    first.write_text(NOTICE, encoding="utf-8")
    code, _, err = run(capsys, "--config", config, "add", str(first))
    assert code == 0 and "copied knowledge/notice.md" in err

    revised = tmp_path / "v2" / "notice.md"
    revised.parent.mkdir()
    revised.write_text(NOTICE.replace("三年", "五年"), encoding="utf-8")
    code, _, err = run(capsys, "--config", config, "add", str(revised))
    assert code == 1 and err.startswith("parkqa: error: knowledge/notice.md already exists")
    assert "--replace" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "--config", config, "ask", "软件企业房租减免几年？")
    assert "三年房租减免" in out

    code, _, err = run(capsys, "--config", config, "add", "--replace", str(revised))
    assert code == 0 and "replaced knowledge/notice.md" in err and "1 changed" in err
    code, out, _ = run(capsys, "--config", config, "ask", "软件企业房租减免几年？")
    assert "五年房租减免" in out and "三年" not in out

    code, _, err = run(capsys, "--config", config, "remove", "knowledge/notice.md")
    assert code == 0 and "removed knowledge/notice.md" in err and "1 removed" in err
    code, out, _ = run(capsys, "--config", config, "docs")
    assert "notice.md" not in out
    code, out, _ = run(capsys, "--config", config, "ask", "软件企业房租减免几年？")
    assert "房租减免" not in out and "notice.md" not in out

    code, _, err = run(capsys, "--config", config, "remove", "notice.md")
    assert code == 1 and "no such document in the knowledge folder" in err
    assert len(err.strip().splitlines()) == 1


def test_add_a_name_too_long_for_the_file_system_once_copied(capsys, park_kb, tmp_path):
    name = "永川区大数据产业园关于软件和信息服务企业房租减免及人才公寓申请的补充通知" * 3
    source = tmp_path / (name[:83] + ".txt")  # 253 bytes: a valid name, near the limit
    source.write_text(NOTICE, encoding="utf-8")
    config = str(park_kb.config.root / "parkqa.yaml")
    code, _, err = run(capsys, "--config", config, "add", str(source))
    assert code == 0, err
    stored = [p for p in park_kb.config.knowledge_dir.iterdir() if p.name.startswith("永川")]
    assert len(stored) == 1 and stored[0].suffix == ".txt" and len(stored[0].name.encode()) <= 200
    assert f"copied knowledge/{stored[0].name}" in err


def test_file_system_errors_are_one_line(capsys, tmp_path):
    (tmp_path / "blocker").write_text(
        "a file where the knowledge folder should be", encoding="utf-8"
    )
    config = tmp_path / "parkqa.yaml"
    config.write_text("knowledge_dir: blocker/knowledge\nindex_dir: index\n", encoding="utf-8")
    notice = tmp_path / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    code, _, err = run(capsys, "--config", str(config), "add", str(notice))
    assert code == 1 and err.startswith("parkqa: error: notice.txt: cannot store it in ")
    assert "Not a directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_docs_and_ask_tell_of_documents_not_yet_indexed(capsys, park_kb):
    config = str(park_kb.config.root / "parkqa.yaml")
    knowledge = park_kb.config.knowledge_dir
    (knowledge / "notice.txt").write_text(
        "永川区对新落户的软件企业给予三年房租减免。\n", encoding="utf-8"
    )
    article = knowledge / "yongchuan-big-data-park.txt"
    article.write_text(article.read_text(encoding="utf-8") + "\n补充说明。\n", encoding="utf-8")
    code, out, err = run(capsys, "--config", config, "docs")
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith(PARK_DOC) and "changed, not yet indexed" in line for line in lines)
    assert any(
        line.startswith("knowledge/notice.txt") and "new, not yet indexed" in line for line in lines
    )
    note = "2 documents changed since the index was built: run parkqa index"
    assert note in err
    code, out, err = run(
        capsys, "--config", config, "ask", "阿里巴巴在永川投资了多少钱？", "百度投资了多少？"
    )
    assert code == 0 and "3亿元" in out
    assert err.count(note) == 1 and len(err.strip().splitlines()) == 1
    article.unlink()
    code, out, err = run(capsys, "--config", config, "docs")
    assert any(
        line.startswith(PARK_DOC) and "deleted, still in the index" in line
        for line in out.splitlines()
    )
    assert "2 documents changed since the index was built" in err
    assert run(capsys, "--config", config, "index")[0] == 0
    code, out, err = run(capsys, "--config", config, "docs")
    assert "not yet indexed" not in out and "changed since" not in err
    assert out.startswith("knowledge/notice.txt\t")
    code, out, err = run(capsys, "--config", config, "ask", "软件企业房租减免几年？")
    assert "三年" in out and err == ""
    notice = knowledge / "notice.txt"
    times = notice.stat()
    notice.write_text(notice.read_text(encoding="utf-8").replace("三年", "五年"), "utf-8")
    os.utime(notice, ns=(times.st_atime_ns, times.st_mtime_ns))
    code, _, err = run(capsys, "--config", config, "index", "--verify")
    assert code == 0 and "changed  knowledge/notice.txt" in err


def test_version_imports_no_numpy_yaml_or_indexing():
    import subprocess
    import sys

    probe = (
        "import sys, parkqa; from parkqa.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('numpy', 'yaml', 'parkqa.indexing', 'parkqa.knowledge_base', 'parkqa.store')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("parkqa ") and result.stdout.strip().endswith("[]")


DATE_HINT = "is not a date; write YYYY, YYYY-MM or YYYY-MM-DD"


@pytest.mark.parametrize(
    ("option", "value"),
    [("--since", "2020-13"), ("--since", "2020-02-31"), ("--until", "2020-1"), ("--until", "0000")],
)
def test_impossible_dates_are_refused_by_name(capsys, park_kb, option, value):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, err = run(capsys, "--config", config, "ask", option, value, "阿里巴巴投资了多少钱？")
    assert code == 1 and out == ""
    assert err == f"parkqa: error: {option} '{value}' {DATE_HINT}\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_dates_and_known_tags_filter(capsys, park_kb):
    config = str(park_kb.config.root / "parkqa.yaml")
    question = "阿里巴巴在永川投资了多少钱？"
    code, out, _ = run(
        capsys, "--config", config, "ask", "--since", "2020-03-31", "--tag", "招商引资", question
    )
    assert code == 0 and "3亿元" in out


def test_an_unknown_tag_is_named_with_the_known_tags(capsys, park_kb):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, err = run(
        capsys, "--config", config, "ask", "--tag", "招商", "阿里巴巴在永川投资了多少钱？"
    )
    assert code == 1 and out == ""
    assert err == (
        "parkqa: error: unknown tag '招商'; the documents' tags are: "
        "产业政策, 招商引资, 永川大数据产业园\n"
    )


def test_a_value_out_of_range_in_the_config_is_one_line(capsys, park_kb):
    path = park_kb.config.root / "parkqa.yaml"
    path.write_text(path.read_text() + "chunking:\n  overlap_sentences: -3\n", encoding="utf-8")
    before = sorted(p.name for p in park_kb.config.index_dir.iterdir())
    code, _, err = run(capsys, "--config", str(path), "index")
    assert code == 1
    assert err == (
        f"parkqa: error: {path}: 'chunking.overlap_sentences' must be a whole number "
        "from 0 to 10, not -3\n"
    )
    assert sorted(p.name for p in park_kb.config.index_dir.iterdir()) == before


def test_eval_names_the_line_and_column_of_malformed_yaml(capsys, park_kb, tmp_path):
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- question: 阿里巴巴在永川投资了多少钱？\n  answers: [3亿元\n- question: 那百度呢？\n",
        encoding="utf-8",
    )
    config = str(park_kb.config.root / "parkqa.yaml")
    code, _, err = run(capsys, "--config", config, "eval", str(questions))
    assert code == 1
    assert err.startswith(f"parkqa: error: {questions}: malformed YAML at line 3, column 1")
    assert len(err.strip().splitlines()) == 1


def test_eval_names_the_line_and_column_of_malformed_json_lines(capsys, park_kb, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "阿里巴巴在永川投资了多少钱？", "answers": ["3亿元"]}\n'
        '{"question": "那百度呢？", "answers": [10亿元]}\n',
        encoding="utf-8",
    )
    config = str(park_kb.config.root / "parkqa.yaml")
    code, _, err = run(capsys, "--config", config, "eval", str(questions))
    assert code == 1
    assert err.startswith(f"parkqa: error: {questions}: malformed JSON at line 2, column 37")
    assert len(err.strip().splitlines()) == 1


def test_ask_prints_the_answer_and_only_the_passages_it_cites(capsys, park_kb):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, _ = run(capsys, "--config", config, "ask", "百度在永川投资了多少钱？")
    assert code == 0
    answer, blank, *sources = out.rstrip("\n").splitlines()
    assert "10亿元" in answer and answer.endswith("[1]") and blank == ""
    assert len(sources) == 3, out  # one source: title, file and lines, the answering sentence
    title, where, quote = sources
    assert title.startswith("[1] 中国互联网前三企业已有两家落地")
    assert where.strip() == f"{PARK_DOC}, lines 5-7"
    assert quote.strip().startswith("… 【而在今年3月9日") and quote.strip().endswith("】 …")
    assert "阿里巴巴集团" not in out  # the rest of the passage is left out


def test_ask_lists_more_sources_when_asked(capsys, park_kb):
    config = str(park_kb.config.root / "parkqa.yaml")
    code, out, _ = run(capsys, "--config", config, "ask", "-k", "3", "百度在永川投资了多少钱？")
    assert code == 0 and [line[:3] for line in out.splitlines() if line[:1] == "["] == [
        "[1]",
        "[2]",
        "[3]",
    ]
    code, out, _ = run(capsys, "--config", config, "ask", "--sources", "百度在永川投资了多少钱？")
    assert code == 0 and out.count(f"{PARK_DOC}, lines") == 5
    assert f"{PARK_DOC}, lines 1-10" in out  # the whole passage, its sentence marked
    assert "阿里巴巴集团" in out and "【而在今年3月9日" in out


@pytest.mark.parametrize("port", ["0", "65536", "70000"])
def test_serve_refuses_a_port_out_of_range(capsys, port):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--port", port])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"'{port}' is not a port; use a number from 1 to 65535" in err


@pytest.mark.parametrize("command", [["docs"], ["index"], ["ask", "园区有多少家企业？"]])
def test_an_index_dir_that_is_a_file_is_named(capsys, tmp_path, command):
    from conftest import write_knowledge_base

    config = write_knowledge_base(tmp_path)
    config.write_text("knowledge_dir: knowledge\nindex_dir: parkqa.yaml\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(config), *command)
    assert code == 1 and "Traceback" not in err
    assert "index_dir" in err and "is not a folder" in err and len(err.splitlines()) == 1
    assert config.read_text(encoding="utf-8").startswith("knowledge_dir: knowledge\n")


def test_add_reports_sidecars_every_refused_file_and_folders(capsys, park_kb, tmp_path):
    config = str(park_kb.config.root / "parkqa.yaml")
    knowledge = park_kb.config.knowledge_dir
    (tmp_path / "sc").mkdir()
    room = tmp_path / "sc" / "room.txt"
    room.write_text(NOTICE, encoding="utf-8")
    (tmp_path / "sc" / "room.txt.meta.yaml").write_text("title: 房租通知\ndate: 2024-05\n", "utf-8")
    code, _, err = run(capsys, "--config", config, "add", str(room))
    assert code == 0 and "copied knowledge/room.txt with its metadata room.txt.meta.yaml" in err
    code, out, _ = run(capsys, "--config", config, "docs")
    assert "knowledge/room.txt\t房租通知\t2024-05" in out

    bare = tmp_path / "v2" / "room.txt"
    bare.parent.mkdir()
    bare.write_text(NOTICE.replace("三年", "五年"), encoding="utf-8")
    code, _, err = run(capsys, "--config", config, "add", "--replace", str(bare))
    assert code == 0 and "replaced knowledge/room.txt; removed its old metadata" in err
    assert not (knowledge / "room.txt.meta.yaml").exists()

    empty = tmp_path / "outline.md"
    empty.write_text("# 标题\n\n## 小节\n", encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text(NOTICE, encoding="utf-8")
    code, _, err = run(
        capsys, "--config", config, "add", str(good), str(tmp_path / "sc"), str(empty)
    )
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2 and all(x.startswith("parkqa: error: ") for x in lines)
    assert "sc: is a folder" in lines[0] and "outline.md: no text found" in lines[1]
    assert not (knowledge / "good.txt").exists()


def test_remove_while_busy_keeps_the_file_and_docs_lists_skipped_files(capsys, park_kb):
    from parkqa.store import index_lock

    config = str(park_kb.config.root / "parkqa.yaml")
    knowledge = park_kb.config.knowledge_dir
    (knowledge / "outline.md").write_text("# 标题\n\n## 小节\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", config, "index")
    code, out, _ = run(capsys, "--config", config, "docs")
    assert "knowledge/outline.md\t-\t-\t0 passages\t(skipped: knowledge/outline.md: no text" in out

    code, _, err = run(capsys, "--config", config, "remove", "yongchuan-big-data-park.txt")
    assert code == 1 and "cannot remove every document" in err
    assert (knowledge / "yongchuan-big-data-park.txt").is_file()
    with index_lock(park_kb.config.index_dir):
        code, _, err = run(capsys, "--config", config, "remove", "outline.md")
    assert code == 1 and "another parkqa is updating" in err
    assert (knowledge / "outline.md").is_file()
