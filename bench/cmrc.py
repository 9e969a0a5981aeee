"""Turn the CMRC 2018 trial set into a parkqa knowledge base: one document per paragraph."""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_SET = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "cmrc2018" / "cmrc2018_trial.json"
)


def write_knowledge_base(squad_path: Path, root: Path, model: str | None = None) -> Path:
    """Write one Markdown document per paragraph (titled by its article) and a config; return the config path."""
    data = json.loads(Path(squad_path).read_text(encoding="utf-8"))
    knowledge = root / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            title = article["title"].replace('"', "'")
            text = paragraph["context"].strip()
            (knowledge / f"{paragraph['id']}.md").write_text(
                f'---\ntitle: "{title}"\nsource: CMRC 2018 trial\n---\n{text}\n', encoding="utf-8"
            )
    config = root / "parkqa.yaml"
    lines = ["knowledge_dir: knowledge", "index_dir: index"]
    if model:
        lines += ["embedding:", f"  model: {model}"]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config
