"""Shared fixtures: the real built-in encoder, loaded once, and knowledge bases of their own."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from parkqa import KnowledgeBase, load_config
from parkqa.encoders import E5Encoder

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
PARK_SIDECAR = PARK_ARTICLE.with_name(PARK_ARTICLE.name + ".meta.yaml")
PARK_DOC = "knowledge/yongchuan-big-data-park.txt"


@pytest.fixture(scope="session")
def encoder() -> E5Encoder:
    """The default built-in encoder, loaded once per test session."""
    return E5Encoder()


def write_knowledge_base(root: Path, extra: dict[str, str] | None = None, config: str = "") -> Path:
    """A knowledge folder with the park article (and its sidecar), plus extra documents; returns parkqa.yaml."""
    knowledge = root / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    shutil.copy(PARK_ARTICLE, knowledge / PARK_ARTICLE.name)
    shutil.copy(PARK_SIDECAR, knowledge / PARK_SIDECAR.name)
    for name, text in (extra or {}).items():
        (knowledge / name).write_text(text, encoding="utf-8")
    path = root / "parkqa.yaml"
    path.write_text("knowledge_dir: knowledge\nindex_dir: index\n" + config, encoding="utf-8")
    return path


@pytest.fixture
def make_kb(tmp_path: Path, encoder: E5Encoder) -> Callable[..., KnowledgeBase]:
    """Build a knowledge base of the test's own in tmp_path (not yet indexed)."""

    def make(extra: dict[str, str] | None = None, config: str = "") -> KnowledgeBase:
        return KnowledgeBase(
            load_config(write_knowledge_base(tmp_path, extra, config)), encoder=encoder
        )

    return make


@pytest.fixture(scope="session")
def park_index(tmp_path_factory: pytest.TempPathFactory, encoder: E5Encoder) -> Path:
    """The park article indexed once per session; tests copy it."""
    root = tmp_path_factory.mktemp("park")
    kb = KnowledgeBase(load_config(write_knowledge_base(root)), encoder=encoder)
    kb.update()
    return root


@pytest.fixture
def park_kb(park_index: Path, tmp_path: Path, encoder: E5Encoder) -> KnowledgeBase:
    """An indexed knowledge base holding the park article, in the test's own folder."""
    root = tmp_path / "kb"
    shutil.copytree(park_index, root)
    return KnowledgeBase(load_config(root / "parkqa.yaml"), encoder=encoder)
