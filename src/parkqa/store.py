"""The index folder on disk: a JSON manifest naming immutable segments and the deleted rows of
each. A segment is written once (its passages as JSON Lines read by offset, and one file of
arrays that is memory-mapped: vectors, sentence vectors, keyword postings, the document of
each row) and shared by later generations. A new generation writes only its new segments and
deletion sets, and is committed by atomically replacing manifest.json, so readers never see a
half-written index."""

from __future__ import annotations

import dataclasses
import errno
import functools
import io
import json
import logging
import mmap
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parkqa.errors import IndexBusyError, IndexCorruptError, IndexMissingError, IndexWriteError
from parkqa.keywords import KeywordIndex, Postings
from parkqa.keywords import token_hashes as text_hashes
from parkqa.manifest import FORMAT_VERSION, Manifest, SegmentEntry
from parkqa.passages import Passage, passage_from_json, passage_to_json
from parkqa.vectors import ListIndex, VectorSet

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = ".lock"
REBUILD_HINT = "rebuild it with: parkqa index --rebuild"


SEGMENT_MAGIC = b"PQSEG01\n"
PASSAGES_KEPT = 1024  # parsed passages an open index keeps for the next questions


@dataclass(frozen=True)
class Segment:
    """One immutable segment opened from disk: its passage records (read by offset when a
    passage is needed), and memory-mapped arrays of vectors, sentence vectors, postings and
    the document of each row. Nothing is parsed until asked for."""

    entry: SegmentEntry
    base: int  # global row of its first passage
    records: Any  # the passages file, memory-mapped
    arrays: dict[str, np.ndarray]
    docs: tuple[str, ...]  # the documents of its rows, by doc_rows index
    deleted: np.ndarray  # sorted local rows deleted by later generations
    searcher: Any  # passage vectors (an array searched exactly) or a faiss index
    mapped: tuple[Any, ...] = ()  # the memory maps the records and arrays are read through

    @property
    def rows(self) -> int:
        return self.entry.rows

    def passage(self, local: int) -> Passage:
        offsets = self.arrays["offsets"]
        start, end = int(offsets[local]), int(offsets[local + 1])
        return passage_from_json(json.loads(bytes(self.records[start:end])))

    def release_pages(self) -> None:
        """Let go of the pages of this segment's files that questions have read: the kernel
        keeps them in its file cache, and the next question that needs one maps it again."""
        if hasattr(mmap, "MADV_DONTNEED"):
            for mapped in self.mapped:
                try:
                    mapped.madvise(mmap.MADV_DONTNEED)
                except (OSError, ValueError):  # kept mapped: costs memory, not the answer
                    pass

    def document_rows(self, doc: str) -> np.ndarray:
        """Local rows of a document's passages in this segment, deleted or not."""
        try:
            number = self.docs.index(doc)
        except ValueError:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.asarray(self.arrays["doc_rows"]) == number)


class LivePassages(Sequence):
    """The live passages of an index in row order, each read from disk when it is reached."""

    def __init__(self, index: LoadedIndex) -> None:
        self._index = index
        self._rows: np.ndarray | None = None

    def rows(self) -> np.ndarray:
        if self._rows is None:
            live = self._index.live
            self._rows = np.arange(self._index.rows) if live is None else np.flatnonzero(live)
        return self._rows

    def __len__(self) -> int:
        return self._index.keywords.count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._index.passage(int(row)) for row in self.rows()[i]]
        return self._index.passage(int(self.rows()[i]))

    def __iter__(self) -> Iterator[Passage]:
        for row in self.rows():
            yield self._index.passage(int(row))


class LoadedIndex:
    """An index read from disk, ready to search: its segments, opened without parsing, and
    which rows are live (None: every row)."""

    def __init__(
        self, directory: Path, manifest: Manifest, segments: list[Segment], live: np.ndarray | None
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.segments = tuple(segments)
        self.live = live
        self.rows = sum(segment.rows for segment in segments)
        self._bases = np.array([segment.base for segment in segments], dtype=np.int64)
        self.keywords = KeywordIndex(
            [(Postings.from_arrays(s.arrays), s.base) for s in segments], live
        )
        self.vectors = VectorSet(
            [(s.searcher, s.base, s.rows) for s in segments], live, manifest.settings.dimension
        )
        self.passages = LivePassages(self)
        # Passages parsed lately: a question reads the same few several times (search,
        # support, sentence choice, citations); an index never changes once loaded.
        self.passage = functools.lru_cache(maxsize=PASSAGES_KEPT)(self._read_passage)

    def _locate(self, row: int) -> tuple[Segment, int]:
        segment = self.segments[int(np.searchsorted(self._bases, row, side="right")) - 1]
        return segment, row - segment.base

    def _read_passage(self, row: int) -> Passage:
        segment, local = self._locate(row)
        return segment.passage(local)

    def release_pages(self) -> None:
        for segment in self.segments:
            segment.release_pages()

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of the sentences of the passage at row."""
        segment, local = self._locate(row)
        starts = segment.arrays["sentence_starts"]
        return np.asarray(segment.arrays["sentences"][int(starts[local]) : int(starts[local + 1])])

    def sentence_similarities(self, row: int, query: np.ndarray) -> np.ndarray:
        """Cosine of each sentence of the passage at row to a normalised question vector."""
        return self.sentence_vectors(row) @ query.reshape(-1)

    def passage_text(self, row: int) -> str:
        """The passage's title, section and text, for checking what it holds."""
        passage = self.passage(row)
        return f"{passage.title}\n{passage.section}\n{passage.text}"

    def document_rows(self, doc: str) -> np.ndarray:
        """Global rows of a document's live passages, in order."""
        record = self.manifest.documents.get(doc)
        found = [
            s.base + s.document_rows(doc)
            for s in self.segments
            if record is None or s.entry.name == record.segment
        ]
        rows = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return rows if self.live is None else rows[self.live[rows]]

    def allowed(self, filters: Any) -> np.ndarray:
        """Which rows pass the filters (an object with allows_fields(date, tags)), told
        from the documents' dates and tags: no passage text is read."""
        mask = np.zeros(self.rows, dtype=bool)
        documents = self.manifest.documents
        for segment in self.segments:
            passing = [
                number
                for number, doc in enumerate(segment.docs)
                if doc in documents
                and filters.allows_fields(documents[doc].date, documents[doc].tags)
            ]
            if passing:
                rows = np.isin(np.asarray(segment.arrays["doc_rows"]), passing)
                mask[segment.base : segment.base + segment.rows] = rows
        return mask if self.live is None else mask & self.live

    def tags(self) -> set[str]:
        return {tag for record in self.manifest.documents.values() for tag in record.tags}

    @property
    def generation(self) -> int:
        return self.manifest.generation

    @property
    def encoder_name(self) -> str:
        return self.manifest.settings.encoder


def read_manifest(directory: Path) -> Manifest | None:
    """The committed manifest, or None when no index has been built."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(
            f"index manifest {path} is unreadable ({type(exc).__name__}); {REBUILD_HINT}"
        ) from None
    required = {"format", "generation", "segments", "encoder", "chunking", "documents", "passages"}
    if isinstance(manifest, dict) and manifest.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise IndexCorruptError(
            f"index in {directory} has format {manifest['format']}, this parkqa reads "
            f"{FORMAT_VERSION}; {REBUILD_HINT}"
        )
    if not isinstance(manifest, dict) or not required <= manifest.keys():
        raise IndexCorruptError(f"index manifest {path} is incomplete; {REBUILD_HINT}")
    try:
        if not _well_formed(manifest):
            raise ValueError("bad values")
        return Manifest.from_json(manifest)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise IndexCorruptError(f"index manifest {path} has bad values; {REBUILD_HINT}") from None


def _well_formed(manifest: dict[str, Any]) -> bool:
    """Whether the manifest's values have the right types and name plain files in the folder."""
    segments, encoder = manifest["segments"], manifest["encoder"]
    return (
        _whole(manifest["generation"])
        and manifest["generation"] >= 1
        and _whole(manifest["passages"])
        and manifest["passages"] >= 0
        and isinstance(manifest["documents"], dict)
        and isinstance(encoder, dict)
        and isinstance(encoder.get("name"), str)
        and _whole(encoder.get("dimension"))
        and isinstance(segments, list)
        and all(isinstance(entry, dict) for entry in segments)
        and all(
            _plain_name(name)
            for entry in segments
            for name in (entry.get("name"), entry.get("deleted"), entry.get("vectors"))
            if name is not None
        )
    )


def _plain_name(name: Any) -> bool:
    return isinstance(name, str) and name == Path(name).name and not name.startswith(".")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_encoder(index: LoadedIndex, encoder_name: str, fingerprint: str | None = None) -> None:
    """Refuse to search an index whose vectors came from another encoder than the configured
    one, or from another model in the configured folder (fingerprint: the folder's files)."""
    if index.encoder_name != encoder_name:
        raise IndexCorruptError(
            f"the index in {index.directory} was built with the encoder {index.encoder_name}, "
            f"but embedding.model is {encoder_name}; {REBUILD_HINT}"
        )
    if fingerprint and not index.manifest.settings.same_model(fingerprint):
        raise IndexCorruptError(
            f"the model in {encoder_name} changed since the index in {index.directory} was "
            f"built; {REBUILD_HINT}"
        )


def load_index(directory: Path) -> LoadedIndex:
    """Open the committed index, checking that its parts agree with the manifest. Only
    headers and deletion sets are read; the rest is memory-mapped."""
    for attempt in range(3):
        manifest = read_manifest(directory)
        if manifest is None:
            raise IndexMissingError(f"no index in {directory} yet; build it with: parkqa index")
        try:
            return _load_generation(directory, manifest)
        except FileNotFoundError:
            if attempt == 2:
                raise IndexCorruptError(
                    f"index in {directory} is missing files named by its manifest; {REBUILD_HINT}"
                ) from None
            time.sleep(0.05)
    raise AssertionError("unreachable")


def load_generation(directory: Path, manifest: Manifest) -> LoadedIndex:
    """Open the generation a manifest describes, committed or staged (StagedGeneration)."""
    return _load_generation(directory, manifest)


def _load_generation(directory: Path, manifest: Manifest) -> LoadedIndex:
    def damaged(what: str) -> IndexCorruptError:
        return IndexCorruptError(f"index in {directory} is damaged: {what}; {REBUILD_HINT}")

    segments, base = [], 0
    total = sum(entry.rows for entry in manifest.segments)
    live = None
    for entry in manifest.segments:
        segment = _open_segment(directory, entry, base, manifest.settings.dimension, damaged)
        if len(segment.deleted):
            if live is None:
                live = np.ones(total, dtype=bool)
            live[base + segment.deleted] = False
        segments.append(segment)
        base += entry.rows
    count = total if live is None else int(np.count_nonzero(live))
    if count != manifest.passages:
        raise damaged(f"{count} passages on disk, the manifest says {manifest.passages}")
    return LoadedIndex(directory, manifest, segments, live)


def _open_segment(directory: Path, entry: SegmentEntry, base: int, dimension: int, damaged):
    """Map a segment's files and check that their shapes agree with its manifest entry."""
    records = _map(directory / f"{entry.name}.passages")
    try:
        buffer = _map(directory / f"{entry.name}.arrays")
        arrays, meta = _arrays_in(buffer)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise damaged(f"the arrays of segment {entry.name} are truncated or unreadable") from None
    rows = entry.rows
    try:
        docs = tuple(str(doc) for doc in meta["docs"])
        shapes_agree = (
            arrays["offsets"].shape == (rows + 1,)
            and arrays["doc_rows"].shape == (rows,)
            and arrays["lengths"].shape == (rows,)
            and arrays["sentence_starts"].shape == (rows + 1,)
            and arrays["indptr"].shape == (len(arrays["tokens"]) + 1,)
            and len(arrays["rows"]) == len(arrays["tf"]) == int(arrays["indptr"][-1])
        )
    except (KeyError, TypeError, IndexError):
        raise damaged(f"the arrays of segment {entry.name} are incomplete") from None
    if not shapes_agree:
        raise damaged(f"the arrays of segment {entry.name} do not match its {rows} passages")
    if len(records) != int(arrays["offsets"][-1]):
        raise damaged(f"{entry.name}: the passages on disk do not match their offsets")
    if arrays["vectors"].shape != (rows, dimension):
        raise damaged(
            f"{entry.name}: {arrays['vectors'].shape[0]} vectors of "
            f"{arrays['vectors'].shape[-1]} dimensions for {rows} passages, the manifest says "
            f"{dimension} dimensions"
        )
    if arrays["sentences"].shape != (int(arrays["sentence_starts"][-1]), dimension):
        raise damaged(f"{entry.name}: the sentence vectors do not match the passages")
    deleted = np.zeros(0, dtype=np.int64)
    if entry.deleted:
        try:
            deleted = np.load(directory / entry.deleted, allow_pickle=False).astype(np.int64)
        except (ValueError, OSError, EOFError):
            raise damaged(f"the deleted rows of {entry.name} are unreadable") from None
        if len(deleted) != entry.deleted_rows or (len(deleted) and deleted.max() >= rows):
            raise damaged(f"the deleted rows of {entry.name} do not match the manifest")
    searcher: Any = arrays["vectors"]
    if "list_centroids" in arrays:
        searcher = ListIndex.from_arrays(arrays)
    if entry.vectors:
        searcher = _read_faiss(directory / entry.vectors, rows, dimension, damaged)
    mapped = tuple(m for m in (records, buffer) if isinstance(m, mmap.mmap))
    return Segment(entry, base, records, arrays, docs, deleted, searcher, mapped)


def _read_faiss(path: Path, rows: int, dimension: int, damaged):
    import faiss

    try:
        index = faiss.deserialize_index(np.fromfile(path, dtype=np.uint8))
    except FileNotFoundError:
        raise
    except (RuntimeError, ValueError, MemoryError):
        raise damaged(f"the FAISS file {path.name} is truncated or not a FAISS index") from None
    if index.ntotal != rows or index.d != dimension:
        raise damaged(f"{path.name}: {index.ntotal} vectors for {rows} passages")
    return index


def _map(path: Path) -> Any:
    """A file's bytes, memory-mapped (an empty file as b""). Questions read scattered rows,
    so the kernel is told not to read ahead of them."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)
    return mapped


def mapped_resident() -> int | None:
    """Bytes of mapped files (and shared memory) resident in this process, or None where
    /proc does not tell."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[2]) * mmap.PAGESIZE
    except (OSError, ValueError, IndexError):
        return None


class PageBudget:
    """Keeps the index pages a process holds mapped within a limit: pages that questions read
    stay mapped (the next question that needs one finds it) until the mapped files resident
    in the process have grown by more than the limit since they were last let go; then the
    index's are let go. The kernel keeps them in its file cache either way."""

    def __init__(self, limit_mb: int | None) -> None:
        self.limit = None if limit_mb is None else limit_mb * 2**20
        self._floor = 0  # mapped bytes resident right after the last let-go (libraries)

    def after_question(self, index: LoadedIndex) -> None:
        if self.limit is None:
            return
        held = mapped_resident()
        if held is None or held - self._floor <= self.limit:
            return
        index.release_pages()
        self._floor = mapped_resident() or 0


@dataclass(frozen=True)
class StoredArray:
    """An array as it lies in a segment file, copied into another file block by block: a
    merge copies gigabytes of sentence vectors this way without holding them in memory (or
    mapping them, which would count their pages as the process's)."""

    path: Path
    offset: int  # bytes from the start of the file
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def blocks(self, size: int = 1 << 22) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            left = self.nbytes
            while left > 0:
                block = handle.read(min(size, left))
                if not block:
                    raise ValueError(f"{self.path.name} is cut short")
                left -= len(block)
                yield block

    def read(self) -> np.ndarray:
        """The array, read into memory."""
        count = int(np.prod(self.shape))
        data = np.fromfile(self.path, dtype=self.dtype, count=count, offset=self.offset)
        return data.reshape(self.shape)


Pieces = Sequence["np.ndarray | StoredArray"]


def pack_arrays(arrays: dict[str, np.ndarray | Pieces], meta: dict[str, Any]) -> Iterator[Any]:
    """Named arrays as the buffers of one file: a magic line, a JSON header (dtype, shape and
    offset of each array, and meta), then the arrays, each aligned to 64 bytes so that they
    can be mapped. An array may be given as pieces (arrays in memory or stored in other
    files) that are written one after another, as their concatenation along the first axis."""
    pieces = {
        name: [value] if isinstance(value, np.ndarray) else list(value)
        for name, value in arrays.items()
    }
    layout, offset = {}, 0
    for name, parts in pieces.items():
        dtype, tail = parts[0].dtype, tuple(parts[0].shape[1:])
        if any(part.dtype != dtype or tuple(part.shape[1:]) != tail for part in parts):
            raise ValueError(f"the pieces of {name} differ in type or shape")
        shape = [sum(int(part.shape[0]) for part in parts), *tail] if parts[0].shape else []
        layout[name] = {"dtype": dtype.str, "shape": shape, "offset": offset}
        offset += -(-sum(part.nbytes for part in parts) // 64) * 64
    header = json.dumps({"arrays": layout, "meta": meta}, ensure_ascii=False).encode("utf-8")
    head = SEGMENT_MAGIC + len(header).to_bytes(8, "little") + header
    yield head + bytes(-len(head) % 64)
    for parts in pieces.values():
        for part in parts:
            if isinstance(part, StoredArray):
                yield from part.blocks()
            else:
                yield memoryview(np.ascontiguousarray(part).reshape(-1)).cast("B")
        yield bytes(-sum(part.nbytes for part in parts) % 64)


def stored_arrays(path: Path) -> dict[str, StoredArray]:
    """Where each array of a segment file lies, read from its header alone."""
    with open(path, "rb") as handle:
        header, start = _header(handle.read(len(SEGMENT_MAGIC) + 8), handle)
    return {
        name: StoredArray(
            path,
            start + int(spec["offset"]),
            np.dtype(spec["dtype"]),
            tuple(int(n) for n in spec["shape"]),
        )
        for name, spec in header["arrays"].items()
    }


def _header(first: bytes, handle) -> tuple[dict[str, Any], int]:
    """A segment file's JSON header, given its first bytes and the open file (positioned
    after them), and where its arrays start."""
    head = len(SEGMENT_MAGIC) + 8
    if len(first) < head or first[: len(SEGMENT_MAGIC)] != SEGMENT_MAGIC:
        raise ValueError("not a segment file")
    size = int.from_bytes(first[len(SEGMENT_MAGIC) : head], "little")
    header = json.loads(handle.read(size).decode("utf-8"))
    return header, -(-(head + size) // 64) * 64


def read_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays of a file written by pack_arrays, mapped rather than read, and its meta;
    raises ValueError when the file is not one or is cut short."""
    return _arrays_in(_map(path))


def _arrays_in(buffer: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a segment file's bytes."""
    head = len(SEGMENT_MAGIC) + 8
    if len(buffer) < head or bytes(buffer[: len(SEGMENT_MAGIC)]) != SEGMENT_MAGIC:
        raise ValueError("not a segment file")
    size = int.from_bytes(buffer[len(SEGMENT_MAGIC) : head], "little")
    header = json.loads(bytes(buffer[head : head + size]).decode("utf-8"))
    start = -(-(head + size) // 64) * 64
    arrays = {}
    for name, spec in header["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(int(n) for n in spec["shape"])
        count = int(np.prod(shape)) if shape else 1
        at = start + int(spec["offset"])
        if at + count * dtype.itemsize > len(buffer):
            raise ValueError("segment file cut short")
        arrays[name] = np.frombuffer(buffer, dtype=dtype, count=count, offset=at).reshape(shape)
    return arrays, header["meta"]


def read_arrays_meta(path: Path) -> dict[str, Any]:
    """The meta of a segment file (its documents), read from its header alone."""
    with open(path, "rb") as handle:
        header, _ = _header(handle.read(len(SEGMENT_MAGIC) + 8), handle)
    return header["meta"]


_POSTINGS = ("tokens", "indptr", "rows", "tf", "lengths")


def _file_blocks(paths: Sequence[Path], size: int = 1 << 22) -> Iterator[bytes]:
    """The bytes of files one after another, block by block."""
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(size):
                yield block


@contextmanager
def index_lock(directory: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index folder's lock; refuse (after waiting up to `wait` s) if another build holds it."""
    import fcntl

    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / LOCK, "a+")  # noqa: SIM115 (held for the whole block below)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write the index in {directory}: {exc.strerror or exc}"
        ) from None
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise IndexBusyError(
                        f"another parkqa is updating the index in {directory} (pid {holder}); "
                        "wait for it to finish, then run again"
                    ) from None
                time.sleep(0.2)
        try:  # the pid only helps the busy message; a full disk must not stop here
            os.ftruncate(handle.fileno(), 0)
            os.pwrite(handle.fileno(), str(os.getpid()).encode(), 0)
        except OSError:
            pass
        yield
    finally:
        handle.close()


@dataclass(frozen=True)
class StagedGeneration:
    """A generation written beside the committed one and not yet switched in."""

    directory: Path
    manifest: Manifest  # what manifest.json will say once committed
    staged: Path  # the new manifest, waiting to replace manifest.json
    written: tuple[Path, ...]  # every file the generation wrote, the staged manifest last
    previous: Manifest | None = None  # the generation it replaces, whose files stay a while


class GenerationWriter:
    """Writes the files of the next generation, new segments and deletion sets, beside the
    committed one; segments the generation keeps are referred to, never copied. Call with
    the lock held; discard() removes what was written when the generation is given up."""

    def __init__(self, directory: Path, after: int = 0) -> None:
        """after: a generation the new one must come after besides the committed one (that
        of a Milvus index the folder is mirrored to, which may be ahead of it)."""
        self.directory = directory
        self.previous = read_manifest_quietly(directory)
        committed = self.previous.generation if self.previous else 0
        self.generation = max(committed, after) + 1
        self.written: list[Path] = []
        self._segments = 0

    def write_segment(
        self,
        passages: Sequence[Passage],
        sentence_vectors: np.ndarray,
        passage_vectors: np.ndarray,
        postings: Postings,
        vector_index: Any = None,
        lists: dict[str, np.ndarray] | None = None,
    ) -> SegmentEntry:
        """Write one segment: its passages (JSON Lines read by offset), its arrays (with the
        inverted lists of its vectors, if given), and its FAISS index if it has one."""
        name = self._free_name()
        docs = list(dict.fromkeys(p.doc for p in passages))
        number = {doc: i for i, doc in enumerate(docs)}
        lines = [
            (json.dumps(passage_to_json(p), ensure_ascii=False) + "\n").encode("utf-8")
            for p in passages
        ]
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum([len(line) for line in lines], out=offsets[1:])
        counts = [len(p.sentence_embedding_texts()) for p in passages]
        starts = np.zeros(len(passages) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        arrays = {
            "offsets": offsets,
            "doc_rows": np.array([number[p.doc] for p in passages], dtype=np.int32),
            "vectors": np.asarray(passage_vectors, dtype=np.float32),
            "sentences": np.asarray(sentence_vectors, dtype=np.float32),
            "sentence_starts": starts,
            "sentence_hashes": text_hashes(
                [t for p in passages for t in p.sentence_embedding_texts()]
            ),
            **postings.arrays(),
            **(lists or {}),
        }
        vectors_file = self._write_files(name, b"".join(lines), arrays, docs, vector_index)
        return SegmentEntry(name, len(passages), vectors=vectors_file)

    def _write_files(
        self, name: str, records: bytes | Iterable[Any], arrays: dict, docs: list[str], vector_index
    ) -> str | None:
        """Write a segment's passages, arrays and vector index (if any); return the name of
        the vector index file. A failure discards what this generation wrote."""
        import faiss

        vectors_file = f"{name}.faiss" if vector_index is not None else None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write(self.directory / f"{name}.passages", records, self.written)
            _write(
                self.directory / f"{name}.arrays", pack_arrays(arrays, {"docs": docs}), self.written
            )
            if vector_index is not None:
                data = faiss.serialize_index(vector_index).tobytes()
                _write(self.directory / vectors_file, data, self.written)
        except OSError as exc:
            self.discard()
            raise _write_error(self.directory, exc) from None
        return vectors_file

    def write_merged(self, entries: Sequence[SegmentEntry], index_vectors) -> SegmentEntry:
        """One segment holding the rows of segments this generation wrote, one segment's
        after another's; their files are then removed. Passages, vectors and sentence
        vectors are copied from the files as they are; the postings are merged; the vector
        index is index_vectors(vectors) -> (faiss index or None, inverted lists or None).
        No segment it merges may have deleted rows."""
        name = self._free_name()
        paths = [self.directory / f"{entry.name}.arrays" for entry in entries]
        stored = [stored_arrays(path) for path in paths]
        docs: list[str] = []
        doc_rows, offsets, starts = [], [np.zeros(1, np.int64)], [np.zeros(1, np.int64)]
        for part, path in zip(stored, paths):
            doc_rows.append(part["doc_rows"].read() + len(docs))
            offsets.append(part["offsets"].read()[1:] + offsets[-1][-1])
            starts.append(part["sentence_starts"].read()[1:] + starts[-1][-1])
            docs.extend(read_arrays_meta(path)["docs"])
        postings = Postings.merge(
            [Postings.from_arrays({key: part[key].read() for key in _POSTINGS}) for part in stored]
        )
        vectors = np.concatenate([part["vectors"].read() for part in stored])
        vector_index, lists = index_vectors(vectors)
        arrays = {
            "offsets": np.concatenate(offsets),
            "doc_rows": np.concatenate(doc_rows).astype(np.int32),
            "vectors": [part["vectors"] for part in stored],
            "sentences": [part["sentences"] for part in stored],
            "sentence_starts": np.concatenate(starts),
            "sentence_hashes": [part["sentence_hashes"] for part in stored],
            **postings.arrays(),
            **(lists or {}),
        }
        del vectors
        records = [self.directory / f"{entry.name}.passages" for entry in entries]
        vectors_file = self._write_files(name, _file_blocks(records), arrays, docs, vector_index)
        self.remove(entries)
        return SegmentEntry(name, sum(entry.rows for entry in entries), vectors=vectors_file)

    def remove(self, entries: Sequence[SegmentEntry]) -> None:
        """Remove the files of segments this generation wrote and no longer needs."""
        names = {file for entry in entries for file in entry.files()}
        gone = [path for path in self.written if path.name in names]
        _discard(gone)
        self.written = [path for path in self.written if path.name not in names]

    def _free_name(self) -> str:
        """The next segment name whose files do not exist: segments left by a build that was
        interrupted are read for their vectors, so they are never written over."""
        while True:
            name = f"seg{self.generation:06d}-{self._segments:04d}"
            self._segments += 1
            if not (self.directory / f"{name}.arrays").exists():
                return name

    def write_deleted(self, entry: SegmentEntry, deleted: np.ndarray) -> SegmentEntry:
        """The entry of a kept segment with more of its rows deleted, written to a new file
        (the committed generation's file stays as it is)."""
        name = f"{entry.name}.deleted{self.generation:06d}.npy"
        data = io.BytesIO()
        np.save(data, np.unique(deleted).astype(np.int32))
        try:
            _write(self.directory / name, data.getvalue(), self.written)
        except OSError as exc:
            self.discard()
            raise _write_error(self.directory, exc) from None
        return dataclasses.replace(entry, deleted=name, deleted_rows=len(np.unique(deleted)))

    def stage(self, manifest: Manifest) -> StagedGeneration:
        """Write the new manifest beside manifest.json, switching nothing yet."""
        manifest = dataclasses.replace(
            manifest,
            format=FORMAT_VERSION,
            generation=self.generation,
            passages=sum(entry.live for entry in manifest.segments),
        )
        staged = self.directory / f"{MANIFEST}.{self.generation}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1)
            _write(staged, text.encode("utf-8"), self.written)
        except OSError as exc:
            self.discard()
            raise _write_error(self.directory, exc) from None
        return StagedGeneration(
            self.directory, manifest, staged, tuple(self.written), self.previous
        )

    def discard(self) -> None:
        _discard(self.written)
        self.written.clear()

    def keep_segments(self) -> None:
        """Give the generation up but keep the segments it wrote, whose vectors the next
        build reuses instead of embedding them again (the next commit removes them)."""
        _discard([path for path in self.written if not path.name.startswith("seg")])
        self.written.clear()


class StagedVectors:
    """Sentence vectors of segments that no committed generation names (written by a build
    that was interrupted), found by the hash of their text; memory-mapped, so a build that
    resumes reuses what was embedded without holding it in memory."""

    def __init__(self, directory: Path, committed: Manifest | None) -> None:
        named = committed.files() if committed else set()
        self._parts = []
        for path in sorted(directory.glob("seg*.arrays")) if directory.is_dir() else []:
            if path.name in named:
                continue
            try:
                arrays, _ = read_arrays(path)
                hashes = arrays["sentence_hashes"]
                order = np.argsort(hashes, kind="stable")
                self._parts.append((np.asarray(hashes)[order], order, arrays["sentences"]))
            except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
                continue

    def __bool__(self) -> bool:
        return bool(self._parts)

    def find(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The staged vectors of those texts that have one."""
        found: dict[str, np.ndarray] = {}
        if not self._parts or not texts:
            return found
        wanted = text_hashes(texts)
        for hashes, order, sentences in self._parts:
            at = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
            for i in np.flatnonzero(hashes[at] == wanted).tolist():
                found.setdefault(texts[i], np.asarray(sentences[int(order[at[i]])]))
        return found


def commit_generation(generation: StagedGeneration) -> None:
    """Switch readers to a staged generation by atomically replacing manifest.json, the only
    step that changes which generation is committed; then remove the files that neither it
    nor the generation it replaced reads. If the replace fails, the staged files are removed
    and the committed generation stays as it was."""
    directory = generation.directory
    try:
        os.replace(generation.staged, directory / MANIFEST)
    except OSError as exc:
        _discard(list(generation.written))
        raise _write_error(directory, exc) from None
    # Committed: the manifest names this generation, so none of its files may be deleted now.
    try:
        _fsync_dir(directory)
    except OSError as exc:
        logger.warning(
            "the new index in %s is in place, but the folder could not be synced to disk (%s); "
            "after a power cut the previous index may come back",
            directory,
            exc.strerror or exc,
        )
    keep = generation.manifest.files()
    if generation.previous is not None:
        keep |= generation.previous.files()
    _remove_stale(directory, keep)


def rewrite_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace manifest.json with one for the same generation whose records alone changed
    (file sizes and times, files left out); no data file is written or removed, and readers
    keep the same generation. Call with the lock held."""
    staged = directory / f"{MANIFEST}.{manifest.generation}.tmp"
    written: list[Path] = []
    try:
        text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1)
        _write(staged, text.encode("utf-8"), written)
        os.replace(staged, directory / MANIFEST)
    except OSError as exc:
        _discard(written)
        raise _write_error(directory, exc) from None


def _write_error(directory: Path, exc: OSError) -> IndexWriteError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return IndexWriteError(
            f"disk full while writing the index in {directory}; free some space and run "
            "again (the previous index is unchanged)"
        )
    return IndexWriteError(
        f"cannot write the index in {directory}: {exc.strerror or exc}; "
        "the previous index is unchanged"
    )


def read_manifest_quietly(directory: Path) -> Manifest | None:
    """The manifest if it is readable; None if it is missing or damaged."""
    try:
        return read_manifest(directory)
    except IndexCorruptError:
        return None


def _write(path: Path, data: bytes | Iterable[Any], written: list[Path]) -> None:
    """Write a file and sync it to disk; data is bytes or a sequence of buffers (a segment's
    arrays are written from where they are, not joined into one copy first)."""
    written.append(path)
    with open(path, "wb") as handle:
        for chunk in [data] if isinstance(data, bytes) else data:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())


def _discard(written: list[Path]) -> None:
    """Remove the files of a generation that was never committed, as far as the disk allows."""
    for path in written:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.debug("could not remove %s, which no manifest names", path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# The files of the index format before segments, removed once a segmented index is committed.
LEGACY_FILES = ("passages.", "vectors.", "keywords.", "sentences.")


def _remove_stale(directory: Path, keep: set[str]) -> None:
    """Remove index files that no kept generation reads (segments, deletion sets, staged
    manifests of builds that died, files of the previous format); one that cannot be
    removed is only left over."""
    try:
        paths = sorted(directory.iterdir())
    except OSError as exc:
        logger.warning(
            "could not list %s to remove old index files (%s)", directory, exc.strerror or exc
        )
        return
    for path in paths:
        ours = (
            path.name.startswith("seg")
            or path.name.startswith(LEGACY_FILES)
            or (path.name.startswith(f"{MANIFEST}.") and path.name.endswith(".tmp"))
        )
        if not ours or path.name in keep:
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning(
                "could not remove the old index file %s (%s); it is no longer used",
                path,
                exc.strerror or exc,
            )
