from __future__ import annotations

from pathlib import Path

import pytest

from parkqa.config import load_config, with_overrides
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
    assert config.retrieval.vector_index == "auto"


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


def test_an_unquoted_date_is_text_where_text_is_wanted(tmp_path):
    config = load_config(
        write(tmp_path, "server:\n  title: 2020-02-30\n  examples: [2021-01-02]\n")
    )
    assert config.server.title == "2020-02-30"
    assert config.server.examples == ("2021-01-02",)


def test_fewer_candidates_than_top_k_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="candidates .*1.* top_k .*8"):
        load_config(write(tmp_path, "retrieval:\n  candidates: 1\n  top_k: 8\n"))
    assert load_config(write(tmp_path, "retrieval:\n  candidates: 8\n  top_k: 8\n"))


def test_malformed_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="malformed YAML at line 2"):
        load_config(write(tmp_path, "knowledge_dir: k\n  - : [\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_environment_variable_picks_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "knowledge_dir: elsewhere\n")
    monkeypatch.setenv("PARKQA_CONFIG", str(path))
    assert load_config().knowledge_dir.name == "elsewhere"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "chunking:\n  overlap_sentences: -3\n",
            ("'chunking.overlap_sentences'", "from 0 to 10", "-3"),
        ),
        ("answer:\n  min_coverage: 30\n", ("'answer.min_coverage'", "from 0 to 1", "30")),
        ("answer:\n  min_dense: -0.2\n", ("'answer.min_dense'", "from 0 to 1", "-0.2")),
        ("answer:\n  abstain_below: 2\n", ("'answer.abstain_below'", "from 0 to 1", "2")),
        ("retrieval:\n  keyword_weight: -1\n", ("'retrieval.keyword_weight'", "from 0 to 1", "-1")),
        ("retrieval:\n  top_k: 500\n", ("'retrieval.top_k'", "from 1 to 50", "500")),
        ("retrieval:\n  top_k: true\n", ("'retrieval.top_k'", "whole number", "True")),
        ("retrieval:\n  fusion: max\n", ("'retrieval.fusion'", "one of weighted, rrf", "'max'")),
        ("generation:\n  timeout: 0\n", ("'generation.timeout'", "greater than 0", "0")),
        ("generation:\n  temperature: .nan\n", ("'generation.temperature'", "from 0 to 2", "nan")),
        ("server:\n  port: 70000\n", ("'server.port'", "from 1 to 65535", "70000")),
        ("server:\n  examples: [问题, 3]\n", ("'server.examples'", "list of questions", "3")),
        ("server:\n  title: ''\n", ("'server.title'", "text", "''")),
        ("index_dir: ''\n", ("'index_dir'", "folder path", "''")),
    ],
)
def test_values_out_of_range_are_named_with_the_allowed_range(tmp_path, text, words):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "parkqa.yaml"))
    for word in words:
        assert word in message, message


def number_keys() -> list[str]:
    config = load_config(Path(__file__).resolve().parents[1] / "parkqa.yaml")
    return [
        f"{section}.{name}"
        for section in ("embedding", "chunking", "retrieval", "answer", "generation", "server")
        for name, value in vars(getattr(config, section)).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


@pytest.mark.parametrize("key", number_keys())
def test_every_number_refuses_negative_values_and_other_types(tmp_path, key):
    section, name = key.split(".")
    for value in ("-1", "[1]", "'1'"):
        with pytest.raises(ConfigError, match=f"'{section}\\.{name}' must be"):
            load_config(write(tmp_path, f"{section}:\n  {name}: {value}\n"))


def test_defaults_are_within_range_and_empty_sections_are_defaults(tmp_path):
    config = load_config(write(tmp_path, "retrieval:\nanswer:\n  abstain_below: null\n"))
    assert config.retrieval.top_k == 5 and config.answer.abstain_below is None
    config = load_config(write(tmp_path, "answer:\n  min_coverage: 1\nserver:\n  examples: [a]\n"))
    assert config.answer.min_coverage == 1.0 and isinstance(config.answer.min_coverage, float)
    assert config.server.examples == ("a",)


def test_both_fusion_weights_at_zero_are_refused(tmp_path):
    text = "retrieval:\n  keyword_weight: 0\n  dense_weight: 0\n"
    with pytest.raises(ConfigError, match="keyword_weight.*dense_weight.*greater than 0"):
        load_config(write(tmp_path, text))


def test_overrides_are_checked_like_the_file(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert with_overrides(config, retrieval={"top_k": 3}).retrieval.top_k == 3
    with pytest.raises(
        ConfigError, match=r"'retrieval\.top_k' must be a whole number from 1 to 50"
    ):
        with_overrides(config, retrieval={"top_k": 0})


def test_malformed_yaml_gives_line_and_column(tmp_path):
    with pytest.raises(ConfigError, match="malformed YAML at line 2, column 5"):
        load_config(write(tmp_path, "knowledge_dir: k\n  - : [\n"))


def test_without_a_milvus_section_the_index_is_the_folder(tmp_path):
    assert load_config(write(tmp_path, "knowledge_dir: k\n")).milvus is None


def test_a_milvus_section_names_the_index_and_a_local_path_resolves_against_the_file(tmp_path):
    config = load_config(write(tmp_path, "milvus:\n  uri: data/kb.db\n"))
    assert config.milvus.uri == str((tmp_path / "data" / "kb.db").resolve())
    assert (config.milvus.token, config.milvus.collection) == ("", "parkqa")
    assert config.milvus.is_local
    text = "milvus:\n  uri: http://10.0.0.5:19530\n  token: root:Milvus\n  collection: park_kb\n"
    server = load_config(write(tmp_path, text)).milvus
    assert (server.uri, server.token, server.collection) == (
        "http://10.0.0.5:19530",
        "root:Milvus",
        "park_kb",
    )
    assert not server.is_local


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("milvus:\n", "'milvus.uri' is missing; set it to a local path ending in .db"),
        ("milvus:\n  uri: kb.db\n  colection: kb\n", "unknown key 'milvus.colection'"),
        ("milvus:\n  uri: 19530\n", "'milvus.uri' must be a local path ending in .db"),
        ("milvus:\n  uri: data/milvus\n", "'milvus.uri' .*data/milvus is neither a local path"),
        ("milvus:\n  uri: kb.db\n  token: 5\n", "'milvus.token' must be"),
        ("milvus:\n  uri: kb.db\n  collection: 2kb\n", "'milvus.collection' must be a name of"),
        ("milvus: kb.db\n", "'milvus' must be a mapping of settings"),
    ],
)
def test_a_bad_milvus_section_is_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_config(write(tmp_path, text))
    assert len(str(error.value).splitlines()) == 1


def test_a_milvus_section_without_pymilvus_says_how_to_install_it(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pymilvus" else real(name)
    )
    with pytest.raises(ConfigError, match=r"needs pymilvus; .*pip install 'parkqa\[milvus\]'"):
        load_config(write(tmp_path, "milvus:\n  uri: http://127.0.0.1:19530\n"))
