"""The index manifest: the settings an index was built with, the segments of its generation
(each with the file of its deleted rows), and a record of every document (content hash,
metadata, how many passages it has and in which segment, and the file's size and modification
time, which tell cheaply whether it changed since it was indexed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 3


@dataclass(frozen=True)
class FileState:
    """A knowledge file's size and modification time, and its sidecar's when it has one."""

    size: int
    mtime_ns: int
    sidecar_size: int | None = None
    sidecar_mtime_ns: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileState:
        return cls(
            size=_whole(data["size"]),
            mtime_ns=_whole(data["mtime_ns"]),
            sidecar_size=_optional_whole(data.get("sidecar_size")),
            sidecar_mtime_ns=_optional_whole(data.get("sidecar_mtime_ns")),
        )


@dataclass(frozen=True)
class DocumentRecord:
    """What the manifest keeps of an indexed document."""

    hash: str  # sha256 of the file and its sidecar
    title: str
    passages: int  # how many passages it has
    segment: str = ""  # the segment that holds them
    date: str | None = None
    source: str | None = None
    tags: tuple[str, ...] = ()
    encoding: str | None = None
    file: FileState | None = None  # None in indexes written before file states were kept

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "tags": list(self.tags),
            "encoding": self.encoding,
            "passages": self.passages,
            "segment": self.segment,
            "file": dataclasses.asdict(self.file) if self.file else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentRecord:
        return cls(
            hash=_text(data["hash"]),
            title=_text(data.get("title") or ""),
            passages=_whole(data["passages"]),
            segment=_text(data["segment"]),
            date=data.get("date"),
            source=data.get("source"),
            tags=tuple(str(tag) for tag in data.get("tags") or ()),
            encoding=data.get("encoding"),
            file=FileState.from_json(data["file"]) if data.get("file") else None,
        )


@dataclass(frozen=True)
class SkippedFile:
    """A knowledge file the index left out (unreadable or unsupported), and why."""

    reason: str
    file: FileState | None  # None when even its size could not be read

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "file": dataclasses.asdict(self.file) if self.file else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SkippedFile:
        file = FileState.from_json(data["file"]) if data.get("file") else None
        return cls(reason=_text(data["reason"]), file=file)


@dataclass(frozen=True)
class IndexSettings:
    """The settings an index depends on: a change to any of them needs a full rebuild."""

    encoder: str
    dimension: int
    chunking: dict[str, int]
    tokenizer: str | None
    vector_index: str | None
    fingerprint: str | None = None  # the model folder's files (encoders.folder_fingerprint)

    def rebuild_reason(self, built: IndexSettings) -> str | None:
        """Why an index built with `built` cannot be updated under these settings, or None."""
        if built.encoder != self.encoder:
            return f"the encoder changed from {built.encoder} to {self.encoder}"
        if built.dimension != self.dimension:
            return "the encoder's dimension changed"
        if not self.same_model(built.fingerprint):
            return f"the model in {self.encoder} changed"
        if built.chunking != self.chunking:
            settings = ("max_chars", "overlap_sentences")
            if all(built.chunking.get(key) == self.chunking.get(key) for key in settings):
                return "this version of parkqa cuts documents into passages differently"
            return "the chunking settings changed"
        if built.tokenizer != self.tokenizer:
            return "the keyword tokenizer changed"
        if built.vector_index != self.vector_index:
            return "the vector index type changed"
        return None

    def same_encoder(self, built: IndexSettings) -> bool:
        """Whether vectors of an index built with `built` are this encoder's."""
        return (
            built.encoder == self.encoder
            and built.dimension == self.dimension
            and self.same_model(built.fingerprint)
        )

    def same_model(self, fingerprint: str | None) -> bool:
        """Whether a model folder's fingerprint is this one's (an index of a version that
        recorded none is taken to be)."""
        return not (fingerprint and self.fingerprint) or fingerprint == self.fingerprint


@dataclass(frozen=True)
class SegmentEntry:
    """A segment of a generation: its name (the stem of its files), its rows, and the file
    naming its deleted rows, written by the generation that deleted them."""

    name: str
    rows: int
    deleted: str | None = None  # file of deleted local rows, None when none is deleted
    deleted_rows: int = 0
    vectors: str | None = None  # its approximate vector index file, None when searched exactly

    @property
    def live(self) -> int:
        return self.rows - self.deleted_rows

    def files(self) -> list[str]:
        """Every file of the segment that this generation reads."""
        names = [f"{self.name}.passages", f"{self.name}.arrays"]
        return names + [name for name in (self.deleted, self.vectors) if name]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentEntry:
        return cls(
            name=_text(data["name"]),
            rows=_whole(data["rows"]),
            deleted=None if data.get("deleted") is None else _text(data["deleted"]),
            deleted_rows=_whole(data.get("deleted_rows", 0)),
            vectors=None if data.get("vectors") is None else _text(data["vectors"]),
        )


@dataclass(frozen=True)
class Manifest:
    """What an index holds and how it was built; `generation` is set when it is written, and
    manifest.json names the committed generation."""

    settings: IndexSettings
    documents: dict[str, DocumentRecord]
    passages: int
    skipped: dict[str, SkippedFile] = field(default_factory=dict)
    built_at: str | None = None
    generation: int = 0
    segments: tuple[SegmentEntry, ...] = ()
    format: int = FORMAT_VERSION

    def files(self) -> set[str]:
        """Every file this generation reads."""
        return {name for segment in self.segments for name in segment.files()}

    def to_json(self) -> dict[str, Any]:
        return {
            "encoder": {
                "name": self.settings.encoder,
                "dimension": self.settings.dimension,
                **({"fingerprint": self.settings.fingerprint} if self.settings.fingerprint else {}),
            },
            "chunking": dict(self.settings.chunking),
            "keywords": {"tokenizer": self.settings.tokenizer},
            "vector_index": self.settings.vector_index,
            "documents": {doc: record.to_json() for doc, record in self.documents.items()},
            "skipped": {doc: skipped.to_json() for doc, skipped in self.skipped.items()},
            "built_at": self.built_at,
            "format": self.format,
            "generation": self.generation,
            "segments": [segment.to_json() for segment in self.segments],
            "passages": self.passages,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """The manifest of a manifest.json; raises KeyError, TypeError or ValueError when a
        value is missing or of the wrong type."""
        encoder = data["encoder"]
        settings = IndexSettings(
            encoder=_text(encoder["name"]),
            dimension=_whole(encoder["dimension"]),
            chunking=dict(data["chunking"]),
            tokenizer=(data.get("keywords") or {}).get("tokenizer"),
            vector_index=data.get("vector_index"),
            fingerprint=encoder.get("fingerprint"),
        )
        return cls(
            settings=settings,
            documents={
                _text(doc): DocumentRecord.from_json(record)
                for doc, record in data["documents"].items()
            },
            passages=_whole(data["passages"]),
            skipped={
                _text(doc): SkippedFile.from_json(skipped)
                for doc, skipped in (data.get("skipped") or {}).items()
            },
            built_at=data.get("built_at"),
            generation=_whole(data["generation"]),
            segments=tuple(SegmentEntry.from_json(entry) for entry in data["segments"]),
            format=_whole(data["format"]),
        )


def _whole(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _optional_whole(value: Any) -> int | None:
    return None if value is None else _whole(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value
