"""Milvus as the index that questions are answered from, when the config has a milvus section.

The machine that runs `parkqa index` keeps its index folder as the ledger (document records,
change detection, staged generations, sentence vectors) and mirrors each generation into
Milvus before committing it (MilvusMirror); every `parkqa serve` or `ask` that names the same
collection answers from Milvus, needing no knowledge or index folder of its own (MilvusReader).

A crash anywhere leaves a state the next `parkqa index` repairs: Milvus is brought to a
generation before the folder commits it, so it is at most one generation ahead; the next update
numbers its generation after both, and mirrors by document hash whatever differs between what
Milvus holds and the new generation (all of it for a fresh or foreign collection), reading the
vectors from the folder rather than embedding again.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from parkqa.config import Config, MilvusConfig
from parkqa.errors import IndexBusyError, IndexCorruptError, IndexMissingError
from parkqa.indexing import keyword_tokens
from parkqa.manifest import Manifest
from parkqa.milvus_index import (
    GenerationGone,
    IndexState,
    MilvusIndex,
    MilvusView,
    drop_collections,
    passage_from_record,
)
from parkqa.passages import Passage
from parkqa.store import StagedGeneration, load_generation

logger = logging.getLogger(__name__)

T = TypeVar("T")
PASSAGE_FIELDS = ("passage", "record", "sentences")
# The most rows a search for passages holding a name's tokens returns: callers read the first
# 200 at most, checking each passage's text for the name.
ROWS_WITH_LIMIT = 1000
# Rows whose passage or sentence vectors are fetched together when one is missing: answering
# reads the rows a search returned one after another.
FETCH_BATCH = 256
CACHE_LIMIT = 50_000  # passages and sentence vectors kept per generation before starting over


def writer_identity(config: Config) -> dict[str, str]:
    """Which index folder keeps a Milvus collection: the host and the folder's path."""
    return {"host": socket.gethostname(), "index_dir": str(config.index_dir)}


class MilvusMirror:
    """Brings the Milvus collection to what a generation of the index folder holds, before
    the folder commits it. takeover: the update rebuilds (--rebuild, or settings changed), so
    a collection built with another encoder or kept by another folder may be replaced."""

    def __init__(self, config: Config, encoder_name: str, dimension: int, takeover: bool) -> None:
        assert config.milvus is not None
        self.config = config
        self.identity = writer_identity(config)
        self.takeover = takeover
        try:
            self.index = MilvusIndex(config.milvus, encoder_name, dimension)
        except IndexCorruptError:  # another encoder, or another layout
            if not takeover:
                raise
            drop_collections(config.milvus)
            self.index = MilvusIndex(config.milvus, encoder_name, dimension)
        self.state = self.index.state()
        held = self.index.view().manifest()
        self.held: dict[str, Any] | None = json.loads(held) if held else None
        writer = self.held.get("writer") if self.held else None
        if writer and writer != self.identity and not takeover:
            raise IndexBusyError(
                f"the Milvus collection {config.milvus.collection} at {config.milvus.uri} is "
                f"kept by the index in {writer['host']}:{writer['index_dir']}; run parkqa index "
                "there, name another milvus.collection, or take it over with: parkqa index "
                "--rebuild"
            )

    @property
    def generation(self) -> int:
        return self.state.generation

    def in_sync(self, manifest: Manifest | None) -> bool:
        """Whether Milvus holds the committed generation of the folder: the same generation,
        settings and documents."""
        if manifest is None or self.held is None or self.takeover:
            return False
        held = Manifest.from_json(self.held["manifest"])
        return (
            self.state.generation == manifest.generation
            and held.settings == manifest.settings
            and _hashes(held) == _hashes(manifest)
        )

    def apply(self, staged: StagedGeneration) -> IndexState:
        """Write to Milvus, as its generation of the same number, what differs between the
        generation it holds and the staged one; vectors come from the staged files."""
        new = load_generation(staged.directory, staged.manifest)
        manifest = staged.manifest
        held = Manifest.from_json(self.held["manifest"]) if self.held else None
        replace_all = self.takeover or held is None or held.settings != manifest.settings
        if replace_all or held is None:
            added, removed = list(manifest.documents), []
        else:
            added = [
                doc
                for doc, record in manifest.documents.items()
                if doc not in held.documents or held.documents[doc].hash != record.hash
            ]
            removed = [doc for doc in held.documents if doc not in manifest.documents]
            removed += [doc for doc in added if doc in held.documents]
        rows = [int(row) for doc in added for row in new.document_rows(doc)]
        passages = [new.passage(row) for row in rows]
        vectors = np.array([new.vectors.vector(row) for row in rows], dtype=np.float32)
        text = json.dumps(
            {"manifest": manifest.to_json(), "writer": self.identity}, ensure_ascii=False
        )
        self.state = self.index.apply(
            manifest.generation,
            passages,
            vectors.reshape(len(rows), self.index.dimension),
            [keyword_tokens(p) for p in passages],
            sentence_vectors=[new.sentence_vectors(row) for row in rows],
            removed_documents=removed,
            replace_all=replace_all,
            manifest=text,
        )
        logger.info(
            "Milvus collection %s: generation %d mirrored (%d documents written, %d removed%s)",
            self.config.milvus.collection if self.config.milvus else "",
            manifest.generation,
            len(added),
            len(removed),
            ", all replaced" if replace_all else "",
        )
        return self.state


def _hashes(manifest: Manifest) -> dict[str, str]:
    return {doc: record.hash for doc, record in manifest.documents.items()}


class MilvusReader:
    """Questions answered from a Milvus index: one MilvusGeneration per generation, kept
    while the generation is current so that its caches serve question after question."""

    def __init__(self, config: Config) -> None:
        assert config.milvus is not None
        self.settings: MilvusConfig = config.milvus
        self.encoder = config.embedding.model
        self._index: MilvusIndex | None = None
        self._current: MilvusGeneration | None = None
        self._lock = threading.Lock()

    def _opened(self) -> MilvusIndex:
        with self._lock:
            if self._index is None:
                self._index = MilvusIndex.existing(self.settings)
            return self._index

    def has_index(self) -> bool:
        try:
            return self._opened().state().generation > 0
        except IndexMissingError:
            return False

    def current(self) -> MilvusGeneration:
        """The current generation (IndexMissingError before the first `parkqa index`)."""
        index = self._opened()
        state = index.state()
        if state.generation == 0:
            raise IndexMissingError(
                f"no index in the Milvus collection {self.settings.collection} at "
                f"{self.settings.uri} yet; build it with: parkqa index (on the machine that "
                "holds the knowledge folder)"
            )
        current = self._current
        if current is None or current.generation != state.generation:
            current = MilvusGeneration(MilvusView(index, state))
            self._current = current
        return current

    def read(self, reading: Callable[[MilvusGeneration], T], attempts: int = 5) -> T:
        """reading(generation) at the current generation, again at a newer one if updates
        deleted rows it could see while it read (so no answer mixes two generations)."""
        for _ in range(attempts):
            generation = self.current()
            try:
                result = reading(generation)
            except GenerationGone:
                continue
            if generation.intact():
                return result
        raise IndexBusyError(
            f"the Milvus index {self.settings.collection} changed {attempts} times while a "
            "question was answered; try again when updates are less frequent"
        )


class MilvusGeneration:
    """One generation of a Milvus index, offering what answering needs of an index (the
    Searchable protocol of parkqa.retrieval, with the keyword and passage lookups of
    parkqa.answering): passages are numbered by rows as searches meet them."""

    def __init__(self, view: MilvusView) -> None:
        self.view = view
        self.state = view.state
        config = view.index.config
        self.directory = f"the Milvus collection {config.collection} at {config.uri}"
        self.keywords = MilvusKeywords(self)
        self.vectors = MilvusVectors(self)
        self.passages = MilvusPassages(self)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._records: dict[str, Passage] = {}
        self._digests: dict[str, str] = {}
        self._sentences: dict[str, np.ndarray] = {}
        self._manifest: Manifest | None = None
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self.state.generation

    @property
    def encoder_name(self) -> str:
        return self.state.encoder

    @property
    def manifest(self) -> Manifest:
        """The manifest of the folder generation this one mirrors."""
        if self._manifest is None:
            text = self.view.manifest()
            if text is None:
                raise IndexCorruptError(
                    f"{self.directory} has no manifest; rebuild it with: parkqa index "
                    "--rebuild (on the machine that holds the knowledge folder)"
                )
            self._manifest = Manifest.from_json(json.loads(text)["manifest"])
        return self._manifest

    def intact(self) -> bool:
        return self.view.intact()

    def tags(self) -> set[str]:
        return {tag for record in self.manifest.documents.values() for tag in record.tags}

    # -- rows --

    def rows_of(self, hits: Sequence[dict[str, Any]]) -> np.ndarray:
        """The rows of the passages a search returned (numbered now if met for the first
        time), keeping what the hits carry of each passage."""
        rows = np.zeros(len(hits), dtype=np.int64)
        with self._lock:
            for i, hit in enumerate(hits):
                passage_id = hit["passage"]
                row = self._rows.get(passage_id)
                if row is None:
                    row = self._rows[passage_id] = len(self._ids)
                    self._ids.append(passage_id)
                rows[i] = row
        for hit in hits:
            self._keep(hit)
        return rows

    def ids_of(self, rows: Sequence[int]) -> list[str]:
        return [self._ids[int(row)] for row in rows]

    @property
    def row_count(self) -> int:
        return len(self._ids)

    def _keep(self, hit: dict[str, Any]) -> None:
        if len(self._records) > CACHE_LIMIT:
            self._records.clear()
            self._digests.clear()
        if "record" in hit:
            self._records[hit["passage"]] = passage_from_record(hit["record"])
        if "sentences" in hit:
            self._digests[hit["passage"]] = hit["sentences"]

    # -- passages --

    def passage(self, row: int) -> Passage:
        passage_id = self._ids[int(row)]
        found = self._records.get(passage_id)
        if found is None:
            self._fetch_passages(int(row))
            found = self._records.get(passage_id)
            if found is None:
                raise GenerationGone(self.generation)
        return found

    def passage_text(self, row: int) -> str:
        """The passage's title, section and text, for checking what it holds."""
        passage = self.passage(row)
        return f"{passage.title}\n{passage.section}\n{passage.text}"

    def _fetch_passages(self, row: int) -> None:
        """The passage at row and the next rows' that are not kept yet, in one query."""
        wanted = [
            passage_id
            for passage_id in self._ids[row : row + FETCH_BATCH * 4]
            if passage_id not in self._records or passage_id not in self._digests
        ][:FETCH_BATCH]
        for found in self.view.passage_rows(wanted, PASSAGE_FIELDS).values():
            self._keep(found)

    def sentence_similarities(self, row: int, query: np.ndarray) -> np.ndarray:
        """Cosine of each sentence of the passage at row to a normalised question vector."""
        return self._sentence_vectors(int(row)) @ np.asarray(query, dtype=np.float32).reshape(-1)

    def _sentence_vectors(self, row: int) -> np.ndarray:
        passage_id = self._ids[row]
        digest = self._digests.get(passage_id)
        if digest is None:
            self._fetch_passages(row)
            digest = self._digests.get(passage_id)
            if digest is None:
                raise GenerationGone(self.generation)
        found = self._sentences.get(digest)
        if found is not None:
            return found
        if not digest:
            raise IndexCorruptError(
                f"{self.directory} holds no sentence vectors for passage {passage_id}; rebuild "
                "it with: parkqa index --rebuild (on the machine that holds the knowledge folder)"
            )
        following = [self._digests.get(i, "") for i in self._ids[row : row + FETCH_BATCH * 4]]
        wanted = [d for d in dict.fromkeys([digest, *following]) if d and d not in self._sentences]
        fetched = self.view.sentence_vectors(wanted[:FETCH_BATCH])
        if len(self._sentences) > CACHE_LIMIT:
            self._sentences.clear()
        self._sentences.update(fetched)
        return fetched[digest]

    # -- filters --

    def allowed(self, filters: Any) -> MilvusFilter:
        """The passages the filters allow, as a filter that searches apply."""
        return MilvusFilter(self, filters)


class MilvusFilter:
    """Which passages a search may return, told to Milvus as a condition rather than as a
    mask over every row (parkqa.retrieval.search passes it on to the searches)."""

    def __init__(self, generation: MilvusGeneration, filters: Any) -> None:
        self.generation = generation
        self.filters = filters

    def any(self) -> bool:
        return self.generation.view.any(self.filters)


def _filters_of(mask: Any) -> Any:
    if mask is None:
        return None
    if not isinstance(mask, MilvusFilter):
        raise TypeError("a Milvus index is filtered by MilvusGeneration.allowed(filters)")
    return mask.filters


class MilvusKeywords:
    """The keyword index of a Milvus generation, as parkqa.keywords.KeywordIndex offers it:
    document frequencies (kept for the generation, since answering asks for them again and
    again), BM25 candidates and scores, and the passages holding given tokens."""

    def __init__(self, generation: MilvusGeneration) -> None:
        self.generation = generation
        self.count = generation.state.count
        self.k1, self.b = generation.state.k1, generation.state.b
        self._terms: dict[str, tuple[int, int]] = {}  # token: (slot, df); df 0 when unknown
        self._characters: dict[str, tuple[int, int]] | None = None  # every one-character token

    @property
    def rows(self) -> int:
        return self.generation.row_count

    def terms(self, tokens: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(slot, document frequency) of each token, fetched once per generation."""
        found: dict[str, tuple[int, int]] = {}
        missing = []
        for token in dict.fromkeys(tokens):
            term = self._terms.get(token)
            if term is None:
                missing.append(token)
            else:
                found[token] = term
        if any(len(token) == 1 for token in missing):
            characters = self._single_characters()
            for token in [t for t in missing if len(t) == 1]:
                found[token] = characters.get(token, (0, 0))
            missing = [t for t in missing if len(t) != 1]
        if missing:
            fetched = self.generation.view.terms(missing)
            if len(self._terms) > CACHE_LIMIT:
                self._terms.clear()
            for token in missing:
                found[token] = self._terms[token] = fetched.get(token, (0, 0))
        return found

    def _single_characters(self) -> dict[str, tuple[int, int]]:
        """Every one-character token of the generation, read in one go the first time one is
        asked after: answering an English question asks after hundreds of characters (the
        readings of its pinyin), and a knowledge base holds a few thousand."""
        if self._characters is None:
            self._characters = self.generation.view.single_character_terms()
        return self._characters

    def prefetch(self, tokens: Sequence[str]) -> None:
        """Fetch the document frequencies of these tokens in one query."""
        self.terms(tokens)

    def document_frequency(self, token: str) -> int:
        return self.terms([token])[token][1]

    def __contains__(self, token: str) -> bool:
        return self.document_frequency(token) > 0

    def idf_of(self, df: int) -> float:
        return math.log1p((self.count - df + 0.5) / (df + 0.5))

    def token_idf(self, token: str) -> float | None:
        df = self.document_frequency(token)
        return None if df == 0 else self.idf_of(df)

    @property
    def max_idf(self) -> float:
        return math.log(1 + (self.count + 0.5) / 0.5)

    def _known(self, tokens: Sequence[str]) -> dict[str, tuple[int, int]]:
        return {t: term for t, term in self.terms(tokens).items() if term[1] > 0}

    def top(
        self, tokens: Sequence[str], width: int, mask: MilvusFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the (at most) width best-scoring passages holding some query token,
        best first, with their BM25 scores."""
        view = self.generation.view
        query = view.keyword_query(self._known(tokens))
        hits = view.search("keywords", query, width, _filters_of(mask), output=PASSAGE_FIELDS)
        return self.generation.rows_of(hits), _scores(hits)

    def scores_at(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """BM25 scores of the given rows."""
        ids = self.generation.ids_of(rows)
        view = self.generation.view
        query = view.keyword_query(self._known(tokens))
        hits = view.search("keywords", query, len(ids), ids=ids)
        scores = {hit["passage"]: hit["score"] for hit in hits}
        return np.array([scores.get(i, 0.0) for i in ids], dtype=np.float32)

    def rows_with_all(self, tokens: Sequence[str]) -> np.ndarray:
        """Rows of passages that hold every token (the first ROWS_WITH_LIMIT)."""
        distinct = list(dict.fromkeys(tokens))
        known = self._known(distinct)
        if not distinct or len(known) < len(distinct):
            return np.zeros(0, dtype=np.int64)
        return self._holding(known, len(distinct))

    def rows_with_at_least(self, tokens: Sequence[str], least: int) -> np.ndarray:
        """Rows of passages holding at least `least` of the distinct tokens, those holding
        the most first (the first ROWS_WITH_LIMIT)."""
        known = self._known(tokens)
        if not known or len(known) < least:
            return np.zeros(0, dtype=np.int64)
        return self._holding(known, least)

    def _holding(self, known: dict[str, tuple[int, int]], least: int) -> np.ndarray:
        """Rows of the passages holding at least `least` of the tokens: the presence vector
        of a passage times a query of ones counts the tokens it holds."""
        query = {slot: 1.0 for slot, _ in known.values()}
        hits = self.generation.view.search("presence", query, ROWS_WITH_LIMIT)
        hits = [hit for hit in hits if hit["score"] > least - 0.5]
        return self.generation.rows_of(hits)


class MilvusVectors:
    """The passage vectors of a Milvus generation, searched as parkqa.vectors.VectorSet is."""

    def __init__(self, generation: MilvusGeneration) -> None:
        self.generation = generation
        self.ntotal = generation.state.count

    def search(
        self, query: np.ndarray, k: int, allowed: MilvusFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) for one normalised query vector, best first."""
        view = self.generation.view
        hits = view.search(
            "dense", view.dense_query(query), k, _filters_of(allowed), output=PASSAGE_FIELDS
        )
        return _scores(hits), self.generation.rows_of(hits)


class MilvusPassages(Sequence):
    """The passages of a Milvus generation, document by document in the order the index
    folder holds them, each document read when it is reached."""

    def __init__(self, generation: MilvusGeneration) -> None:
        self.generation = generation

    def __len__(self) -> int:
        return self.generation.state.count

    def __iter__(self) -> Iterator[Passage]:
        manifest = self.generation.manifest
        order = {doc: n for n, doc in enumerate(manifest.documents)}
        documents = sorted(manifest.documents.items(), key=lambda i: (i[1].segment, order[i[0]]))
        for doc, _ in documents:
            yield from self.generation.view.document_passages(doc)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return list(self)[i]
        if i < 0:
            i += len(self)
        for n, passage in enumerate(self):
            if n == i:
                return passage
        raise IndexError(i)


def _scores(hits: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.array([hit["score"] for hit in hits], dtype=np.float32)


__all__ = [
    "MilvusFilter",
    "MilvusGeneration",
    "MilvusKeywords",
    "MilvusMirror",
    "MilvusPassages",
    "MilvusReader",
    "MilvusVectors",
]
