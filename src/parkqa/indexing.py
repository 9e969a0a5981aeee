"""Bring the index up to date with the knowledge folder, embedding only what changed."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from parkqa import documents
from parkqa.cleaning import LABEL_PATTERN, clean_lines, find_headings
from parkqa.config import ChunkingConfig, Config
from parkqa.documents import (
    SUPPORTED_SUFFIXES,
    SourceText,
    knowledge_files,
    read_document,
    sidecar_path,
)
from parkqa.encoders import Encoder, Progress, encoder_fingerprint
from parkqa.errors import (
    ConfigError,
    DocumentError,
    IndexCorruptError,
    IndexWriteError,
    ParkQAError,
)
from parkqa.keywords import TOKENIZER_VERSION, Postings, tokenize
from parkqa.manifest import (
    DocumentRecord,
    FileState,
    IndexSettings,
    Manifest,
    SegmentEntry,
    SkippedFile,
)
from parkqa.passages import SENTENCE_SPLITTER_VERSION, Passage, make_passages
from parkqa.store import (
    GenerationWriter,
    LoadedIndex,
    StagedGeneration,
    StagedVectors,
    commit_generation,
    index_lock,
    load_index,
    read_manifest,
    rewrite_manifest,
)
from parkqa.vectors import ListIndex, build_vector_index

if TYPE_CHECKING:
    from parkqa.milvus_backend import MilvusMirror

logger = logging.getLogger(__name__)

# Passages per segment that a build writes: bounds the memory a build needs, however large the
# knowledge base (a segment's postings and vectors are assembled in memory before written).
SEGMENT_PASSAGES = 20_000
# Kept segments that are small or mostly deleted are merged once there are more than this.
MERGE_AFTER = 8
# A build merges every MERGE_FACTOR segments it writes into one, and those left at its end
# too, so that a question visits a few large segments rather than many small ones (each
# segment visited costs a vector search and a postings lookup per token). What it merges,
# it has just written: an update that writes one segment merges nothing.
MERGE_FACTOR = 10


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


@dataclass(frozen=True)
class KnowledgeFile:
    """A file of the knowledge folder: its path, its name in the index (relative to the
    config's folder), and its size and modification time (None when it cannot be read)."""

    path: Path
    doc: str
    state: FileState | None


@dataclass(frozen=True)
class IndexedDocument:
    """A document of the index as it is listed: its path, title, date, tags and passage count."""

    doc: str
    title: str
    date: str | None
    tags: tuple[str, ...]
    passages: int


@dataclass(frozen=True)
class PendingChanges:
    """Documents that differ from the index: new, changed and deleted since it was built."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.new) + len(self.changed) + len(self.deleted)

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class UpdatePlan:
    """What an update does, decided from the files and the previous index's records: the
    files to read (new or changed, with their content hash), the documents kept as they are,
    and the files left out."""

    to_read: tuple[tuple[KnowledgeFile, str], ...] = ()
    kept: dict[str, DocumentRecord] = field(default_factory=dict)
    known: frozenset[str] = frozenset()  # documents the previous index holds
    skipped: dict[str, SkippedFile] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    restamped: bool = False  # a kept document's size or time changed: its record needs writing


@dataclass(frozen=True)
class ReadResult:
    """The passages and records of the documents an update read, and the files it could not."""

    passages: dict[str, list[Passage]] = field(default_factory=dict)
    records: dict[str, DocumentRecord] = field(default_factory=dict)
    skipped: dict[str, SkippedFile] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def index_settings(config: Config, encoder: Encoder) -> IndexSettings:
    """The settings an index depends on: a change to any of them needs a full rebuild."""
    return IndexSettings(
        encoder=encoder.name,
        dimension=int(encoder.dimension),
        chunking={
            "max_chars": config.chunking.max_chars,
            "overlap_sentences": config.chunking.overlap_sentences,
            "sentence_splitter": SENTENCE_SPLITTER_VERSION,
        },
        tokenizer=TOKENIZER_VERSION,
        vector_index=config.retrieval.vector_index,
        fingerprint=encoder_fingerprint(encoder),
    )


def file_state(path: Path) -> FileState:
    """The size and modification time of a file and of its sidecar (raises OSError)."""
    status = path.stat()
    try:
        sidecar = sidecar_path(path).stat()
    except FileNotFoundError:
        return FileState(status.st_size, status.st_mtime_ns)
    return FileState(status.st_size, status.st_mtime_ns, sidecar.st_size, sidecar.st_mtime_ns)


def scan_knowledge(config: Config, warnings: list[str] | None = None) -> list[KnowledgeFile]:
    """The files of the knowledge folder with their sizes and times; nothing is read."""
    found = []
    for path in knowledge_files(config.knowledge_dir, warnings):
        try:
            state = file_state(path)
        except OSError:
            state = None
        found.append(KnowledgeFile(path, config.relative(path), state))
    return found


def pending_changes(files: Sequence[KnowledgeFile], manifest: Manifest | None) -> PendingChanges:
    """Documents new, changed or deleted since the manifest was written, told by their names,
    sizes and modification times. Only a document whose record has no file state (an index
    written before they were kept) is hashed."""
    indexed = manifest.documents if manifest else {}
    skipped = manifest.skipped if manifest else {}
    new, changed = [], []
    for file in files:
        if file.path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        record = indexed.get(file.doc)
        if record is None:
            left_out = skipped.get(file.doc)
            if left_out is None or left_out.file != file.state:
                new.append(file.doc)
        elif record.file is None:
            if _content_hash(file.path) != record.hash:
                changed.append(file.doc)
        elif record.file != file.state:
            changed.append(file.doc)
    present = {file.doc for file in files}
    deleted = sorted(doc for doc in indexed if doc not in present)
    return PendingChanges(tuple(new), tuple(changed), tuple(deleted))


def _content_hash(path: Path) -> str | None:
    try:
        return documents.content_hash(path)
    except OSError:
        return None


def plan_update(
    files: Sequence[KnowledgeFile], indexed: Mapping[str, DocumentRecord], verify: bool = False
) -> UpdatePlan:
    """Decide what an update reads: every supported file whose content hash is not the one
    its record in the previous index holds; the others keep their records (with the file's
    current size and time). A file whose size and modification time are those its record
    holds is not read at all, as pending_changes tells changes, so an update's cost follows
    the change rather than the size of the knowledge folder. With verify, every file is read
    and hashed (an edit that kept the size and the time is found too)."""
    to_read, kept, skipped, warnings = [], {}, {}, []
    restamped = False
    for file in files:
        if file.path.suffix.lower() not in SUPPORTED_SUFFIXES:
            reason = (
                f"{file.doc}: unsupported file type '{file.path.suffix or '(none)'}'; skipped "
                f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
            )
            _skip(file, reason, skipped, warnings)
            continue
        record = indexed.get(file.doc)
        quick = record is not None and record.file is not None and record.file == file.state
        if quick and not verify:
            kept[file.doc] = record
            continue
        try:
            digest = documents.content_hash(file.path)
        except OSError as exc:
            reason = f"{file.doc}: cannot be read ({exc.strerror})"
            _skip(file, _skip_reason(reason, record is not None), skipped, warnings)
            continue
        if record is not None and record.hash == digest:
            kept[file.doc] = dataclasses.replace(record, file=file.state)
            restamped = restamped or record.file != file.state
        else:
            to_read.append((file, digest))
    return UpdatePlan(
        to_read=tuple(to_read),
        kept=kept,
        known=frozenset(indexed),
        skipped=skipped,
        warnings=tuple(warnings),
        restamped=restamped,
    )


def _skip(
    file: KnowledgeFile, reason: str, skipped: dict[str, SkippedFile], warnings: list[str]
) -> None:
    warnings.append(reason)
    skipped[file.doc] = SkippedFile(reason, file.state)


def _skip_reason(problem: str, indexed: bool) -> str:
    """Why a file is left out: a document already indexed keeps its indexed version."""
    return f"kept the indexed version: {problem}" if indexed else f"{problem}; skipped"


def read_changed(plan: UpdatePlan, config: Config) -> ReadResult:
    """Read and cut into passages the files the plan names; a file that cannot be read as a
    document is skipped with a warning (one the index holds keeps its indexed version)."""
    passages, records, skipped, warnings = {}, {}, {}, []
    for file, digest in plan.to_read:
        try:
            passages[file.doc], records[file.doc] = _read_passages(file, digest, config)
        except DocumentError as exc:
            _skip(file, _skip_reason(str(exc), file.doc in plan.known), skipped, warnings)
    return ReadResult(passages, records, skipped, tuple(warnings))


def update_index(
    config: Config,
    encoder: Encoder,
    rebuild: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
    verify: bool = False,
) -> IndexReport:
    """Index new and changed documents, drop deleted ones, and commit a new generation.

    With rebuild=True (or when the encoder or chunking settings changed) every
    document is read and embedded again; with verify=True every file is read to tell whether
    it changed, not only those whose size or time did. The steps: plan (what changed), read, embed,
    write the new generation beside the committed one, and commit it.
    """
    if not config.knowledge_dir.is_dir():
        raise ConfigError(
            f"knowledge folder not found: {config.knowledge_dir}; create it and put documents "
            "in it, or set knowledge_dir in the config"
        )
    with index_lock(config.index_dir, wait=wait):
        return update_locked_index(
            config, encoder, rebuild=rebuild, progress=progress, verify=verify
        )


def update_locked_index(
    config: Config,
    encoder: Encoder,
    rebuild: bool = False,
    progress: Progress | None = None,
    verify: bool = False,
) -> IndexReport:
    """update_index for a caller that already holds the index folder's lock (index_lock),
    e.g. to change the knowledge folder and update the index as one step.

    New and changed documents are written as new segments, in batches of SEGMENT_PASSAGES
    passages, so memory stays bounded however many there are; the rows of changed and
    deleted documents are marked deleted in the segments that hold them, which are kept as
    they are. What it costs follows the change, not the size of the index.

    With a milvus section in the config, each generation is also written to Milvus before it
    is committed (parkqa.milvus_backend), and an update with no change to the documents
    still brings Milvus up to date when it is not."""
    started = time.perf_counter()
    settings = index_settings(config, encoder)
    manifest, previous, reason, donor = _previous_index(config.index_dir, settings, rebuild)
    mirror = _open_mirror(config, settings, rebuild) if config.milvus else None
    indexed = manifest.documents if manifest else {}
    scan_warnings: list[str] = []
    plan = plan_update(scan_knowledge(config, scan_warnings), indexed, verify)
    writer = GenerationWriter(config.index_dir, after=mirror.generation if mirror else 0)
    report = IndexReport(rebuilt_because=reason, warnings=tuple(scan_warnings))
    try:
        return _write_update(
            config,
            encoder,
            plan,
            manifest,
            previous,
            writer,
            progress,
            report,
            started,
            mirror,
            donor,
        )
    except IndexWriteError:
        writer.discard()
        raise
    except BaseException:  # interrupted: the next build reuses the segments' vectors
        writer.keep_segments()
        raise


def _open_mirror(config: Config, settings: IndexSettings, rebuild: bool) -> MilvusMirror:
    """The Milvus index the update mirrors to. A rebuild (asked for, or because settings
    changed) may replace a collection built with other settings or kept by another folder."""
    from parkqa.milvus_backend import MilvusMirror

    try:
        committed = read_manifest(config.index_dir)
    except IndexCorruptError:
        committed = None
    changed = committed is not None and settings.rebuild_reason(committed.settings) is not None
    return MilvusMirror(config, settings.encoder, settings.dimension, takeover=rebuild or changed)


def _write_update(
    config: Config,
    encoder: Encoder,
    plan: UpdatePlan,
    manifest: Manifest | None,
    previous: LoadedIndex | None,
    writer: GenerationWriter,
    progress: Progress | None,
    report: IndexReport,
    started: float,
    mirror: MilvusMirror | None = None,
    donor: LoadedIndex | None = None,
) -> IndexReport:
    """Read and write the plan's documents as new segments, delete the rows they replace,
    mirror the generation to Milvus if configured, and commit it (or only restamp the
    manifest when no document changed and Milvus holds the committed generation). Sentences
    the donor index (the previous one, or one of the same encoder built with other settings)
    has embedded are not embedded again."""
    indexed = manifest.documents if manifest else {}
    staged = StagedVectors(config.index_dir, writer.previous) if plan.to_read else None
    builder = _SegmentBuilder(config, encoder, writer, progress, staged)
    builder.expected_bytes = sum(_size(file) for file, _ in plan.to_read)
    skipped_read: dict[str, SkippedFile] = {}
    read_warnings: list[str] = []
    for file, digest in plan.to_read:
        builder.read_bytes += _size(file)
        try:
            passages, record = _read_passages(file, digest, config)
        except DocumentError as exc:
            reason = _skip_reason(str(exc), file.doc in plan.known)
            _skip(file, reason, skipped_read, read_warnings)
            continue
        builder.add(passages, record, _known_vectors(donor, file.doc))
    builder.finish()
    skipped = {**plan.skipped, **skipped_read}
    held = {doc: indexed[doc] for doc in skipped if doc in indexed}
    records = {**plan.kept, **held, **builder.records}
    warnings = (*report.warnings, *plan.warnings, *read_warnings)
    for message in warnings:
        logger.info(message)
    if not records:
        _refuse_empty(config.knowledge_dir, sorted(skipped))
    removed = sorted(doc for doc in plan.known if doc not in records)
    report = dataclasses.replace(
        report,
        added=tuple(doc for doc in builder.records if doc not in plan.known),
        changed=tuple(doc for doc in builder.records if doc in plan.known),
        removed=tuple(removed),
        unchanged=tuple(plan.kept),
        skipped=tuple(sorted(skipped)),
        warnings=warnings,
        passages=sum(record.passages for record in records.values()),
        embedded=builder.embedded,
    )
    unchanged = manifest is not None and not (builder.records or removed)
    in_sync = mirror is None or mirror.in_sync(manifest)
    if unchanged and in_sync:
        if plan.restamped or skipped != manifest.skipped:
            rewrite_manifest(
                config.index_dir,
                dataclasses.replace(manifest, documents=records, skipped=skipped),
            )
        return dataclasses.replace(report, seconds=time.perf_counter() - started)
    if not in_sync and manifest is not None and config.milvus is not None:
        note = (
            f"the Milvus collection {config.milvus.collection} did not hold generation "
            f"{manifest.generation} of the index (a new collection, or an update that stopped "
            "part-way); it is written from the index folder"
        )
        report = dataclasses.replace(report, warnings=(*report.warnings, note))
    gone = {doc for doc in (*builder.records, *removed) if doc in indexed}
    kept = _delete_rows(previous, gone, writer) if previous else []
    segments, records = _compact(kept, builder.segments, records, previous, builder)
    new_manifest = Manifest(
        settings=index_settings(config, encoder),
        documents=records,
        passages=sum(entry.live for entry in segments),
        skipped=skipped,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        segments=tuple(segments),
    )
    staged = writer.stage(new_manifest)
    if mirror is not None:
        mirror.apply(staged)
    commit_generation(staged)
    return dataclasses.replace(report, written=True, seconds=time.perf_counter() - started)


def _size(file: KnowledgeFile) -> int:
    return file.state.size if file.state else 0


def _known_vectors(previous: LoadedIndex | None, doc: str) -> dict[str, np.ndarray]:
    """The sentence vectors of the indexed version of a document, by embedded text, so that
    a changed document re-embeds only its new sentences (all of them when the indexed version
    cannot be read)."""
    if previous is None or doc not in previous.manifest.documents:
        return {}
    known = {}
    try:
        for row in previous.document_rows(doc).tolist():
            texts = previous.passage(row).sentence_embedding_texts()
            known.update(zip(texts, previous.sentence_vectors(row)))
    except (ParkQAError, ValueError, KeyError, IndexError, OSError):  # damaged: embed again
        return {}
    return known


def _delete_rows(
    previous: LoadedIndex, gone: set[str], writer: GenerationWriter
) -> list[SegmentEntry]:
    """The committed segments with the rows of the gone documents deleted: a segment that
    loses rows gets a new deletion set, one that loses all of them is dropped."""
    documents = previous.manifest.documents
    by_segment: dict[str, list[str]] = {}
    for doc in gone:
        by_segment.setdefault(documents[doc].segment, []).append(doc)
    kept = []
    for segment in previous.segments:
        entry = segment.entry
        docs = by_segment.get(entry.name)
        if docs:
            rows = [segment.document_rows(doc) for doc in docs]
            deleted = np.union1d(segment.deleted, np.concatenate(rows))
            if len(deleted) >= entry.rows:
                continue
            entry = writer.write_deleted(entry, deleted)
        kept.append(entry)
    return kept


def _previous_index(
    directory: Path, settings: IndexSettings, rebuild: bool
) -> tuple[Manifest | None, LoadedIndex | None, str | None, LoadedIndex | None]:
    """The committed manifest and index an update builds on, or (None, None, why, ...) when
    the update must start from scratch; last, the index whose sentence vectors it reuses: the
    previous one, or the committed one when only settings other than the encoder changed
    (chunking, the sentence splitter, the keyword tokenizer)."""
    if rebuild:
        return None, None, "--rebuild was asked for", None
    try:
        manifest = read_manifest(directory)
    except IndexCorruptError as exc:
        return None, None, f"the previous index is damaged ({exc})", None
    if manifest is None:
        return None, None, None, None
    reason = settings.rebuild_reason(manifest.settings)
    if reason and not settings.same_encoder(manifest.settings):
        return None, None, reason, None
    try:
        index = load_index(directory)
    except IndexCorruptError as exc:
        return (
            None,
            None,
            reason or f"the previous index is damaged ({str(exc).split(';')[0]})",
            None,
        )
    if reason:
        return None, None, reason, index
    return manifest, index, None, index


def _refuse_empty(knowledge_dir: Path, skipped: list[str]) -> None:
    more = ", ..." if len(skipped) > 3 else ""
    unread = f" (skipped: {', '.join(skipped[:3])}{more})" if skipped else ""
    raise DocumentError(
        f"no documents in {knowledge_dir} that parkqa can read{unread}; add files "
        f"({' '.join(SUPPORTED_SUFFIXES)}) and run parkqa index again; "
        "the existing index is unchanged"
    )


def write_index(
    config: Config, manifest: Manifest, passages: list[Passage], sentence_vectors: np.ndarray
) -> StagedGeneration:
    """Write passages and their sentence vectors as one segment of a new generation that
    holds only them, beside the committed one and not yet switched in."""
    writer = GenerationWriter(config.index_dir)
    try:
        dimension = manifest.settings.dimension
        entry = _write_segment(writer, passages, sentence_vectors, config, dimension)
        return writer.stage(dataclasses.replace(manifest, segments=(entry,)))
    except BaseException:
        writer.discard()
        raise


def _write_segment(
    writer: GenerationWriter,
    passages: list[Passage],
    sentence_vectors: np.ndarray,
    config: Config,
    dimension: int,
) -> SegmentEntry:
    """One segment of passages: their vectors, keyword postings and approximate vector
    index when the configuration asks for one."""
    vectors = passage_vectors(sentence_vectors, passages)
    postings = Postings.build([keyword_tokens(p) for p in passages])
    approximate, lists = vector_index(vectors, config, dimension)
    return writer.write_segment(passages, sentence_vectors, vectors, postings, approximate, lists)


def vector_index(vectors: np.ndarray, config: Config, dimension: int):
    """The vector index of a segment's passage vectors, as configured: a FAISS index (HNSW or
    IVF) or inverted lists (auto, for segments of exact_below passages or more), or neither
    (searched exactly). Returns (faiss index or None, inverted lists' arrays or None)."""
    retrieval = config.retrieval
    if retrieval.vector_index in ("hnsw", "ivf"):
        return build_vector_index(vectors, dimension, retrieval), None
    if retrieval.vector_index == "auto" and len(vectors) >= retrieval.exact_below:
        return None, ListIndex.build(vectors)
    return None, None


def embed_sentences(
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


def keyword_tokens(passage: Passage) -> list[str]:
    """The tokens the keyword index holds for a passage: its title, section and text, a label
    repeated down its lines (a table's header, read into every row) held once."""
    text = _without_repeated_labels(passage.text)
    return tokenize(f"{passage.title}\n{passage.section}\n{text}")


_LABEL = re.compile(LABEL_PATTERN, re.MULTILINE)


def _without_repeated_labels(text: str) -> str:
    """The text with each label an earlier line has left out: a table read row by row says
    员工人数 on every line, which would weigh its words as often as the rows."""
    seen: set[str] = set()

    def kept(match: re.Match) -> str:
        return "" if match.group(1) in seen else match.group()

    lines = []
    for line in text.split("\n"):
        labels = {m.group(1) for m in _LABEL.finditer(line)}
        lines.append(_LABEL.sub(kept, line))
        seen |= labels
    return "\n".join(lines)


class _SegmentBuilder:
    """Collects documents' passages and writes them as segments of SEGMENT_PASSAGES or so
    (a document is never split), embedding the sentences whose vectors are not known."""

    def __init__(
        self,
        config: Config,
        encoder: Encoder,
        writer: GenerationWriter,
        progress: Progress | None,
        staged: StagedVectors | None = None,
    ) -> None:
        self.config, self.encoder, self.writer = config, encoder, writer
        self.progress, self.staged = progress, staged
        self.records: dict[str, DocumentRecord] = {}
        self.segments: list[SegmentEntry] = []
        self.embedded = 0
        # Bytes of the documents to read and read so far: a streamed build knows only the
        # current segment's sentences, and tells the whole build's from the bytes.
        self.expected_bytes = 0
        self.read_bytes = 0
        self._unmerged: list[SegmentEntry] = []  # written by flush(), not yet merged
        self._passages: list[Passage] = []
        self._records: list[DocumentRecord] = []
        self._docs: list[str] = []
        self._known: dict[str, np.ndarray] = {}

    def add(
        self, passages: list[Passage], record: DocumentRecord, known: dict[str, np.ndarray]
    ) -> None:
        self._passages.extend(passages)
        self._docs.append(passages[0].doc)
        self._records.append(record)
        self._known.update(known)
        if len(self._passages) >= SEGMENT_PASSAGES:
            self.flush()

    def flush(self) -> None:
        """Write the passages collected so far as one segment."""
        if not self._passages:
            return
        done = self.embedded
        share = min(self.read_bytes / self.expected_bytes, 1.0) if self.expected_bytes else 1.0

        def overall(count: int, total: int) -> None:
            if self.progress:
                so_far = done + total
                whole = so_far if share >= 1.0 else max(so_far, round(so_far / max(share, 1e-9)))
                self.progress(done + count, whole)

        if self.staged:
            texts = [t for p in self._passages for t in p.sentence_embedding_texts()]
            unknown = [t for t in dict.fromkeys(texts) if t not in self._known]
            self._known.update(self.staged.find(unknown))
        vectors, embedded = embed_sentences(
            self._passages, self._known, self.encoder, self.config, overall
        )
        self.embedded += embedded
        entry = _write_segment(
            self.writer, self._passages, vectors, self.config, int(self.encoder.dimension)
        )
        self.segments.append(entry)
        for doc, record in zip(self._docs, self._records):
            self.records[doc] = dataclasses.replace(record, segment=entry.name)
        self._passages, self._records, self._docs, self._known = [], [], [], {}
        self._unmerged.append(entry)
        if len(self._unmerged) >= MERGE_FACTOR:
            self._merge()

    def start_over(self) -> None:
        """Forget the segments written so far (the caller keeps them), to collect more."""
        self.segments, self.records, self._unmerged = [], {}, []

    def finish(self) -> None:
        """Write what is left, and merge the segments written since the last merge."""
        self.flush()
        if len(self._unmerged) >= 2:
            self._merge()

    def _merge(self) -> None:
        """Merge the segments written since the last merge into one."""
        dimension = int(self.encoder.dimension)
        entry = self.writer.write_merged(
            self._unmerged, lambda vectors: vector_index(vectors, self.config, dimension)
        )
        names = {merged.name for merged in self._unmerged}
        at = self.segments.index(self._unmerged[0])
        kept = [segment for segment in self.segments if segment.name not in names]
        self.segments = [*kept[:at], entry, *kept[at:]]
        for doc, record in self.records.items():
            if record.segment in names:
                self.records[doc] = dataclasses.replace(record, segment=entry.name)
        self._unmerged = []


def _compact(
    kept: list[SegmentEntry],
    written: list[SegmentEntry],
    records: dict[str, DocumentRecord],
    previous: LoadedIndex | None,
    builder: _SegmentBuilder,
) -> tuple[list[SegmentEntry], dict[str, DocumentRecord]]:
    """The segments of the new generation: the kept ones and those just written, with the
    small or mostly deleted kept segments merged into one when there are more than
    MERGE_AFTER of them, so that many small updates do not leave many small segments."""
    small = SEGMENT_PASSAGES // 4
    mergeable = [e for e in kept if e.live < small or e.deleted_rows * 2 > e.rows]
    if previous is None or len(mergeable) <= MERGE_AFTER:
        return [*kept, *written], records
    names = {entry.name for entry in mergeable}
    segments = {segment.entry.name: segment for segment in previous.segments}
    builder.start_over()
    for doc, record in records.items():
        if record.segment not in names:
            continue
        segment = segments[record.segment]
        rows = segment.document_rows(doc)
        rows = rows[~np.isin(rows, segment.deleted)]
        starts = segment.arrays["sentence_starts"]
        known = {}
        passages = []
        for row in rows.tolist():
            passage = segment.passage(row)
            vectors = segment.arrays["sentences"][int(starts[row]) : int(starts[row + 1])]
            known.update(zip(passage.sentence_embedding_texts(), np.asarray(vectors)))
            passages.append(passage)
        builder.add(passages, record, known)
    builder.finish()
    merged = [entry for entry in kept if entry.name not in names]
    return [*merged, *written, *builder.segments], {**records, **builder.records}


def document_passages(
    path: Path, doc: str, chunking: ChunkingConfig | None = None
) -> tuple[SourceText, list[Passage]]:
    """Read a file (and its sidecar), clean it and cut it into passages named doc, as the
    index holds them. Raises DocumentError when it cannot be read or gives no passage."""
    chunking = chunking or ChunkingConfig()
    source = read_document(path)
    sections = clean_lines(source.lines, source.heading_lines)
    title = source.title
    if title == path.stem:  # no title of its own: its first heading (a headline), if any
        headings = sorted(find_headings(source.lines, source.heading_lines))
        title = source.lines[headings[0] - 1].strip() if headings else title
    passages = make_passages(
        sections,
        doc=doc,
        title=title,
        max_chars=chunking.max_chars,
        overlap_sentences=chunking.overlap_sentences,
        date=source.date,
        tags=source.tags,
    )
    if not passages:
        raise DocumentError(f"{doc}: no text found")
    return source, passages


def _read_passages(
    file: KnowledgeFile, digest: str, config: Config
) -> tuple[list[Passage], DocumentRecord]:
    source, passages = document_passages(file.path, file.doc, config.chunking)
    record = DocumentRecord(
        hash=digest,
        title=passages[0].title,
        passages=len(passages),
        date=source.date,
        source=source.source,
        tags=tuple(source.tags),
        encoding=source.encoding,
        file=file.state,
    )
    return passages, record
