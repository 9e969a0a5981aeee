from __future__ import annotations

import io
import json

import pytest

from conftest import PARK_DOC
from parkqa import cli

COMMANDS = ["index", "add", "ask", "eval", "serve", "docs"]


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
    assert f"{PARK_DOC}, lines 1-10" in out and "【" in out


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
