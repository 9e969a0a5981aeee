"""The configuration file, read once into a validated object."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import ConfigDict, Field, ValidationError, model_validator
from pydantic import dataclasses as checked
from pydantic.fields import FieldInfo

from parkqa.errors import ConfigError
from parkqa.yaml_reading import read_yaml

CONFIG_FILE = "parkqa.yaml"
CONFIG_ENV = "PARKQA_CONFIG"
DEFAULT_MODEL = "builtin:e5-small"

# Settings are checked as pydantic dataclasses: no conversion between types (YAML already
# types its values; a whole number is accepted where a number is wanted), no unknown keys,
# and each number within the range given by its Field.
_SETTINGS = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_TEXT = r"\S"  # text with something in it


@checked.dataclass(frozen=True, config=_SETTINGS)
class EmbeddingConfig:
    model: str = Field(DEFAULT_MODEL, pattern=_TEXT)
    batch_size: int = Field(64, ge=1, le=4096)
    device: str | None = Field(None, pattern=_TEXT)


@checked.dataclass(frozen=True, config=_SETTINGS)
class ChunkingConfig:
    max_chars: int = Field(300, ge=20, le=10_000)
    overlap_sentences: int = Field(1, ge=0, le=10)


@checked.dataclass(frozen=True, config=_SETTINGS)
class RetrievalConfig:
    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(50, ge=1, le=10_000)
    keyword_weight: float = Field(0.4, ge=0, le=1)
    dense_weight: float = Field(0.6, ge=0, le=1)
    evidence_weight: float = Field(0.0, ge=0, le=1)
    fusion: Literal["weighted", "rrf"] = "weighted"
    rrf_k: int = Field(60, ge=1, le=1000)
    vector_index: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    exact_below: int = Field(10_000, ge=1)  # auto: segments this large search inverted lists
    hnsw_m: int = Field(32, ge=2, le=256)
    ivf_lists: int = Field(256, ge=1, le=65_536)
    mapped_memory_mb: int | None = Field(1024, ge=0)  # index pages a process keeps mapped

    @model_validator(mode="after")
    def _some_weight(self) -> RetrievalConfig:
        if not (self.keyword_weight or self.dense_weight):
            raise ValueError(
                "keyword_weight and dense_weight are both 0; make one of them greater than 0"
            )
        return self

    @model_validator(mode="after")
    def _enough_candidates(self) -> RetrievalConfig:
        if self.candidates < self.top_k:
            raise ValueError(
                f"candidates ({self.candidates}) is fewer than top_k ({self.top_k}); "
                "make candidates at least top_k"
            )
        return self


@checked.dataclass(frozen=True, config=_SETTINGS)
class AnswerConfig:
    max_sentences: int = Field(3, ge=1, le=20)
    max_question_chars: int = Field(2000, ge=10, le=20_000)
    min_coverage: float = Field(0.3, ge=0, le=1)
    min_dense: float = Field(0.27, ge=0, le=1)
    abstain_below: float | None = Field(None, ge=0, le=1)  # this knowledge base's threshold


@checked.dataclass(frozen=True, config=_SETTINGS)
class GenerationConfig:
    endpoint: str | None = Field(
        None, pattern=r"^https?://\S+$", description="an http:// or https:// address"
    )
    model: str = Field("local", pattern=_TEXT)
    api_key_env: str = Field("PARKQA_LLM_API_KEY", pattern=_TEXT)
    timeout: float = Field(30.0, gt=0, le=3600)
    temperature: float = Field(0.0, ge=0, le=2)


@checked.dataclass(frozen=True, config=_SETTINGS)
class ServerConfig:
    host: str = Field("127.0.0.1", pattern=_TEXT)
    port: int = Field(7860, ge=1, le=65_535)
    username: str | None = Field(None, pattern=_TEXT)
    password: str | None = Field(None, pattern=_TEXT)
    max_upload_mb: float = Field(20.0, gt=0, le=10_000)
    title: str = Field("parkqa", pattern=_TEXT)  # the chat page's title
    examples: tuple[Annotated[str, Field(pattern=_TEXT)], ...] = Field(
        (), strict=False, description="a list of questions (texts)"
    )  # example questions on the chat page
    language: Literal["zh", "en"] = "zh"  # the chat page's language: Chinese or English


MILVUS_INSTALL_HINT = "install it with: pip install 'parkqa[milvus]'"


@checked.dataclass(frozen=True, config=_SETTINGS)
class MilvusConfig:
    """Where the index lives when it is kept in Milvus: a local path ending in .db (embedded
    Milvus Lite, one process) or http://host:19530 (a Milvus server, Milvus Lite's
    `milvus-lite server`, or a cluster); `collection` names its collections."""

    uri: str = Field(
        pattern=r"^\S(.*\S)?$",
        description="a local path ending in .db or a server address such as http://host:19530",
    )
    token: str = ""
    collection: str = Field(
        "parkqa",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$",
        description="a name of letters, digits and underscores, not starting with a digit",
    )

    @property
    def is_local(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "tcp://", "unix:"))


@checked.dataclass(frozen=True, config=_SETTINGS)
class _Folders:
    knowledge_dir: str = Field("knowledge", pattern=_TEXT, description="a folder path (text)")
    index_dir: str = Field("index", pattern=_TEXT, description="a folder path (text)")


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
    milvus: MilvusConfig | None = None  # None: the index is the folder index_dir

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


def find_config(explicit: str | os.PathLike | None = None) -> Path:
    """The config file to use: an explicit path, else $PARKQA_CONFIG, else ./parkqa.yaml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / CONFIG_FILE


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a parkqa.yaml; relative paths resolve against its folder."""
    path = find_config(path)
    if not path.is_file():
        raise ConfigError(
            f"config file not found: {path}; create it (see README) or pass --config PATH"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    raw = read_yaml(text, str(path), error=ConfigError)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    return config_from_dict(raw, path.resolve().parent, source=str(path))


def config_from_dict(raw: dict[str, Any], root: Path, source: str = "config") -> Config:
    """Build a Config from a mapping, refusing unknown keys and bad values by name."""
    known = [*_Folders.__pydantic_fields__, *_SECTIONS, "milvus"]
    for key in raw:
        if key not in known:
            raise ConfigError(
                f"{source}: unknown key '{key}'; known keys: {', '.join(sorted(known))}"
            )
    root = Path(root)
    folder_keys = _Folders.__pydantic_fields__
    folders = _checked(_Folders, {k: v for k, v in raw.items() if k in folder_keys}, "", source)
    dirs = {
        key: (root / os.path.expanduser(getattr(folders, key))).resolve()
        for key in _Folders.__pydantic_fields__
    }
    for key, folder in dirs.items():
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{source}: {key} {folder} is not a folder; set {key} to a folder")
    sections = {}
    for name, cls in _SECTIONS.items():
        value = raw.get(name)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{name}' must be a mapping of settings, not {value!r}")
        sections[name] = _checked(cls, value, f"{name}.", source)
    milvus = _milvus_section(raw["milvus"], root, source) if "milvus" in raw else None
    return Config(root=root.resolve(), **dirs, **sections, milvus=milvus)


def _milvus_section(value: Any, root: Path, source: str) -> MilvusConfig:
    """The milvus section, its local path resolved against the config's folder; refused at
    once when the packages it needs are not installed."""
    import importlib.util

    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: 'milvus' must be a mapping of settings, not {value!r}")
    milvus = _checked(MilvusConfig, value, "milvus.", source)
    if importlib.util.find_spec("pymilvus") is None:
        raise ConfigError(f"{source}: the milvus section needs pymilvus; {MILVUS_INSTALL_HINT}")
    if not milvus.is_local:
        return milvus
    if not milvus.uri.endswith(".db"):
        raise ConfigError(
            f"{source}: 'milvus.uri' {milvus.uri} is neither a local path ending in .db "
            "(embedded Milvus Lite) nor a server address such as http://127.0.0.1:19530"
        )
    if importlib.util.find_spec("milvus_lite") is None:
        raise ConfigError(f"{source}: a local milvus.uri needs milvus-lite; {MILVUS_INSTALL_HINT}")
    path = (Path(root) / os.path.expanduser(milvus.uri)).resolve()
    return dataclasses.replace(milvus, uri=str(path))


def with_overrides(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy of config with some section settings replaced (validated like the file)."""
    updated = {}
    for name, values in sections.items():
        current = dataclasses.asdict(getattr(config, name))
        current.update(values)
        updated[name] = _checked(_SECTIONS[name], current, f"{name}.", "override")
    return dataclasses.replace(config, **updated)


def _checked(cls: type, values: dict[Any, Any], prefix: str, source: str) -> Any:
    """cls(**values), with the first thing pydantic refuses said in one line: the key, the
    value and what the key accepts."""
    fields = cls.__pydantic_fields__
    for key in values:
        if key not in fields:
            raise ConfigError(
                f"{source}: unknown key '{prefix}{key}'; known keys: {', '.join(sorted(fields))}"
            )
    try:
        return cls(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        keys = [part for part in error["loc"] if isinstance(part, str)]
        if not keys:  # a check across settings
            message = f"in '{prefix.rstrip('.')}', {error['ctx']['error']}"
        elif keys[0] not in values:
            message = f"'{prefix}{keys[0]}' is missing; set it to {_allowed(fields[keys[0]])}"
        else:
            key = keys[0]
            message = f"'{prefix}{key}' must be {_allowed(fields[key])}, not {values[key]!r}"
        raise ConfigError(f"{source}: {message}") from None


def _allowed(info: FieldInfo) -> str:
    """What a setting accepts, in words: its kind, its range, and whether it may be null."""
    kind = info.annotation
    optional = type(None) in get_args(kind)
    if optional:
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    if info.description:
        words = info.description
    elif get_origin(kind) is Literal:
        words = "one of " + ", ".join(get_args(kind))
    elif kind is int:
        words = "a whole number" + _range(info.metadata)
    elif kind is float:
        words = "a number" + _range(info.metadata)
    else:
        words = "non-empty text"
    return words + (" (or null)" if optional else "")


def _range(metadata: list[Any]) -> str:
    limits = {
        name: getattr(item, name)
        for item in metadata
        for name in ("ge", "gt", "le")
        if getattr(item, name, None) is not None
    }
    if "ge" in limits and "le" in limits:
        return f" from {_number(limits['ge'])} to {_number(limits['le'])}"
    parts = []
    if "gt" in limits:
        parts.append(f"greater than {_number(limits['gt'])}")
    if "ge" in limits:
        parts.append(f"{_number(limits['ge'])} or more")
    if "le" in limits:
        parts.append(f"at most {_number(limits['le'])}")
    return " " + " and ".join(parts) if parts else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
