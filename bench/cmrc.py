"""Turn a SQuAD-format set (CMRC 2018, DRCD) into a parkqa knowledge base: one document per
paragraph, titled by its article."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_SET = DATA_ROOT / "cmrc2018" / "cmrc2018_trial.json"
DRCD_SET = DATA_ROOT / "drcd" / "DRCD_dev.json"
CACHE_ROOT = Path.home() / ".cache" / "parkqa-bench"

_SOURCES = {"cmrc2018_trial.json": "CMRC 2018 trial", "DRCD_dev.json": "DRCD dev"}


@dataclass(frozen=True)
class SquadQuestion:
    """One question of a SQuAD-format set, with the article it was asked about."""

    id: str
    question: str
    answers: tuple[str, ...]
    article: str  # the article's title
    paragraph: str  # the paragraph's id, which is also its document's name


def load_squad(squad_path: Path) -> dict:
    return json.loads(Path(squad_path).read_text(encoding="utf-8"))


def squad_questions(data: dict) -> Iterator[SquadQuestion]:
    """The non-empty questions of a SQuAD-format set, in file order."""
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if not qa["question"].strip():
                    continue
                answers = tuple(
                    dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip())
                )
                yield SquadQuestion(
                    qa["id"], qa["question"], answers, article["title"], paragraph["id"]
                )


def source_name(squad_path: Path) -> str:
    """The set's name as documents' `source` field shows it: 'CMRC 2018 trial', 'DRCD dev'."""
    path = Path(squad_path)
    return _SOURCES.get(path.name, path.stem)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "default"


def default_workdir(squad_path: Path, model: str, root: Path = CACHE_ROOT) -> Path:
    """A persistent folder per data set and embedding model, so the index is built once:
    ~/.cache/parkqa-bench/cmrc2018-trial-e5-small."""
    name = model.split(":", 1)[1] if model.startswith("builtin:") else Path(model).name
    return root / f"{slug(Path(squad_path).stem)}-{slug(name)}"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_knowledge_base(squad_path: Path, root: Path, model: str | None = None) -> Path:
    """Write one Markdown document per paragraph (titled by its article) and a config; return
    the config path. Files already holding the same text are left alone, so rerunning it on a
    kept folder leaves the index up to date."""
    data = load_squad(squad_path)
    source = source_name(squad_path)
    knowledge = root / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    for article in data["data"]:
        title = article["title"].replace('"', "'")
        for paragraph in article["paragraphs"]:
            text = paragraph["context"].strip()
            _write_if_changed(
                knowledge / f"{paragraph['id']}.md",
                f'---\ntitle: "{title}"\nsource: {source}\n---\n{text}\n',
            )
    config = root / "parkqa.yaml"
    lines = ["knowledge_dir: knowledge", "index_dir: index"]
    if model:
        lines += ["embedding:", f"  model: {model}"]
    _write_if_changed(config, "\n".join(lines) + "\n")
    return config


def open_knowledge_base(squad_path: Path, model: str, workdir: Path | None = None):
    """A KnowledgeBase over the set's paragraphs, its index brought up to date (built the first
    time, which with a large encoder takes minutes; progress goes to stderr)."""
    from parkqa import KnowledgeBase, load_config

    workdir = workdir or default_workdir(squad_path, model)
    kb = KnowledgeBase(load_config(write_knowledge_base(squad_path, workdir, model)))

    def progress(done: int, total: int) -> None:
        print(f"\r{workdir.name}: embedded {done}/{total}", end="", file=sys.stderr, flush=True)

    report = kb.update(progress=progress)
    if report.embedded:
        print(file=sys.stderr)
    return kb
