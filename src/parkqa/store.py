"""The index folder on disk: a JSON manifest, passages as JSON Lines, a FAISS file and
keyword postings. A new generation is written beside the old one and committed by
atomically replacing manifest.json, so readers never see a half-written index."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import logging
import os
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parkqa.errors import IndexBusyError, IndexCorruptError, IndexMissingError, IndexWriteError
from parkqa.keywords import KeywordIndex
from parkqa.manifest import FORMAT_VERSION, Manifest
from parkqa.passages import Passage, Sentence

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = ".lock"
REBUILD_HINT = "rebuild it with: parkqa index --rebuild"


@dataclass(frozen=True)
class LoadedIndex:
    """An index read from disk, ready to search."""

    directory: Path
    manifest: Manifest
    passages: tuple[Passage, ...]
    vectors: Any  # a faiss.Index of passage vectors
    keywords: KeywordIndex
    sentence_vectors: np.ndarray  # every passage's sentences, in passage order (memory-mapped)
    sentence_starts: np.ndarray  # row of each passage's first sentence; one more at the end

    def sentence_similarities(self, row: int, query: np.ndarray) -> np.ndarray:
        """Cosine of each sentence of the passage at row to a normalised question vector."""
        start, end = int(self.sentence_starts[row]), int(self.sentence_starts[row + 1])
        return np.asarray(self.sentence_vectors[start:end]) @ query.reshape(-1)

    def passage_text(self, row: int) -> str:
        """The passage's title, section and text, for checking what it holds."""
        passage = self.passages[row]
        return f"{passage.title}\n{passage.section}\n{passage.text}"

    @property
    def generation(self) -> int:
        return self.manifest.generation

    @property
    def encoder_name(self) -> str:
        return self.manifest.settings.encoder


def passage_to_json(passage: Passage) -> dict[str, Any]:
    return {
        "id": passage.id,
        "doc": passage.doc,
        "title": passage.title,
        "section": passage.section,
        "lines": [passage.line_start, passage.line_end],
        "chars": [passage.char_start, passage.char_end],
        "date": passage.date,
        "tags": list(passage.tags),
        "sentences": [[s.start, s.end, s.line_start, s.line_end] for s in passage.sentences],
        "text": passage.text,
    }


def passage_from_json(record: dict[str, Any]) -> Passage:
    return Passage(
        id=record["id"],
        doc=record["doc"],
        title=record["title"],
        section=record["section"],
        line_start=record["lines"][0],
        line_end=record["lines"][1],
        char_start=record["chars"][0],
        char_end=record["chars"][1],
        text=record["text"],
        sentences=tuple(Sentence(*values) for values in record["sentences"]),
        date=record.get("date"),
        tags=tuple(record.get("tags") or ()),
    )


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
    required = {"format", "generation", "files", "encoder", "chunking", "documents", "passages"}
    if not isinstance(manifest, dict) or not required <= manifest.keys():
        raise IndexCorruptError(f"index manifest {path} is incomplete; {REBUILD_HINT}")
    if manifest["format"] != FORMAT_VERSION:
        raise IndexCorruptError(
            f"index in {directory} has format {manifest['format']}, this parkqa reads "
            f"{FORMAT_VERSION}; {REBUILD_HINT}"
        )
    try:
        if not _well_formed(manifest):
            raise ValueError("bad values")
        return Manifest.from_json(manifest)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise IndexCorruptError(f"index manifest {path} has bad values; {REBUILD_HINT}") from None


def _well_formed(manifest: dict[str, Any]) -> bool:
    """Whether the manifest's values have the right types and name plain files in the folder."""
    files, encoder = manifest["files"], manifest["encoder"]
    return (
        _whole(manifest["generation"])
        and manifest["generation"] >= 1
        and _whole(manifest["passages"])
        and manifest["passages"] >= 0
        and isinstance(manifest["documents"], dict)
        and isinstance(encoder, dict)
        and isinstance(encoder.get("name"), str)
        and _whole(encoder.get("dimension"))
        and isinstance(files, dict)
        and all(
            isinstance(files.get(key), str)
            and files[key] == Path(files[key]).name
            and not files[key].startswith(".")
            for key in ("passages", "vectors", "keywords", "vocabulary", "sentences")
        )
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_encoder(index: LoadedIndex, encoder_name: str) -> None:
    """Refuse to search an index whose vectors came from another encoder than the configured one."""
    if index.encoder_name != encoder_name:
        raise IndexCorruptError(
            f"the index in {index.directory} was built with the encoder {index.encoder_name}, "
            f"but embedding.model is {encoder_name}; {REBUILD_HINT}"
        )


def load_index(directory: Path) -> LoadedIndex:
    """Read the committed index, checking that its parts agree with the manifest."""
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


def _load_generation(directory: Path, manifest: Manifest) -> LoadedIndex:
    import faiss

    files = manifest.files
    count = manifest.passages

    def damaged(what: str) -> IndexCorruptError:
        return IndexCorruptError(f"index in {directory} is damaged: {what}; {REBUILD_HINT}")

    try:
        with open(directory / files["passages"], encoding="utf-8") as handle:
            passages = tuple(passage_from_json(json.loads(line)) for line in handle if line.strip())
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, TypeError, IndexError):
        raise damaged("the passages file is not valid JSON Lines") from None
    if len(passages) != count:
        raise damaged(f"{len(passages)} passages on disk, the manifest says {count}")
    try:
        raw = np.fromfile(directory / files["vectors"], dtype=np.uint8)
        vectors = faiss.deserialize_index(raw)
    except FileNotFoundError:
        raise
    except (RuntimeError, ValueError, MemoryError):
        raise damaged("the FAISS file is truncated or not a FAISS index") from None
    if vectors.ntotal != count:
        raise damaged(f"{vectors.ntotal} vectors for {count} passages")
    if vectors.d != manifest.settings.dimension:
        raise damaged(
            f"vectors have {vectors.d} dimensions, the manifest says {manifest.settings.dimension}"
        )
    try:
        meta = json.loads((directory / files["vocabulary"]).read_text(encoding="utf-8"))
        with np.load(directory / files["keywords"], allow_pickle=False) as arrays:
            keywords = KeywordIndex.from_arrays(meta, {k: arrays[k] for k in arrays.files})
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, OSError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        raise damaged("the keyword index is unreadable") from None
    if keywords.count != count or len(keywords.indptr) != len(keywords.vocabulary) + 1:
        raise damaged("the keyword index does not match the passages")
    try:
        sentences = np.load(directory / files["sentences"], mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError):
        raise damaged("the sentence vectors are unreadable") from None
    counts = [len(p.sentence_embedding_texts()) for p in passages]
    starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    if sentences.ndim != 2 or sentences.shape != (int(starts[-1]), vectors.d):
        raise damaged("the sentence vectors do not match the passages")
    return LoadedIndex(directory, manifest, passages, vectors, keywords, sentences, starts)


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
    written: tuple[Path, ...]  # every file of the generation, the staged manifest last


def write_generation(
    directory: Path,
    manifest: Manifest,
    passages: list[Passage],
    vectors: Any,
    keywords: KeywordIndex,
    sentence_vectors: np.ndarray,
) -> StagedGeneration:
    """Write a new generation's files beside the committed one, switching nothing: readers
    keep the committed generation until commit_generation. Call with the lock held."""
    import faiss

    previous = read_manifest_quietly(directory)
    generation = previous.generation + 1 if previous else 1
    files = {
        "passages": f"passages.{generation}.jsonl",
        "vectors": f"vectors.{generation}.faiss",
        "keywords": f"keywords.{generation}.npz",
        "vocabulary": f"keywords.{generation}.json",
        "sentences": f"sentences.{generation}.npy",
    }
    manifest = dataclasses.replace(
        manifest,
        format=FORMAT_VERSION,
        generation=generation,
        files=files,
        passages=len(passages),
    )
    staged = directory / f"{MANIFEST}.{generation}.tmp"
    written: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(passage_to_json(p), ensure_ascii=False) + "\n" for p in passages)
        _write(directory / files["passages"], lines.encode("utf-8"), written)
        _write(directory / files["vectors"], faiss.serialize_index(vectors).tobytes(), written)
        path = directory / files["keywords"]
        written.append(path)
        with open(path, "wb") as handle:
            np.savez(handle, **keywords.arrays())
            handle.flush()
            os.fsync(handle.fileno())
        matrix = io.BytesIO()
        np.save(matrix, np.ascontiguousarray(sentence_vectors, dtype=np.float32))
        _write(directory / files["sentences"], matrix.getvalue(), written)
        vocabulary = json.dumps(keywords.meta(), ensure_ascii=False)
        _write(directory / files["vocabulary"], vocabulary.encode("utf-8"), written)
        text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1)
        _write(staged, text.encode("utf-8"), written)
    except OSError as exc:
        _discard(written)
        raise _write_error(directory, exc) from None
    return StagedGeneration(directory, manifest, staged, tuple(written))


def commit_generation(generation: StagedGeneration) -> None:
    """Switch readers to a staged generation by atomically replacing manifest.json, the only
    step that changes which generation is committed; then remove generations older than the
    one before it. If the replace fails, the staged files are removed and the committed
    generation stays as it was."""
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
    number = generation.manifest.generation
    _remove_stale(directory, keep={number, number - 1})


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


def _write(path: Path, data: bytes, written: list[Path]) -> None:
    written.append(path)
    with open(path, "wb") as handle:
        handle.write(data)
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


def _remove_stale(directory: Path, keep: set[int]) -> None:
    """Remove files of generations other than `keep`; one that cannot be removed is only left over."""
    try:
        paths = list(directory.iterdir())
    except OSError as exc:
        logger.warning(
            "could not list %s to remove old index files (%s)", directory, exc.strerror or exc
        )
        return
    for path in paths:
        parts = path.name.split(".")
        if len(parts) >= 3 and parts[0] in {
            "passages",
            "vectors",
            "keywords",
            "sentences",
            MANIFEST.split(".")[0],
        }:
            number = parts[1] if parts[0] != "manifest" else parts[2]
            if (number.isdigit() and int(number) not in keep) or (
                parts[-1] == "tmp" and number.isdigit() and int(number) not in keep
            ):
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    logger.warning(
                        "could not remove the old index file %s (%s); it is no longer used",
                        path,
                        exc.strerror or exc,
                    )
