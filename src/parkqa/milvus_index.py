"""Passages, their vectors and their BM25 keyword weights in Milvus, so that several processes
on several machines answer from one index.

Three collections, named after MilvusConfig.collection:

- `<name>_passages`: one row per passage and generation (key "<generation>:<passage id>"),
  holding the passage as JSON, its dense vector (inner product), and its keyword vector: a
  sparse vector of BM25 document-side weights tf*(k1+1)/(tf + k1*(1-b+b*len/avgdl)) keyed by
  the token's slot (a stable 32-bit hash of the token, probed past collisions). A search
  sends the query tokens' idf at their slots, so the inner product is the BM25 score.
- `<name>_terms`: per token, its slot and document frequency, in two copies (keys
  "<token>\t0" and "<token>\t1"): an update overwrites the older copy with the new count,
  tagged with its generation, so a reader takes the newest copy not after the generation it
  reads and query idf is exact after any number of updates. Looked up by primary key; a
  filter on the token would scan every row.
- `<name>_state`: one row per generation: the passage count and total length (for avgdl),
  which rows are retired, and the encoder the vectors came from.
- `<name>_sentences`: the vectors of each passage's sentences (for choosing the sentence that
  answers), keyed by a digest of the texts embedded, so a passage kept by an update or
  rewritten by a reweight shares them; deleted once no passage row names them.
- `<name>_manifest`: the manifest of the index folder a generation mirrors (documents, their
  hashes and metadata, files left out), as JSON cut into parts, so that readers list the
  documents and a writer tells what changed without a folder of its own.

A passage row also holds a presence vector (1 at the slot of each distinct token), whose inner
product with a query of ones counts the query tokens a passage holds: passages holding all of
a name's tokens are found by one search.

An update writes its rows tagged with a generation no reader asks for yet, then inserts one
state row (the flip); readers filter on the generation they read, so they see the whole update
or none of it. Rows an update retires stay hidden, and are deleted after the next flip; a
reader more than one update behind (its rows may be gone) reads again (MilvusIndex.read).

Document-side weights use a reference avgdl kept in the state. Updates move the true avgdl
away from it; when it is more than `reweight_tolerance` away, the update rewrites every
passage's weights (a new base generation), so scores stay within about that tolerance of
exact BM25 (0 reweights on every update: exact, and slow for a large index).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from parkqa.config import MILVUS_INSTALL_HINT, MilvusConfig
from parkqa.errors import (
    ConfigError,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    IndexServerError,
    IndexWriteError,
)
from parkqa.passages import Passage, passage_from_json, passage_to_json

logger = logging.getLogger(__name__)

INSTALL_HINT = MILVUS_INSTALL_HINT
SLOTS = 2**32 - 1  # Milvus sparse indices are uint32 below 2**32 - 1
EMPTY_SLOT = SLOTS - 1  # a passage without tokens keeps one negligible weight here
_EMPTY_WEIGHT = 1e-30
_MAX_TEXT = 65_535  # bytes in a Milvus VARCHAR
_PAGE = 1000
_MAX_LIMIT = 16_384  # the most results one Milvus search returns
T = TypeVar("T")


class PassageFilter(Protocol):
    """Which passages a search may return: any of these tags, dates in a range (the
    attributes of parkqa.retrieval.Filters)."""

    tags: Sequence[str]
    date_from: str | None
    date_to: str | None


@dataclass(frozen=True)
class IndexState:
    """What one generation of the index is: which rows are visible, and the statistics
    that query idf and avgdl need."""

    generation: int
    base: int  # rows written before this generation were reweighted away
    oldest_readable: int  # readers at an older generation may have lost rows
    hidden: tuple[str, ...]  # keys of rows retired here or one generation before
    retired: tuple[str, ...]  # keys of rows retired at this generation
    count: int
    total_length: int
    reference_length: float  # the avgdl the stored document-side weights use
    encoder: str
    dimension: int
    k1: float
    b: float

    @property
    def average_length(self) -> float:
        return self.total_length / self.count if self.count else 0.0

    @property
    def drift(self) -> float:
        """How far the avgdl of the stored weights is from the true one (0.01: 1%)."""
        if not self.count or not self.reference_length:
            return 0.0
        return abs(self.average_length / self.reference_length - 1)

    def visible(self) -> str:
        """Milvus filter for the passage rows of this generation."""
        expression = f"generation >= {self.base} and generation <= {self.generation}"
        if self.hidden:
            expression += f" and key not in {_literal(list(self.hidden))}"
        return expression


def token_slot(token: str) -> int:
    """The token's home slot in the sparse vectors: a hash that every process computes alike
    (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % EMPTY_SLOT


def document_weights(
    counts: dict[str, int], length: int, reference_length: float, k1: float, b: float
) -> dict[str, float]:
    """BM25 document-side weight of each token of a passage (idf comes with the query)."""
    norm = k1 * (1 - b + b * length / max(reference_length, 1e-9))
    return {token: tf * (k1 + 1) / (tf + norm) for token, tf in counts.items()}


def query_idf(df: np.ndarray, count: int) -> np.ndarray:
    """BM25 idf as parkqa's keyword index computes it, float32 like its stored idf."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((count - df + 0.5) / (df + 0.5)).astype(np.float32)


class MilvusIndex:
    """Passages, dense vectors and keyword weights in Milvus. One process writes (apply);
    any number read (read, or view for several searches at one generation)."""

    def __init__(
        self,
        config: MilvusConfig,
        encoder: str | None,
        dimension: int | None,
        k1: float = 1.2,
        b: float = 0.75,
        reweight_tolerance: float = 0.05,
        create: bool = True,
    ) -> None:
        """Open (creating what is missing) the collections of an index built with this encoder;
        with create=False, open the collections a writer made, taking the encoder and settings
        from them (IndexMissingError if there are none)."""
        self.config = config
        self.reweight_tolerance = reweight_tolerance
        self.names = {part: f"{config.collection}_{part}" for part in _SCHEMAS}
        self.encoder = encoder or ""
        self.dimension = int(dimension or 0)
        self.k1, self.b = k1, b
        self.client = _connect(config)
        with _server_errors(config):
            if create:
                self._create_missing()
            else:
                self._require_existing()
            self._check_schema()
            for name in self.names.values():
                self.client.load_collection(name)
            state = self.state()
        if create:
            self._check_settings(state)
        else:
            self.encoder, self.dimension = state.encoder, state.dimension
            self.k1, self.b = state.k1, state.b

    @classmethod
    def existing(cls, config: MilvusConfig) -> MilvusIndex:
        """The index a writer made, opened for reading."""
        return cls(config, None, None, create=False)

    def close(self) -> None:
        """Close the connection (an embedded database stays open until the process exits)."""
        with _server_errors(self.config):
            self.client.close()

    def state(self) -> IndexState:
        """The current generation's state: the state row with the highest generation."""
        with _server_errors(self.config):
            rows = self.client.query(
                self.names["state"],
                filter="generation >= 0",
                output_fields=list(_STATE_FIELDS),
                consistency_level="Strong",
            )
        if not rows:
            raise IndexCorruptError(
                f"the Milvus collection {self.names['state']} has no state; drop the "
                f"collections named {self.config.collection}_* and index again"
            )
        return _state_from_row(max(rows, key=lambda row: row["generation"]))

    @property
    def generation(self) -> int:
        return self.state().generation

    def view(self) -> MilvusView:
        """The index as of the current generation, for several searches that must agree."""
        return MilvusView(self, self.state())

    def read(self, reading: Callable[[MilvusView], T], attempts: int = 5) -> T:
        """reading(view) at one generation, again at a newer one if an update deleted rows of
        that generation meanwhile."""
        for _ in range(attempts):
            view = self.view()
            try:
                result = reading(view)
            except GenerationGone:
                continue
            if view.intact():
                return result
        raise IndexBusyError(
            f"the Milvus index {self.config.collection} changed {attempts} times while it was "
            "read; try again when updates are less frequent"
        )

    def search_dense(
        self,
        vector: np.ndarray,
        k: int,
        filters: PassageFilter | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """MilvusView.search_dense at the current generation."""
        return self.read(lambda view: view.search_dense(vector, k, filters, ids))

    def search_keywords(
        self,
        tokens: Sequence[str],
        k: int,
        filters: PassageFilter | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """MilvusView.search_keywords at the current generation."""
        return self.read(lambda view: view.search_keywords(tokens, k, filters, ids))

    def passages(self, ids: Sequence[str]) -> list[Passage]:
        """MilvusView.passages at the current generation."""
        return self.read(lambda view: view.passages(ids))

    def apply(
        self,
        generation: int,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        tokens: Sequence[Sequence[str]],
        removed: Iterable[str] = (),
        *,
        sentence_vectors: Sequence[np.ndarray] | None = None,
        removed_documents: Iterable[str] = (),
        replace_all: bool = False,
        manifest: str | None = None,
    ) -> IndexState:
        """Add passages (with their dense vectors, keyword tokens and, if given, the vectors of
        their sentences) and remove passages by id, by document, or all of them (replace_all),
        as one change that readers see whole from the given generation on. A passage id both
        removed and added is replaced. manifest: the JSON text that describes the generation
        (MilvusView.manifest). Returns the new state."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if not len(passages):
            vectors = vectors.reshape(0, self.dimension)
        if len(tokens) != len(passages) or vectors.shape != (len(passages), self.dimension):
            raise ValueError(
                f"{len(passages)} passages need as many token lists and {self.dimension}-dim "
                f"vectors; got {len(tokens)} token lists and vectors of shape {vectors.shape}"
            )
        if sentence_vectors is not None and len(sentence_vectors) != len(passages):
            raise ValueError(f"{len(passages)} passages need as many sets of sentence vectors")
        with _server_errors(self.config):
            state = self.state()
            if generation <= state.generation:
                raise ValueError(f"generation {generation} is not after {state.generation}")
            self._discard_unpublished(state)
            if replace_all:
                retired = self._all_live(state, _RETIRED_FIELDS)
            else:
                retired = self._live_rows(state, "passage", list(dict.fromkeys(removed)))
                known = {row["key"] for row in retired}
                by_document = self._live_rows(state, "doc", list(dict.fromkeys(removed_documents)))
                retired += [row for row in by_document if row["key"] not in known]
            counts = [Counter(t) for t in tokens]
            count = state.count + len(passages) - len(retired)
            total = state.total_length + sum(map(len, tokens)) - sum(r["length"] for r in retired)
            average = total / count if count else 0.0
            hidden = state.retired + tuple(r["key"] for r in retired)
            reweight = count > 0 and (
                state.reference_length <= 0
                or abs(average / state.reference_length - 1) > self.reweight_tolerance
                # every search filters out the hidden rows; past this, rewriting is cheaper
                or len(_literal(list(hidden))) > _MAX_TEXT // 2
            )
            reference = average if reweight else state.reference_length
            slots = self._write_terms(state, generation, counts, retired)
            digests = self._write_sentences(generation, passages, sentence_vectors)
            rows = [
                self._row(generation, p, v, c, sum(c.values()), reference, slots, d)
                for p, v, c, d in zip(passages, vectors, counts, digests)
            ]
            if reweight and not replace_all:
                rows += self._reweighted(
                    state, generation, reference, {r["key"] for r in retired}, slots
                )
            self._insert(self.names["passages"], rows)
            if manifest is not None:
                self._write_manifest(generation, manifest)
            for name in ("passages", "terms", "sentences", "manifest"):
                self.client.flush(self.names[name])
            if self.state().generation != state.generation:
                raise IndexBusyError(
                    f"another process updated the Milvus index {self.config.collection} "
                    "meanwhile; update it from one process at a time"
                )
            new = IndexState(
                generation=generation,
                base=generation if reweight else state.base,
                oldest_readable=state.generation,
                # rows retired one generation before are deleted only after this flip
                hidden=() if reweight else hidden,
                retired=() if reweight else tuple(r["key"] for r in retired),
                count=count,
                total_length=total,
                reference_length=reference,
                encoder=self.encoder,
                dimension=self.dimension,
                k1=self.k1,
                b=self.b,
            )
            self._insert(self.names["state"], [_state_row(new, self.dimension)])
            self.client.flush(self.names["state"])
            self._delete_retired(state)
        logger.info(
            "Milvus index %s: generation %d, %d passages (+%d, -%d)%s",
            self.config.collection,
            generation,
            count,
            len(passages),
            len(retired),
            ", reweighted" if reweight else "",
        )
        return new

    # -- writing --

    def _row(
        self,
        generation: int,
        passage: Passage,
        vector: np.ndarray,
        counts: dict[str, int],
        length: int,
        reference: float,
        slots: dict[str, int],
        digest: str,
    ) -> dict[str, Any]:
        weights = document_weights(counts, length, reference, self.k1, self.b)
        return {
            "key": f"{generation}:{passage.id}",
            "passage": passage.id,
            "doc": passage.doc,
            "generation": generation,
            "length": length,
            "dense": np.asarray(vector, dtype=np.float32).tolist(),
            "keywords": _sparse({slots[token]: weight for token, weight in weights.items()}),
            "presence": _sparse({slots[token]: 1.0 for token in counts}),
            "date": passage.date or "",
            "tags": list(passage.tags),
            "record": _checked_text(passage_record(passage), passage.id),
            "counts": _checked_text(json.dumps(counts, ensure_ascii=False), passage.id),
            "sentences": digest,
        }

    def _write_sentences(
        self,
        generation: int,
        passages: Sequence[Passage],
        sentence_vectors: Sequence[np.ndarray] | None,
    ) -> list[str]:
        """Store the sentence vectors of the passages whose sentences are not stored yet;
        return each passage's digest ("" for a passage given none)."""
        if sentence_vectors is None:
            return [""] * len(passages)
        digests = [sentence_digest(p) for p in passages]
        stored = self._stored_digests(list(set(digests)))
        per_row = max(1, _MAX_TEXT * 3 // 4 // (4 * self.dimension))
        rows, written = [], set(stored)
        for digest, vectors in zip(digests, sentence_vectors):
            if digest in written:
                continue
            written.add(digest)
            vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
            for part, start in enumerate(range(0, max(len(vectors), 1), per_row)):
                chunk = vectors[start : start + per_row]
                rows.append(
                    {
                        "key": f"{digest}:{part}",
                        "digest": digest,
                        "part": part,
                        "count": len(chunk),
                        "generation": generation,
                        "vectors": base64.b64encode(chunk.tobytes()).decode("ascii"),
                        "unused": [0.0, 0.0],
                    }
                )
        self._insert(self.names["sentences"], rows)
        return digests

    def _stored_digests(self, digests: list[str]) -> set[str]:
        return self._stored_values(
            "sentences",
            "digest",
            digests,
            lambda chunk: f"part == 0 and digest in {_literal(chunk)}",
        )

    def _stored_values(
        self, kind: str, field: str, values: list, condition: Callable[[list], str]
    ) -> set:
        """Which of the values a collection holds in a field, asked a page at a time."""
        stored: set = set()
        for chunk in _chunks(values, _PAGE):
            rows = self.client.query(
                self.names[kind],
                filter=condition(chunk),
                output_fields=[field],
                consistency_level="Strong",
            )
            stored.update(row[field] for row in rows)
        return stored

    def _write_manifest(self, generation: int, manifest: str) -> None:
        """The manifest's text in parts that fit a VARCHAR (cut between characters)."""
        parts, part = [], []
        size = 0
        for char in manifest:
            width = len(char.encode("utf-8"))
            if size + width > _MAX_TEXT:
                parts.append("".join(part))
                part, size = [], 0
            part.append(char)
            size += width
        parts.append("".join(part))
        rows = [
            {
                "key": f"{generation}:{n}",
                "generation": generation,
                "part": n,
                "parts": len(parts),
                "text": text,
                "unused": [0.0, 0.0],
            }
            for n, text in enumerate(parts)
        ]
        self._insert(self.names["manifest"], rows)

    def _reweighted(
        self,
        state: IndexState,
        generation: int,
        reference: float,
        retired: set[str],
        slots: dict[str, int],
    ) -> list[dict[str, Any]]:
        """Every surviving passage again, at the new generation, weighted for a new avgdl."""
        rows = [row for row in self._all_live(state, _ROW_FIELDS) if row["key"] not in retired]
        counts = [json.loads(row["counts"]) for row in rows]
        unknown = list({token for c in counts for token in c} - slots.keys())
        slots = {
            **slots,
            **{t: slot for t, (slot, _) in self._terms(unknown, state.generation).items()},
        }
        rewritten = []
        for row, passage_counts in zip(rows, counts):
            weights = document_weights(passage_counts, row["length"], reference, self.k1, self.b)
            row = {name: row[name] for name in _ROW_FIELDS}
            row["key"] = f"{generation}:{row['passage']}"
            row["generation"] = generation
            row["keywords"] = _sparse({slots[t]: w for t, w in weights.items()})
            row["presence"] = _sparse({slots[t]: 1.0 for t in passage_counts})
            row["dense"] = np.asarray(row["dense"], dtype=np.float32).tolist()
            rewritten.append(row)
        return rewritten

    def _write_terms(
        self,
        state: IndexState,
        generation: int,
        counts: list[Counter],
        retired: list[dict[str, Any]],
    ) -> dict[str, int]:
        """Write the new document frequency of every token the change touches, over the older
        of its two copies, giving new tokens a free slot; return the slot of every token of
        the added passages."""
        change: Counter = Counter()
        for passage_counts in counts:
            change.update(passage_counts.keys())
        for row in retired:
            change.subtract(json.loads(row["counts"]).keys())
        copies = self._term_copies(list(change))
        current = {
            token: max(published, key=lambda row: row["generation"])
            for token, rows in copies.items()
            if (published := [row for row in rows if row["generation"] <= state.generation])
        }
        slots = {token: row["slot"] for token, row in current.items()}
        slots.update(self._free_slots([t for t in change if t not in current], state))
        rows = []
        for token, delta in change.items():
            row = current.get(token)
            if row is not None and not delta:
                continue
            copy = 1 - row["copy"] if row is not None else 0
            rows.append(
                {
                    "key": f"{token}\t{copy}",
                    "token": token,
                    "chars": len(token),
                    "copy": copy,
                    "slot": slots[token],
                    "df": (row["df"] if row is not None else 0) + delta,
                    "generation": generation,
                    "previous": row["generation"] if row is not None else 0,
                    "unused": [0.0, 0.0],
                }
            )
        for chunk in _chunks(rows, _PAGE):
            self.client.upsert(self.names["terms"], chunk)
        return slots

    def _free_slots(self, tokens: list[str], state: IndexState) -> dict[str, int]:
        """A slot for each new token: its hash, or the next free one if another token has it."""
        slots: dict[str, int] = {}
        wanted = {token: token_slot(token) for token in tokens}
        first = state.generation == 0  # nothing is taken yet
        taken = set() if first else self._taken_slots(list(wanted.values()))
        for token, slot in wanted.items():
            while slot in taken or slot == EMPTY_SLOT:
                slot = (slot + 1) % EMPTY_SLOT
                if slot not in taken and not first:
                    taken |= self._taken_slots([slot])
            slots[token] = slot
            taken.add(slot)
        return slots

    def _taken_slots(self, slots: list[int]) -> set[int]:
        return self._stored_values("terms", "slot", slots, lambda chunk: f"slot in {chunk}")

    def _discard_unpublished(self, state: IndexState) -> None:
        """Rows of an update that failed before its flip: no reader sees them, and the next
        update of that generation would clash with them."""
        unpublished = f"generation > {state.generation}"
        for name in ("passages", "terms", "sentences", "manifest"):
            self.client.delete(self.names[name], filter=unpublished)
            self.client.flush(self.names[name])

    def _delete_retired(self, state: IndexState) -> None:
        """Delete what no reader of the previous generation or later needs: rows invisible at
        it, the sentence vectors no passage row names any more, the manifests and state rows
        of older generations."""
        retired = f"generation < {state.base}"
        if state.hidden:
            retired += f" or key in {_literal(list(state.hidden))}"
        digests = self._digests_of(retired)
        self.client.delete(self.names["passages"], filter=retired)
        self.client.flush(self.names["passages"])
        self._delete_orphan_sentences(digests)
        self.client.delete(self.names["state"], filter=f"generation < {state.generation}")
        manifests = self.client.query(
            self.names["manifest"],
            filter=f"part == 0 and generation <= {state.generation}",
            output_fields=["generation"],
            consistency_level="Strong",
        )
        if manifests:
            newest = max(row["generation"] for row in manifests)
            self.client.delete(self.names["manifest"], filter=f"generation < {newest}")
        for name in self.names.values():
            self.client.flush(name)

    def _digests_of(self, condition: str) -> set[str]:
        """The sentence digests of the passage rows that meet the condition."""
        digests: set[str] = set()
        with _quiet("pymilvus.client.iterator.query_iterator", "grpc._server"):
            iterator = self.client.query_iterator(
                self.names["passages"],
                batch_size=_PAGE * 10,
                filter=condition,
                output_fields=["sentences"],
            )
            try:
                while batch := iterator.next():
                    digests.update(row["sentences"] for row in batch)
            finally:
                iterator.close()
        digests.discard("")
        return digests

    def _delete_orphan_sentences(self, digests: set[str]) -> None:
        """Delete the sentence vectors of those digests that no passage row names now."""
        for chunk in _chunks(sorted(digests), _PAGE):
            named = self.client.query(
                self.names["passages"],
                filter=f"sentences in {_literal(chunk)}",
                output_fields=["sentences"],
                consistency_level="Strong",
            )
            orphans = set(chunk) - {row["sentences"] for row in named}
            if orphans:
                self.client.delete(
                    self.names["sentences"], filter=f"digest in {_literal(sorted(orphans))}"
                )

    def _insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for chunk in _chunks(rows, _PAGE):
            self.client.insert(collection, chunk)

    # -- reading --

    def _term_copies(self, tokens: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Both stored copies of each token's statistics (looked up by primary key: a
        filter on the token would scan every row)."""
        copies: dict[str, list[dict[str, Any]]] = {}
        keys = [f"{token}\t{copy}" for token in tokens for copy in (0, 1)]
        for chunk in _chunks(keys, _PAGE):
            rows = self.client.query(  # not get(): it does not escape quotes in keys
                self.names["terms"],
                filter=f"key in {_literal(chunk)}",
                output_fields=["token", "copy", "slot", "df", "generation", "previous"],
                consistency_level="Strong",
            )
            for row in rows:
                copies.setdefault(row["token"], []).append(row)
        return copies

    def _terms(self, tokens: list[str], generation: int) -> dict[str, tuple[int, int]]:
        """(slot, document frequency) of each token known at the generation."""
        return _terms_at(self._term_copies(tokens), generation)

    def _single_character_terms(self, generation: int) -> dict[str, tuple[int, int]]:
        """(slot, document frequency) of every one-character token known at the generation,
        read at once (an English question read as pinyin asks after hundreds of them)."""
        copies: dict[str, list[dict[str, Any]]] = {}
        with _quiet("pymilvus.client.iterator.query_iterator", "grpc._server"):
            iterator = self.client.query_iterator(
                self.names["terms"],
                batch_size=_PAGE * 10,
                filter="chars == 1",
                output_fields=["token", "copy", "slot", "df", "generation", "previous"],
            )
            try:
                while batch := iterator.next():
                    for row in batch:
                        copies.setdefault(row["token"], []).append(row)
            finally:
                iterator.close()
        return _terms_at(copies, generation)

    def _live_rows(self, state: IndexState, field: str, values: list[str]) -> list[dict[str, Any]]:
        """The rows of the generation whose field is one of the values."""
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(values, _PAGE):
            rows += self.client.query(
                self.names["passages"],
                filter=f"({state.visible()}) and {field} in {_literal(chunk)}",
                output_fields=list(_RETIRED_FIELDS),
                consistency_level="Strong",
            )
        return rows

    def _all_live(self, state: IndexState, fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every row of the generation, page by page (a query returns at most 16,384)."""
        rows: list[dict[str, Any]] = []
        # Milvus Lite has no timestamp service: the iterator falls back to the client's clock,
        # after a warning here and an error logged by an embedded server
        with _quiet("pymilvus.client.iterator.query_iterator", "grpc._server"):
            iterator = self.client.query_iterator(
                self.names["passages"],
                batch_size=_PAGE,
                filter=state.visible(),
                output_fields=list(fields),
            )
            try:
                while batch := iterator.next():
                    rows.extend(batch)
            finally:
                iterator.close()
        return rows

    # -- setting up --

    def _require_existing(self) -> None:
        existing = set(self.client.list_collections())
        missing = [name for name in self.names.values() if name not in existing]
        if len(missing) == len(self.names):
            raise IndexMissingError(
                f"no index in the Milvus collection {self.config.collection} at "
                f"{self.config.uri} yet; build it with: parkqa index (on the machine that "
                "holds the knowledge folder)"
            )
        if missing:
            raise IndexCorruptError(
                f"the Milvus collection {self.config.collection} at {self.config.uri} is "
                f"incomplete (no {missing[0]}); rebuild it with: parkqa index --rebuild (on "
                "the machine that holds the knowledge folder)"
            )

    def _check_schema(self) -> None:
        """Refuse collections laid out otherwise than this version writes them."""
        for part, fields in _FIELDS.items():
            found = {f["name"] for f in self.client.describe_collection(self.names[part])["fields"]}
            if found != set(fields):
                raise IndexCorruptError(
                    f"the Milvus collection {self.names[part]} was made by another version of "
                    f"parkqa; name another milvus.collection, or replace it with: parkqa index "
                    "--rebuild"
                )

    def _create_missing(self) -> None:
        from pymilvus import DataType, MilvusClient

        existing = set(self.client.list_collections())
        for part, name in self.names.items():
            if name in existing:
                continue
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            index = self.client.prepare_index_params()
            _SCHEMAS[part](schema, index, DataType, self.dimension)
            self.client.create_collection(name, schema=schema, consistency_level="Strong")
            # An empty collection's indexes are built at once: waiting for them would poll
            # every half second (after an error an embedded server logs: it has no
            # timestamp service)
            self.client.create_index(name, index, sync=False)
            self.client.load_collection(name)
            if part == "state":
                empty = IndexState(
                    0, 0, 0, (), (), 0, 0, 0.0, self.encoder, self.dimension, self.k1, self.b
                )
                self.client.insert(name, [_state_row(empty, self.dimension)])
                self.client.flush(name)

    def _check_settings(self, state: IndexState) -> None:
        built = (state.encoder, state.dimension, state.k1, state.b)
        if built != (self.encoder, self.dimension, self.k1, self.b):
            raise IndexCorruptError(
                f"the Milvus collection {self.config.collection} was built with the encoder "
                f"{state.encoder} ({state.dimension} dimensions, k1={state.k1}, b={state.b}), "
                f"but this index uses {self.encoder} ({self.dimension} dimensions, k1={self.k1}, "
                f"b={self.b}); name another milvus.collection, or replace it with: parkqa index "
                "--rebuild"
            )


def _terms_at(
    copies: dict[str, list[dict[str, Any]]], generation: int
) -> dict[str, tuple[int, int]]:
    """(slot, document frequency) of each token at the generation, from its stored copies. A
    token keeps two, the latest and the one before; raises GenerationGone when a reader of that
    generation would need one that an update has since overwritten."""
    found = {}
    for token, rows in copies.items():
        readable = [row for row in rows if row["generation"] <= generation]
        if readable:
            row = max(readable, key=lambda row: row["generation"])
            found[token] = (row["slot"], row["df"])
        elif min(rows, key=lambda row: row["generation"])["previous"]:
            raise GenerationGone(generation)
    return found


class GenerationGone(IndexBusyError):
    """Rows of the generation being read were deleted or overwritten by later updates."""

    def __init__(self, generation: int) -> None:
        super().__init__(
            f"generation {generation} of the Milvus index was replaced while it was read; "
            "read it again"
        )


class MilvusView:
    """The index as of one generation: searches and passages that agree with each other."""

    def __init__(self, index: MilvusIndex, state: IndexState) -> None:
        self.index = index
        self.state = state

    @property
    def generation(self) -> int:
        return self.state.generation

    def intact(self) -> bool:
        """Whether every row of this generation was still there: no update since has deleted
        rows that it could see."""
        return self.index.state().oldest_readable <= self.state.generation

    def search_dense(
        self,
        vector: np.ndarray,
        k: int,
        filters: PassageFilter | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """Ids and inner products of the k passages closest to a normalised query vector (only
        those allowed by filters, and among ids if given), best first."""
        return _ids_and_scores(self.search("dense", self.dense_query(vector), k, filters, ids))

    def search_keywords(
        self,
        tokens: Sequence[str],
        k: int,
        filters: PassageFilter | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """Ids and BM25 scores of the k passages that score best for the query tokens (repeats
        count once; passages sharing no token are left out), best first."""
        query = self.keyword_query(self.terms(tokens))
        return _ids_and_scores(self.search("keywords", query, k, filters, ids))

    def dense_query(self, vector: np.ndarray) -> list[float]:
        return np.asarray(vector, dtype=np.float32).reshape(-1).tolist()

    def terms(self, tokens: Sequence[str]) -> dict[str, tuple[int, int]]:
        """The slot and document frequency of each of the tokens this generation holds."""
        with _server_errors(self.index.config):
            terms = self.index._terms(list(dict.fromkeys(tokens)), self.generation)
        return {token: term for token, term in terms.items() if term[1] > 0}

    def single_character_terms(self) -> dict[str, tuple[int, int]]:
        """The slot and document frequency of every one-character token of this generation."""
        with _server_errors(self.index.config):
            terms = self.index._single_character_terms(self.generation)
        return {token: term for token, term in terms.items() if term[1] > 0}

    def keyword_query(self, terms: dict[str, tuple[int, int]]) -> dict[int, float]:
        """The sparse query whose inner product with a passage's keyword vector is its BM25
        score for the tokens of terms (MilvusView.terms)."""
        if not terms:
            return {}
        idf = query_idf(np.array([df for _, df in terms.values()]), self.state.count)
        return {slot: float(weight) for (slot, _), weight in zip(terms.values(), idf)}

    def search(
        self,
        field: str,
        query: Any,
        k: int,
        filters: PassageFilter | None = None,
        ids: Sequence[str] | None = None,
        output: Sequence[str] = ("passage",),
    ) -> list[dict[str, Any]]:
        """The k best passage rows of this generation for a query of the field ("dense",
        "keywords" or "presence"), allowed by filters and among ids if given: their output
        fields and "score", best first. Sparse searches leave out rows that score 0."""
        conditions = [self.state.visible(), *filter_conditions(filters)]
        if ids is not None:
            if not ids:
                return []
            conditions.append(f"passage in {_literal(list(ids))}")
            k = min(k, len(ids))
        k = min(k, _MAX_LIMIT)
        if k <= 0 or self.state.count == 0 or (field != "dense" and not query):
            return []
        with _server_errors(self.index.config):
            results = self.index.client.search(
                self.index.names["passages"],
                data=[query],
                anns_field=field,
                limit=k,
                filter=" and ".join(f"({c})" for c in conditions),
                output_fields=list(output),
                search_params={"metric_type": "IP"},
                consistency_level="Strong",
            )[0]
        hits = [{**hit["entity"], "score": float(hit["distance"])} for hit in results]
        if field != "dense":
            hits = [hit for hit in hits if hit["score"] > 0]
        return hits

    def passage_rows(self, ids: Sequence[str], output: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The rows of the passages with these ids (those this generation holds), by id."""
        found: dict[str, dict[str, Any]] = {}
        fields = list(dict.fromkeys(["passage", *output]))
        with _server_errors(self.index.config):
            for chunk in _chunks(list(dict.fromkeys(ids)), _PAGE):
                rows = self.index.client.query(
                    self.index.names["passages"],
                    filter=f"({self.state.visible()}) and passage in {_literal(chunk)}",
                    output_fields=fields,
                    consistency_level="Strong",
                )
                found.update((row["passage"], row) for row in rows)
        return found

    def passages(self, ids: Sequence[str]) -> list[Passage]:
        """The passages with these ids, in that order (LookupError if one is not indexed)."""
        rows = self.passage_rows(ids, ["record"])
        missing = [i for i in ids if i not in rows]
        if missing:
            raise LookupError(f"passages not in generation {self.generation}: {missing[:5]}")
        return [passage_from_record(rows[i]["record"]) for i in ids]

    def document_passages(self, doc: str) -> list[Passage]:
        """A document's passages, in the order they come in the document."""
        with _server_errors(self.index.config):
            rows = self.index.client.query(
                self.index.names["passages"],
                filter=f"({self.state.visible()}) and doc == {_literal(doc)}",
                output_fields=["record"],
                consistency_level="Strong",
            )
        passages = [passage_from_record(row["record"]) for row in rows]
        return sorted(passages, key=lambda p: (p.char_start, p.char_end, p.id))

    def sentence_vectors(self, digests: Sequence[str]) -> dict[str, np.ndarray]:
        """The sentence vectors stored under these digests (MilvusIndex.apply), by digest;
        raises GenerationGone when some are gone (deleted by updates since this generation)."""
        parts: dict[str, list[tuple[int, np.ndarray]]] = {}
        wanted = list(dict.fromkeys(d for d in digests if d))
        with _server_errors(self.index.config):
            for chunk in _chunks(wanted, _PAGE):
                rows = self.index.client.query(
                    self.index.names["sentences"],
                    filter=f"digest in {_literal(chunk)}",
                    output_fields=["digest", "part", "vectors"],
                    consistency_level="Strong",
                )
                for row in rows:
                    vectors = np.frombuffer(base64.b64decode(row["vectors"]), dtype=np.float32)
                    parts.setdefault(row["digest"], []).append((row["part"], vectors))
        if len(parts) < len(wanted):
            raise GenerationGone(self.generation)
        dimension = self.state.dimension
        return {
            digest: np.concatenate([v for _, v in sorted(found, key=lambda x: x[0])]).reshape(
                -1, dimension
            )
            for digest, found in parts.items()
        }

    def manifest(self) -> str | None:
        """The manifest text of this generation (None when the writer gave none)."""
        with _server_errors(self.index.config):
            rows = self.index.client.query(
                self.index.names["manifest"],
                filter=f"generation <= {self.generation}",
                output_fields=["generation", "part", "parts", "text"],
                consistency_level="Strong",
            )
        if not rows:
            return None
        newest = max(row["generation"] for row in rows)
        parts = sorted(
            (row for row in rows if row["generation"] == newest), key=lambda r: r["part"]
        )
        if len(parts) != parts[0]["parts"]:
            raise GenerationGone(self.generation)
        return "".join(row["text"] for row in parts)

    def any(self, filters: PassageFilter | None = None) -> bool:
        """Whether some passage of this generation passes the filters."""
        conditions = [self.state.visible(), *filter_conditions(filters)]
        with _server_errors(self.index.config):
            rows = self.index.client.query(
                self.index.names["passages"],
                filter=" and ".join(f"({c})" for c in conditions),
                output_fields=["passage"],
                limit=1,
                consistency_level="Strong",
            )
        return bool(rows)


def sentence_digest(passage: Passage) -> str:
    """What a passage's sentence vectors are stored under: a digest of the texts embedded (so
    two rows of one passage, or two passages embedding the same texts, share them)."""
    text = "\x1f".join(passage.sentence_embedding_texts())
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _ids_and_scores(hits: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    return [hit["passage"] for hit in hits], np.array([h["score"] for h in hits], np.float32)


def filter_conditions(filters: PassageFilter | None) -> list[str]:
    """Milvus conditions for a filter, matching Filters.allows: a date matches a bound when it
    agrees with the bound as far as the bound goes (2020-05-03 is within 2020-05)."""
    if not filters:
        return []
    conditions = []
    if filters.tags:
        conditions.append(f"ARRAY_CONTAINS_ANY(tags, {_literal(list(filters.tags))})")
    if filters.date_from or filters.date_to:
        conditions.append('date != ""')
    if filters.date_from:
        conditions.append(f"date >= {_literal(filters.date_from)}")
    if filters.date_to:
        # '~' sorts after the digits and '-' that follow the bound in a longer date
        conditions.append(f"date < {_literal(filters.date_to + '~')}")
    return conditions


def passage_record(passage: Passage) -> str:
    """A passage as JSON text, as the file index stores it."""
    return json.dumps(passage_to_json(passage), ensure_ascii=False)


def passage_from_record(text: str) -> Passage:
    return passage_from_json(json.loads(text))


# -- schema --

_STATE_FIELDS = (
    "generation",
    "base",
    "oldest_readable",
    "hidden",
    "retired",
    "count",
    "total_length",
    "reference_length",
    "encoder",
    "dimension",
    "k1",
    "b",
)
_ROW_FIELDS = (
    "key",
    "passage",
    "doc",
    "generation",
    "length",
    "dense",
    "keywords",
    "presence",
    "date",
    "tags",
    "record",
    "counts",
    "sentences",
)
_RETIRED_FIELDS = ("key", "passage", "length", "counts")


def _passages_schema(schema: Any, index: Any, types: Any, dimension: int) -> None:
    schema.add_field("key", types.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("passage", types.VARCHAR, max_length=256)
    schema.add_field("doc", types.VARCHAR, max_length=4096)
    schema.add_field("generation", types.INT64)
    schema.add_field("length", types.INT64)
    schema.add_field("dense", types.FLOAT_VECTOR, dim=dimension)
    schema.add_field("keywords", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("presence", types.SPARSE_FLOAT_VECTOR)
    schema.add_field("date", types.VARCHAR, max_length=32)
    schema.add_field(
        "tags", types.ARRAY, element_type=types.VARCHAR, max_capacity=256, max_length=1024
    )
    schema.add_field("record", types.VARCHAR, max_length=_MAX_TEXT)
    schema.add_field("counts", types.VARCHAR, max_length=_MAX_TEXT)
    schema.add_field("sentences", types.VARCHAR, max_length=64)
    index.add_index("dense", index_type="FLAT", metric_type="IP")
    index.add_index("keywords", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    index.add_index("presence", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")


def _sentences_schema(schema: Any, index: Any, types: Any, dimension: int) -> None:
    schema.add_field("key", types.VARCHAR, is_primary=True, max_length=128)
    schema.add_field("digest", types.VARCHAR, max_length=64)
    schema.add_field("part", types.INT64)
    schema.add_field("count", types.INT64)
    schema.add_field("generation", types.INT64)
    schema.add_field("vectors", types.VARCHAR, max_length=_MAX_TEXT)
    index.add_index("digest", index_type="INVERTED")
    _unused_vector(schema, index, types)


def _manifest_schema(schema: Any, index: Any, types: Any, dimension: int) -> None:
    schema.add_field("key", types.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("generation", types.INT64)
    schema.add_field("part", types.INT64)
    schema.add_field("parts", types.INT64)
    schema.add_field("text", types.VARCHAR, max_length=_MAX_TEXT)
    _unused_vector(schema, index, types)


def _terms_schema(schema: Any, index: Any, types: Any, dimension: int) -> None:
    schema.add_field("key", types.VARCHAR, is_primary=True, max_length=_MAX_TEXT)
    schema.add_field("token", types.VARCHAR, max_length=_MAX_TEXT)
    schema.add_field("chars", types.INT64)  # the token's length: single characters are read at once
    schema.add_field("copy", types.INT64)
    schema.add_field("slot", types.INT64)
    schema.add_field("df", types.INT64)
    schema.add_field("generation", types.INT64)
    schema.add_field("previous", types.INT64)  # the generation of the copy this replaced
    index.add_index("slot", index_type="INVERTED")
    index.add_index("chars", index_type="INVERTED")
    _unused_vector(schema, index, types)


def _state_schema(schema: Any, index: Any, types: Any, dimension: int) -> None:
    schema.add_field("generation", types.INT64, is_primary=True)
    schema.add_field("base", types.INT64)
    schema.add_field("oldest_readable", types.INT64)
    schema.add_field("hidden", types.VARCHAR, max_length=_MAX_TEXT)
    schema.add_field("retired", types.VARCHAR, max_length=_MAX_TEXT)
    schema.add_field("count", types.INT64)
    schema.add_field("total_length", types.INT64)
    schema.add_field("reference_length", types.DOUBLE)
    schema.add_field("encoder", types.VARCHAR, max_length=1024)
    schema.add_field("dimension", types.INT64)
    schema.add_field("k1", types.DOUBLE)
    schema.add_field("b", types.DOUBLE)
    _unused_vector(schema, index, types)


def _unused_vector(schema: Any, index: Any, types: Any) -> None:
    """Milvus wants a vector field in every collection; these tables are only queried."""
    schema.add_field("unused", types.FLOAT_VECTOR, dim=2)
    index.add_index("unused", index_type="FLAT", metric_type="L2")


_SCHEMAS = {
    "passages": _passages_schema,
    "terms": _terms_schema,
    "state": _state_schema,
    "sentences": _sentences_schema,
    "manifest": _manifest_schema,
}
_FIELDS = {
    "passages": _ROW_FIELDS,
    "terms": ("key", "token", "chars", "copy", "slot", "df", "generation", "previous", "unused"),
    "state": (*_STATE_FIELDS, "unused"),
    "sentences": ("key", "digest", "part", "count", "generation", "vectors", "unused"),
    "manifest": ("key", "generation", "part", "parts", "text", "unused"),
}


def _state_row(state: IndexState, dimension: int) -> dict[str, Any]:
    row = asdict(state)
    row["hidden"] = json.dumps(list(state.hidden))
    row["retired"] = json.dumps(list(state.retired))
    if len(row["hidden"]) > _MAX_TEXT:
        raise IndexWriteError(
            f"one update removes too many passages ({len(state.hidden)}) for the Milvus state "
            "record; remove fewer documents at a time"
        )
    row["unused"] = [0.0, 0.0]
    return row


def _state_from_row(row: dict[str, Any]) -> IndexState:
    values = {name: row[name] for name in _STATE_FIELDS}
    values["hidden"] = tuple(json.loads(values["hidden"]))
    values["retired"] = tuple(json.loads(values["retired"]))
    return IndexState(**values)


# -- connecting and errors --


def drop_collections(config: MilvusConfig) -> None:
    """Drop the collections of the index named config.collection (a rebuild with another
    encoder starts afresh)."""
    client = _connect(config)
    with _server_errors(config):
        for part in _SCHEMAS:
            name = f"{config.collection}_{part}"
            if client.has_collection(name):
                client.drop_collection(name)


# No keepalive pings on an idle connection: Milvus Lite's server answers them with GOAWAY
# ("too_many_pings", logged on the client's stderr); a call on a dropped connection reconnects.
_CHANNEL = {"grpc.keepalive_permit_without_calls": False}


def _connect(config: MilvusConfig) -> Any:
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError:
        raise ConfigError(f"the milvus index needs pymilvus; {INSTALL_HINT}") from None
    if config.is_local:
        _check_local(config.uri)
    failure: Exception | None = None
    for attempt in range(2):
        try:
            with _quiet("milvus_lite.server_manager", "pymilvus"), _client_logs_muted():
                return MilvusClient(uri=config.uri, token=config.token, grpc_options=_CHANNEL)
        except MilvusException as exc:
            # pymilvus probes a connection idle for 30 s before sharing it, and gives up at
            # once when the probe fails; a fresh attempt reconnects
            failure = exc
            time.sleep(0.5 * (attempt + 1))
    if config.is_local and _locked(Path(config.uri)):
        raise IndexBusyError(
            f"another process has the embedded Milvus database {config.uri} open; to share "
            "it between processes run `milvus-lite server --data-dir "
            f"{config.uri} --port 19530` and set milvus.uri to http://127.0.0.1:19530"
        )
    raise IndexServerError(
        f"cannot open the Milvus index at {config.uri}: {_reason(failure)}; check that the "
        "server is running and milvus.uri and milvus.token are right"
    )


def _check_local(uri: str) -> None:
    import importlib.util

    if not uri.endswith(".db"):
        raise ConfigError(
            f"milvus.uri {uri} is neither a local path ending in .db (embedded Milvus Lite) "
            "nor a server address such as http://127.0.0.1:19530"
        )
    if importlib.util.find_spec("milvus_lite") is None:
        raise ConfigError(f"a local milvus.uri needs milvus-lite; {INSTALL_HINT}")
    if not Path(uri).parent.is_dir():
        raise ConfigError(f"milvus.uri {uri}: folder {Path(uri).parent} does not exist")


def _locked(data_dir: Path) -> bool:
    """Whether another process holds Milvus Lite's lock on the database folder."""
    import fcntl

    try:
        handle = os.open(data_dir / "LOCK", os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
    finally:
        os.close(handle)


@contextmanager
def _server_errors(config: MilvusConfig) -> Iterator[None]:
    """Turn the Milvus client's failures into one-line errors naming the index."""
    from pymilvus.exceptions import MilvusException

    try:
        with _client_logs_muted():
            yield
    except MilvusException as exc:
        raise IndexServerError(
            f"the Milvus index at {config.uri} failed: {_reason(exc)}; check that the server "
            "is running"
        ) from None


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence libraries' logs of a failure that is handled (or reported as one line) here."""
    targets = [logging.getLogger(name) for name in names]
    previous = [target.disabled for target in targets]
    for target in targets:
        target.disabled = True
    try:
        yield
    finally:
        for target, disabled in zip(targets, previous):
            target.disabled = disabled


class _Drop(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _client_logs_muted() -> Iterator[None]:
    """pymilvus logs each failed call with its traceback on its own stderr handler; the
    failure is raised as one line instead."""
    handlers = logging.getLogger("pymilvus").handlers
    drop = _Drop()
    for handler in handlers:
        handler.addFilter(drop)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(drop)


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "message", "") or exc).splitlines()[0]


def _sparse(weights: dict[int, float]) -> dict[int, float]:
    """A sparse vector Milvus accepts: one with no entry keeps a negligible weight."""
    return weights or {EMPTY_SLOT: _EMPTY_WEIGHT}


def _checked_text(text: str, passage_id: str) -> str:
    if len(text.encode("utf-8")) > _MAX_TEXT:
        raise IndexWriteError(
            f"passage {passage_id} is too long for the Milvus index (over {_MAX_TEXT} bytes); "
            "lower chunking.max_chars"
        )
    return text


def _literal(value: Any) -> str:
    """A string or list of strings as a Milvus expression literal."""
    return json.dumps(value, ensure_ascii=False)


def _chunks(values: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


__all__ = [
    "IndexState",
    "MilvusConfig",
    "MilvusIndex",
    "MilvusView",
    "document_weights",
    "drop_collections",
    "filter_conditions",
    "query_idf",
    "sentence_digest",
    "token_slot",
]
