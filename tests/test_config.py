from __future__ import annotations

from pathlib import Path

import pytest

from parkqa.config import load_config
from parkqa.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "parkqa.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_two_keys_are_enough_and_paths_resolve_against_the_file(tmp_path):
    config = load_config(write(tmp_path, "knowledge_dir: docs\nindex_dir: out/index\n"))
    assert config.knowledge_dir == (tmp_path / "docs").resolve()
    assert config.index_dir == (tmp_path / "out" / "index").resolve()
    assert config.embedding.model == "builtin:e5-small"
    assert config.chunking.max_chars == 300


def test_the_repository_default_config_loads():
    config = load_config(Path(__file__).resolve().parents[1] / "parkqa.yaml")
    assert config.retrieval.vector_index == "flat"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("knowledge_dir: k\nindx_dir: i\n", "indx_dir"),
        ("chunking:\n  max_chars: many\n", "chunking.max_chars"),
        ("chunking:\n  max_char: 3\n", "chunking.max_char"),
        ("retrieval:\n  vector_index: annoy\n", "retrieval.vector_index"),
        ("retrieval:\n  top_k: 0\n", "retrieval.top_k"),
        ("embedding: builtin\n", "embedding"),
    ],
)
def test_bad_keys_and_values_are_named(tmp_path, text, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(write(tmp_path, text))


def test_malformed_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="malformed YAML at line 2"):
        load_config(write(tmp_path, "knowledge_dir: k\n  - : [\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_environment_variable_picks_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "knowledge_dir: elsewhere\n")
    monkeypatch.setenv("PARKQA_CONFIG", str(path))
    assert load_config().knowledge_dir.name == "elsewhere"
