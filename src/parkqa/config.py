"""The configuration file, read once into a validated object."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from parkqa.errors import ConfigError

CONFIG_FILE = "parkqa.yaml"
CONFIG_ENV = "PARKQA_CONFIG"
DEFAULT_MODEL = "builtin:e5-small"


@dataclass(frozen=True)
class EmbeddingConfig:
    model: str = DEFAULT_MODEL
    batch_size: int = 64
    device: str | None = None


@dataclass(frozen=True)
class ChunkingConfig:
    max_chars: int = 300
    overlap_sentences: int = 1


@dataclass(frozen=True)
class RetrievalConfig:
    top_k: int = 5
    candidates: int = 50
    keyword_weight: float = 0.4
    dense_weight: float = 0.6
    evidence_weight: float = 0.0
    fusion: str = "weighted"
    rrf_k: int = 60
    vector_index: str = "flat"
    hnsw_m: int = 32
    ivf_lists: int = 256


@dataclass(frozen=True)
class AnswerConfig:
    max_sentences: int = 3
    max_question_chars: int = 2000
    min_coverage: float = 0.3
    min_dense: float = 0.27
    abstain_below: float | None = None  # this knowledge base's probability threshold


@dataclass(frozen=True)
class GenerationConfig:
    endpoint: str | None = None
    model: str = "local"
    api_key_env: str = "PARKQA_LLM_API_KEY"
    timeout: float = 30.0
    temperature: float = 0.0


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    username: str | None = None
    password: str | None = None
    max_upload_mb: float = 20.0
    title: str = "parkqa"  # the chat page's title
    examples: tuple[str, ...] = ()  # example questions on the chat page


@dataclass(frozen=True)
class Config:
    """Where the knowledge and the index live, and how to chunk, embed, retrieve and answer."""

    root: Path
    knowledge_dir: Path
    index_dir: Path
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    server: ServerConfig = field(default_factory=ServerConfig)

    def relative(self, path: Path) -> str:
        """A path as shown to people: relative to the config file's folder where possible."""
        try:
            return Path(os.path.relpath(path, self.root)).as_posix()
        except ValueError:
            return path.as_posix()


_SECTIONS = {
    "embedding": EmbeddingConfig,
    "chunking": ChunkingConfig,
    "retrieval": RetrievalConfig,
    "answer": AnswerConfig,
    "generation": GenerationConfig,
    "server": ServerConfig,
}
_CHOICES = {
    "retrieval.vector_index": ("flat", "hnsw", "ivf"),
    "retrieval.fusion": ("weighted", "rrf"),
}
_PROBABILITY = {"answer.abstain_below"}
_POSITIVE = {
    "embedding.batch_size",
    "chunking.max_chars",
    "retrieval.top_k",
    "retrieval.candidates",
    "retrieval.hnsw_m",
    "retrieval.ivf_lists",
    "retrieval.rrf_k",
    "answer.max_sentences",
    "answer.max_question_chars",
    "generation.timeout",
    "server.port",
    "server.max_upload_mb",
}


def find_config(explicit: str | os.PathLike | None = None) -> Path:
    """The config file to use: an explicit path, else $PARKQA_CONFIG, else ./parkqa.yaml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / CONFIG_FILE


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a parkqa.yaml; relative paths resolve against its folder."""
    import yaml

    path = find_config(path)
    if not path.is_file():
        raise ConfigError(
            f"config file not found: {path}; create it (see README) or pass --config PATH"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: malformed YAML{where}; fix the syntax") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    return config_from_dict(raw, path.resolve().parent, source=str(path))


def config_from_dict(raw: dict[str, Any], root: Path, source: str = "config") -> Config:
    """Build a Config from a mapping, refusing unknown keys and bad values by name."""
    known = {"knowledge_dir", "index_dir", *_SECTIONS}
    for key in raw:
        if key not in known:
            raise ConfigError(
                f"{source}: unknown key '{key}'; known keys: {', '.join(sorted(known))}"
            )
    root = Path(root)
    dirs = {}
    for key, default in (("knowledge_dir", "knowledge"), ("index_dir", "index")):
        value = raw.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: '{key}' must be a folder path (text)")
        dirs[key] = (root / os.path.expanduser(value)).resolve()
    sections = {}
    for name, cls in _SECTIONS.items():
        value = raw.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{name}' must be a mapping of settings")
        sections[name] = _section(cls, name, value, source)
    return Config(root=root.resolve(), **dirs, **sections)


def _section(cls: type, name: str, values: dict[str, Any], source: str) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    for key in values:
        if key not in names:
            raise ConfigError(
                f"{source}: unknown key '{name}.{key}'; known: {', '.join(sorted(names))}"
            )
    checked = {}
    for key, value in values.items():
        full = f"{name}.{key}"
        checked[key] = _check(full, hints[key], value, source)
        if full in _CHOICES and value not in _CHOICES[full]:
            raise ConfigError(
                f"{source}: '{full}' must be one of {', '.join(_CHOICES[full])}, not {value!r}"
            )
        if full in _PROBABILITY and checked[key] is not None and not 0 <= checked[key] <= 1:
            raise ConfigError(f"{source}: '{full}' must be between 0 and 1, not {value!r}")
        if full in _POSITIVE and checked[key] <= 0:
            raise ConfigError(f"{source}: '{full}' must be greater than 0, not {value!r}")
        if isinstance(checked[key], float) and full.endswith("_weight") and checked[key] < 0:
            raise ConfigError(f"{source}: '{full}' must not be negative")
    return cls(**checked)


def _check(full: str, hint: Any, value: Any, source: str) -> Any:
    text = str(hint)
    optional = "None" in text
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{source}: '{full}' needs a value")
    if "tuple" in text:
        if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
            return tuple(value)
        raise ConfigError(f"{source}: '{full}' must be a list of texts, not {value!r}")
    if "float" in text and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if "int" in text and isinstance(value, int) and not isinstance(value, bool):
        return value
    if "str" in text and isinstance(value, str):
        return value
    wanted = "a number" if "float" in text else "a whole number" if "int" in text else "text"
    raise ConfigError(f"{source}: '{full}' must be {wanted}, not {value!r}")


def with_overrides(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy of config with some section settings replaced (validated like the file)."""
    updated = {}
    for name, values in sections.items():
        current = dataclasses.asdict(getattr(config, name))
        current.update(values)
        updated[name] = _section(_SECTIONS[name], name, current, "override")
    return dataclasses.replace(config, **updated)
