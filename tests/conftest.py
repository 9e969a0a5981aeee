"""Shared fixtures: the real built-in encoder, loaded once, and knowledge bases of their own."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from parkqa import KnowledgeBase, load_config
from parkqa.encoders import E5Encoder
from parkqa.passages import Passage, Sentence, split_sentences
from parkqa.retrieval import Hit

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
PARK_SIDECAR = PARK_ARTICLE.with_name(PARK_ARTICLE.name + ".meta.yaml")
PARK_DOC = "knowledge/yongchuan-big-data-park.txt"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fail-on-skip",
        action="store_true",
        help="fail the run if any test is skipped (where everything the tests need is installed)",
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With --fail-on-skip, a skipped test fails an otherwise passing run."""
    failing = session.config.getoption("--fail-on-skip") and _skipped(session.config)
    if failing and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = _skipped(config)
    if config.getoption("--fail-on-skip") and skipped:
        terminalreporter.write_line(
            f"--fail-on-skip: {len(skipped)} skipped, and every test should run here; "
            "install what the skip reason names or fix the test",
            red=True,
        )


def _skipped(config: pytest.Config) -> list:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.stats.get("skipped", []) if reporter is not None else []


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


# The index backends that end-to-end tests run against: a test takes `backend` as a parameter
# (@pytest.mark.parametrize("backend", BACKENDS)) and make_kb and park_kb follow it.
BACKENDS = ("file", "milvus")
_collections = itertools.count()


@pytest.fixture
def backend() -> str:
    """The index backend of make_kb and park_kb: the index folder unless a test says milvus."""
    return "file"


@pytest.fixture(scope="session")
def milvus_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded Milvus Lite database for the session's tests, each with collections of
    its own (an embedded database stays open until the process exits)."""
    return tmp_path_factory.mktemp("milvus") / "tests.db"


@pytest.fixture
def milvus_section(backend: str, milvus_database: Path) -> Iterator[str]:
    """The config's milvus section for the test's backend ("" for the index folder): a
    collection of the test's own, dropped afterwards."""
    if backend != "milvus":
        yield ""
        return
    from parkqa.config import MilvusConfig
    from parkqa.milvus_index import drop_collections

    collection = f"test{next(_collections)}"
    yield f"milvus:\n  uri: {milvus_database}\n  collection: {collection}\n"
    drop_collections(MilvusConfig(uri=str(milvus_database), collection=collection))


@pytest.fixture
def make_kb(
    tmp_path: Path, encoder: E5Encoder, milvus_section: str
) -> Callable[..., KnowledgeBase]:
    """Build a knowledge base of the test's own in tmp_path (not yet indexed), on the test's
    backend."""

    def make(extra: dict[str, str] | None = None, config: str = "") -> KnowledgeBase:
        path = write_knowledge_base(tmp_path, extra, config + milvus_section)
        return KnowledgeBase(load_config(path), encoder=encoder)

    return make


@pytest.fixture(scope="session")
def park_index(tmp_path_factory: pytest.TempPathFactory, encoder: E5Encoder) -> Path:
    """The park article indexed once per session; tests copy it."""
    root = tmp_path_factory.mktemp("park")
    kb = KnowledgeBase(load_config(write_knowledge_base(root)), encoder=encoder)
    kb.update()
    return root


def copied_park_kb(
    park_index: Path, root: Path, encoder: E5Encoder, config: str = ""
) -> KnowledgeBase:
    """The indexed park knowledge base copied to root (nothing embedded), with config lines
    added to its parkqa.yaml."""
    shutil.copytree(park_index, root)
    with (root / "parkqa.yaml").open("a", encoding="utf-8") as handle:
        handle.write(config)
    return KnowledgeBase(load_config(root / "parkqa.yaml"), encoder=encoder)


@pytest.fixture
def repo_park_kb(park_index: Path, tmp_path: Path, encoder: E5Encoder) -> KnowledgeBase:
    """The park knowledge base with the project's own configuration: its knowledge base's
    abstention threshold."""
    threshold = load_config(REPO / "parkqa.yaml").answer.abstain_below
    config = f"answer:\n  abstain_below: {threshold}\n"
    return copied_park_kb(park_index, tmp_path / "kb", encoder, config)


@pytest.fixture
def park_kb(
    park_index: Path, tmp_path: Path, encoder: E5Encoder, milvus_section: str
) -> KnowledgeBase:
    """An indexed knowledge base holding the park article, in the test's own folder, on the
    test's backend (Milvus is filled from the copied index folder, embedding nothing)."""
    root = tmp_path / "kb"
    shutil.copytree(park_index, root)
    if milvus_section:
        with (root / "parkqa.yaml").open("a", encoding="utf-8") as config:
            config.write(milvus_section)
    kb = KnowledgeBase(load_config(root / "parkqa.yaml"), encoder=encoder)
    if milvus_section:
        kb.update()
    return kb


def make_passage(
    text: str, title: str = "园区动态", doc: str = "knowledge/news.txt", first_line: int = 1
) -> Passage:
    """A passage written for a test: one sentence per source line, from first_line on."""
    spans = split_sentences(text)
    sentences = tuple(
        Sentence(start, end, first_line + n, first_line + n) for n, (start, end) in enumerate(spans)
    )
    return Passage(
        id=f"{doc}:{first_line}",
        doc=doc,
        title=title,
        section="",
        line_start=first_line,
        line_end=first_line + len(spans) - 1,
        char_start=0,
        char_end=len(text),
        text=text,
        sentences=sentences,
    )


def make_hit(passage: Passage, similarities: tuple[float, ...] = (), score: float = 0.0) -> Hit:
    """A retrieved passage with the given cosine of each of its sentences to the question."""
    return Hit(
        passage=passage,
        row=0,
        score=score,
        keyword=0.0,
        dense=max(similarities, default=0.0),
        evidence=0.0,
        similarities=similarities,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(config: Path, cwd: Path) -> Iterator[str]:
    """`parkqa serve` from this interpreter on a free port, run until the port answers;
    yields its URL and stops it afterwards. Its output goes to cwd/serve.log."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("PARKQA_USERNAME", None)
    env.pop("PARKQA_PASSWORD", None)
    command = [sys.executable, "-m", "parkqa", "--config", str(config), "serve"]
    with (cwd / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    pytest.fail(f"parkqa serve exited: {(cwd / 'serve.log').read_text()[-2000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("parkqa serve did not open its port within 120 s")
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
