"""Bring the index up to date with the knowledge folder, embedding only what changed."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from parkqa.cleaning import clean_lines
from parkqa.config import Config
from parkqa.documents import SUPPORTED_SUFFIXES, content_hash, knowledge_files, read_document
from parkqa.encoders import Encoder, Progress
from parkqa.errors import ConfigError, DocumentError, IndexCorruptError
from parkqa.keywords import TOKENIZER_VERSION, KeywordIndex, tokenize
from parkqa.passages import Passage, make_passages
from parkqa.store import index_lock, load_index, read_manifest, write_generation
from parkqa.vectors import build_vector_index

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexReport:
    """What an index update did."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    passages: int = 0
    embedded: int = 0
    seconds: float = 0.0
    rebuilt_because: str | None = None
    written: bool = False

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.changed)} changed",
            f"{len(self.removed)} removed",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        text = (
            f"documents: {', '.join(parts)}; passages: {self.passages} "
            f"({self.embedded} embedded); {self.seconds:.1f} s"
        )
        if not self.written:
            text += "; index already up to date"
        return text


def index_settings(config: Config, encoder: Encoder) -> dict[str, Any]:
    """The settings an index depends on: a change to any of them needs a full rebuild."""
    return {
        "encoder": {"name": encoder.name, "dimension": int(encoder.dimension)},
        "chunking": dataclasses.asdict(config.chunking),
        "keywords": {"tokenizer": TOKENIZER_VERSION},
        "vector_index": config.retrieval.vector_index,
    }


def _rebuild_reason(manifest: dict[str, Any], settings: dict[str, Any]) -> str | None:
    old_encoder = manifest.get("encoder", {}).get("name")
    if old_encoder != settings["encoder"]["name"]:
        return f"the encoder changed from {old_encoder} to {settings['encoder']['name']}"
    if manifest.get("encoder") != settings["encoder"]:
        return "the encoder's dimension changed"
    if manifest.get("chunking") != settings["chunking"]:
        return "the chunking settings changed"
    if manifest.get("keywords") != settings["keywords"]:
        return "the keyword tokenizer changed"
    if manifest.get("vector_index") != settings["vector_index"]:
        return "the vector index type changed"
    return None


def update_index(
    config: Config,
    encoder: Encoder,
    rebuild: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> IndexReport:
    """Index new and changed documents, drop deleted ones, and commit a new generation.

    With rebuild=True (or when the encoder or chunking settings changed) every
    document is read and embedded again.
    """
    started = time.perf_counter()
    knowledge_dir = config.knowledge_dir
    if not knowledge_dir.is_dir():
        raise ConfigError(
            f"knowledge folder not found: {knowledge_dir}; create it and put documents in it, "
            "or set knowledge_dir in the config"
        )
    with index_lock(config.index_dir, wait=wait):
        settings = index_settings(config, encoder)
        reason = "--rebuild was asked for" if rebuild else None
        previous = _Previous()
        manifest = None
        if not rebuild:
            try:
                manifest = read_manifest(config.index_dir)
            except IndexCorruptError as exc:
                reason = f"the previous index is damaged ({exc})"
            if manifest is not None:
                reason = _rebuild_reason(manifest, settings)
            if manifest is not None and reason is None:
                try:
                    previous = _Previous.load(config.index_dir)
                except IndexCorruptError as exc:
                    reason = f"the previous index is damaged ({str(exc).split(';')[0]})"
                    manifest = None
        if reason:
            manifest, previous = None, _Previous()
            logger.info("full rebuild: %s", reason)
        old_docs: dict[str, Any] = (manifest or {}).get("documents", {})

        added, changed, unchanged, skipped, warnings = [], [], [], [], []
        files = knowledge_files(knowledge_dir, warnings)
        documents: dict[str, dict[str, Any]] = {}
        passages_by_doc: dict[str, list[Passage]] = {}
        fresh: list[Passage] = []
        for path in files:
            doc = config.relative(path)
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append(doc)
                warnings.append(
                    f"{doc}: unsupported file type '{path.suffix or '(none)'}'; skipped "
                    f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
                )
                continue
            try:
                digest = content_hash(path)
            except OSError as exc:
                skipped.append(doc)
                warnings.append(f"{doc}: cannot be read ({exc.strerror}); skipped")
                continue
            known = old_docs.get(doc)
            if known and known.get("hash") == digest and doc in previous.passages:
                documents[doc] = known
                passages_by_doc[doc] = previous.passages[doc]
                unchanged.append(doc)
                continue
            try:
                passages, record = _read_passages(path, doc, digest, config)
            except DocumentError as exc:
                skipped.append(doc)
                warnings.append(f"{exc}; skipped")
                continue
            documents[doc] = record
            passages_by_doc[doc] = passages
            fresh.extend(passages)
            (changed if known else added).append(doc)
        removed = sorted(doc for doc in old_docs if doc not in documents)
        for message in warnings:
            logger.info(message)
        if not documents:
            more = ", ..." if len(skipped) > 3 else ""
            unread = f" (skipped: {', '.join(skipped[:3])}{more})" if skipped else ""
            raise DocumentError(
                f"no documents in {knowledge_dir} that parkqa can read{unread}; add files "
                f"({' '.join(SUPPORTED_SUFFIXES)}) and run parkqa index again; "
                "the existing index is unchanged"
            )

        all_passages = [p for doc in sorted(passages_by_doc) for p in passages_by_doc[doc]]
        if manifest is not None and not fresh and not removed:
            return IndexReport(
                unchanged=tuple(unchanged),
                skipped=tuple(skipped),
                warnings=tuple(warnings),
                passages=len(all_passages),
                seconds=time.perf_counter() - started,
            )
        sentence_vectors, embedded = _embed_sentences(
            all_passages, previous.sentence_vectors, encoder, config, progress
        )
        vectors = build_vector_index(
            passage_vectors(sentence_vectors, all_passages),
            int(encoder.dimension),
            config.retrieval,
        )
        keywords = previous.keyword_index(all_passages)
        new_manifest = {
            **settings,
            "documents": documents,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_generation(
            config.index_dir, new_manifest, all_passages, vectors, keywords, sentence_vectors
        )
        return IndexReport(
            added=tuple(added),
            changed=tuple(changed),
            removed=tuple(removed),
            unchanged=tuple(unchanged),
            skipped=tuple(skipped),
            warnings=tuple(warnings),
            passages=len(all_passages),
            embedded=embedded,
            seconds=time.perf_counter() - started,
            rebuilt_because=reason,
            written=True,
        )


def _embed_sentences(
    passages: list[Passage],
    known: dict[str, np.ndarray],
    encoder: Encoder,
    config: Config,
    progress: Progress | None,
) -> tuple[np.ndarray, int]:
    """The vector of every sentence of the passages, in order, embedding only the sentence
    texts the previous index did not have; also how many were embedded."""
    texts = [text for p in passages for text in p.sentence_embedding_texts()]
    to_embed = [t for t in dict.fromkeys(texts) if t not in known]
    fresh = encoder.encode(to_embed, batch_size=config.embedding.batch_size, progress=progress)
    by_text = {**known, **dict(zip(to_embed, fresh))}
    dimension = int(encoder.dimension)
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32), 0
    return np.stack([by_text[t] for t in texts]).astype(np.float32), len(to_embed)


def passage_vectors(sentence_vectors: np.ndarray, passages: list[Passage]) -> np.ndarray:
    """Each passage's vector: the normalised mean of its sentences' vectors."""
    counts = np.array([len(p.sentence_embedding_texts()) for p in passages], dtype=np.int64)
    if not len(counts):
        return np.zeros((0, sentence_vectors.shape[1]), dtype=np.float32)
    owners = np.repeat(np.arange(len(passages)), counts)
    sums = np.zeros((len(passages), sentence_vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, sentence_vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (sums / norms).astype(np.float32)


def _keyword_tokens(passage: Passage) -> list[str]:
    return tokenize(f"{passage.title}\n{passage.section}\n{passage.text}")


@dataclass
class _Previous:
    """What an update keeps from the committed index."""

    passages: dict[str, list[Passage]] = field(default_factory=dict)  # by document
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # by embedded text
    keywords: KeywordIndex | None = None
    ids: list[str] = field(default_factory=list)  # passage id of each row

    @classmethod
    def load(cls, directory: Path) -> _Previous:
        loaded = load_index(directory)
        previous = cls(keywords=loaded.keywords, ids=[p.id for p in loaded.passages])
        texts = [text for p in loaded.passages for text in p.sentence_embedding_texts()]
        previous.sentence_vectors = dict(zip(texts, np.asarray(loaded.sentence_vectors)))
        for passage in loaded.passages:
            previous.passages.setdefault(passage.doc, []).append(passage)
        return previous

    def keyword_index(self, passages: list[Passage]) -> KeywordIndex:
        """The keyword index of passages, tokenizing only those that are new."""
        if self.keywords is None:
            return KeywordIndex.build([_keyword_tokens(p) for p in passages])
        position = {p.id: row for row, p in enumerate(passages)}
        new_row_of_old = np.array([position.get(i, -1) for i in self.ids], dtype=np.int64)
        known = set(self.ids)
        rows = [row for row, p in enumerate(passages) if p.id not in known]
        return self.keywords.updated(
            new_row_of_old,
            [_keyword_tokens(passages[row]) for row in rows],
            np.array(rows, dtype=np.int64),
            len(passages),
        )


def _read_passages(
    path: Path, doc: str, digest: str, config: Config
) -> tuple[list[Passage], dict[str, Any]]:
    source = read_document(path)
    sections = clean_lines(source.lines, source.heading_lines)
    title = source.title
    if title == path.stem and sections and sections[0].heading:
        title = sections[0].heading
    passages = make_passages(
        sections,
        doc=doc,
        title=title,
        max_chars=config.chunking.max_chars,
        overlap_sentences=config.chunking.overlap_sentences,
        date=source.date,
        tags=source.tags,
    )
    if not passages:
        raise DocumentError(f"{doc}: no text found")
    record = {
        "hash": digest,
        "title": title,
        "date": source.date,
        "source": source.source,
        "tags": list(source.tags),
        "encoding": source.encoding,
        "passages": [p.id for p in passages],
    }
    return passages, record
