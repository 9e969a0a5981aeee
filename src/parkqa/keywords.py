"""Keyword search for Chinese and Latin text: character n-gram tokens and a BM25 index."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from parkqa.chinese import CJK_RANGES, is_cjk

TOKENIZER_VERSION = "cjk-uni-bigram+latin-1"
_RUN = re.compile(
    f"[{CJK_RANGES}]+"
    r"|\d+(?:[.,]\d+)*%?"
    r"|[a-z][a-z0-9]*(?:[-'][a-z0-9]+)*"
)
ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "by",
        "with",
        "from",
        "as",
        "that",
        "this",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "how",
        "much",
        "many",
        "does",
        "do",
        "did",
        "it",
        "its",
        "into",
        "about",
        "than",
        "there",
        "their",
        "they",
        "he",
        "she",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "your",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
    ]
)


def normalize(text: str) -> str:
    """Fold width and case so that Ｌ４ and l4 are the same token."""
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: every CJK character and character bigram, Latin words and numbers."""
    tokens: list[str] = []
    for match in _RUN.finditer(normalize(text)):
        run = match.group()
        if is_cjk(run[0]):
            tokens.extend(run)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif run not in ENGLISH_STOPWORDS:
            tokens.append(run)
    return tokens


def token_hashes(tokens: Iterable[str]) -> np.ndarray:
    """Each token as a 64-bit hash: segments keep sorted hashes instead of a vocabulary, so
    opening one reads no token text and builds no dictionary."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in tokens
        ),
        dtype=np.uint64,
    )


@dataclass(frozen=True)
class Postings:
    """The keyword postings of one segment: sorted token hashes, and for each its passages
    (local rows) and term frequencies; also every passage's length in tokens. BM25 weights
    are not stored: they depend on the whole corpus and are computed when a question is asked."""

    tokens: np.ndarray  # uint64, sorted
    indptr: np.ndarray  # int64, len(tokens) + 1
    rows: np.ndarray  # int32 local rows, grouped by token
    tf: np.ndarray  # int32 term frequency of each posting
    lengths: np.ndarray  # int32 tokens per passage

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]]) -> Postings:
        """Postings of token lists; local row i is documents[i]."""
        vocabulary: dict[str, int] = {}
        token_ids, rows, tf, lengths = _count(documents, np.arange(len(documents)), vocabulary)
        hashes = token_hashes(vocabulary)
        unique, rank = np.unique(hashes, return_inverse=True)
        ids = rank.reshape(-1)[token_ids]
        if len(unique) < len(hashes):  # two tokens share a hash: count them as one
            size = max(len(documents), 1)
            pairs, inverse = np.unique(ids * size + rows, return_inverse=True)
            tf = np.bincount(inverse.reshape(-1), weights=tf).astype(np.int64)
            ids, rows = pairs // size, pairs % size
        order = np.argsort(ids, kind="stable")
        ids, rows, tf = ids[order], rows[order], tf[order]
        indptr = np.zeros(len(unique) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ids, minlength=len(unique)), out=indptr[1:])
        return cls(
            tokens=unique.astype(np.uint64),
            indptr=indptr,
            rows=rows.astype(np.int32),
            tf=tf.astype(np.int32),
            lengths=lengths.astype(np.int32),
        )

    def posting(self, token: int) -> tuple[np.ndarray, np.ndarray]:
        """(local rows, term frequencies) of the passages holding a token hash."""
        i = int(np.searchsorted(self.tokens, np.uint64(token)))
        if i >= len(self.tokens) or int(self.tokens[i]) != token:
            return _NO_ROWS, _NO_ROWS
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.rows[lo:hi], self.tf[lo:hi]

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "tokens": self.tokens,
            "indptr": self.indptr,
            "rows": self.rows,
            "tf": self.tf,
            "lengths": self.lengths,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Postings:
        return cls(*(arrays[key] for key in ("tokens", "indptr", "rows", "tf", "lengths")))


_NO_ROWS = np.zeros(0, dtype=np.int32)


@dataclass(frozen=True)
class Posting:
    """A token's live passages across segments: global rows, term frequencies, lengths."""

    rows: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray


class KeywordIndex:
    """BM25 over segments of postings, some of whose passages may be deleted. Document
    frequencies are counted over live passages and the corpus size and total length are
    those of the live passages, so scores equal those of an index built from scratch."""

    def __init__(
        self,
        parts: Sequence[tuple[Postings, int]],
        live: np.ndarray | None = None,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        """parts: each segment's postings and its first global row; live: which global rows
        hold live passages (None: all of them)."""
        self.parts = tuple(parts)
        self.rows = sum(len(p.lengths) for p, _ in self.parts)
        self.live = live
        self.count = self.rows if live is None else int(np.count_nonzero(live))
        self.k1, self.b = k1, b
        self.total_length = sum(self._live_length(p, base) for p, base in self.parts)
        self.average_length = self.total_length / self.count if self.count else 1.0
        self._cache: dict[str, Posting] = {}
        self._frequencies: dict[str, int] = {}
        self._whole = {  # segments none of whose rows is deleted, by first row
            base: live is None or bool(live[base : base + len(p.lengths)].all())
            for p, base in self.parts
        }

    def _live_length(self, postings: Postings, base: int) -> int:
        lengths = np.asarray(postings.lengths, dtype=np.int64)
        if self.live is None:
            return int(lengths.sum())
        return int(lengths[self.live[base : base + len(lengths)]].sum())

    @classmethod
    def build(
        cls, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> KeywordIndex:
        """Index token lists held in memory; row i of the result scores documents[i]."""
        return cls([(Postings.build(documents), 0)], k1=k1, b=b)

    def posting(self, token: str) -> Posting:
        """The live passages holding a token, across every segment."""
        found = self._cache.get(token)
        if found is not None:
            return found
        (hashed,) = token_hashes([token]).tolist()
        rows, tf, lengths = [], [], []
        for postings, base in self.parts:
            local, freq = postings.posting(hashed)
            if not len(local):
                continue
            rows_here = local.astype(np.int64) + base
            if not self._whole[base]:
                keep = self.live[rows_here]
                rows_here, local, freq = rows_here[keep], local[keep], freq[keep]
            rows.append(rows_here)
            tf.append(np.asarray(freq))
            lengths.append(np.asarray(postings.lengths)[local])
        found = (
            Posting(np.concatenate(rows), np.concatenate(tf), np.concatenate(lengths))
            if rows
            else Posting(_NO_ROWS.astype(np.int64), _NO_ROWS, _NO_ROWS)
        )
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[token] = found
        return found

    def document_frequency(self, token: str) -> int:
        """How many live passages hold the token: posting lengths, less the deleted rows of
        segments that have any (the postings themselves are not gathered)."""
        found = self._cache.get(token)
        if found is not None:
            return len(found.rows)
        df = self._frequencies.get(token)
        if df is None:
            (hashed,) = token_hashes([token]).tolist()
            df = 0
            for postings, base in self.parts:
                local, _ = postings.posting(hashed)
                if self.live is None or self._whole[base]:
                    df += len(local)
                elif len(local):
                    df += int(np.count_nonzero(self.live[local.astype(np.int64) + base]))
            if len(self._frequencies) > 65536:
                self._frequencies.clear()
            self._frequencies[token] = df
        return df

    def __contains__(self, token: str) -> bool:
        return self.document_frequency(token) > 0

    def idf_of(self, df: int) -> float:
        return math.log1p((self.count - df + 0.5) / (df + 0.5))

    def scores(self, tokens: Iterable[str], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every row for the query tokens (repeats count once); deleted rows
        and rows outside mask score 0. Each segment's postings are scored where they lie,
        deleted rows included, and the deleted rows are cleared at the end: nothing is
        gathered or copied across segments."""
        result = np.zeros(self.rows, dtype=np.float32)
        k1, b = self.k1, self.b
        scale = b / max(self.average_length, 1e-9)
        for token in set(tokens):
            df = self.document_frequency(token)
            if not df:
                continue
            idf = self.idf_of(df)
            (hashed,) = token_hashes([token]).tolist()
            for postings, base in self.parts:
                local, tf = postings.posting(hashed)
                if not len(local):
                    continue
                tf = tf.astype(np.float64)
                norm = k1 * (1 - b + scale * postings.lengths[local])
                weight = (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
                result[local.astype(np.int64) + base] += weight
        if self.live is not None:
            result[~self.live] = 0.0
        if mask is not None:
            result[~mask] = 0.0
        return result

    def top(
        self, tokens: Iterable[str], width: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the (at most) width best-scoring live passages that hold some query
        token, best first, with their scores."""
        scores = self.scores(tokens, mask)
        if width < len(scores):
            rows = np.argpartition(-scores, width - 1)[:width]
        else:
            rows = np.arange(len(scores))
        rows = rows[scores[rows] > 0]
        rows = rows[np.argsort(-scores[rows], kind="stable")].astype(np.int64)
        return rows, scores[rows]

    def scores_at(self, tokens: Iterable[str], rows: np.ndarray) -> np.ndarray:
        """BM25 scores of the given rows (as scores() gives them), each token's postings
        searched for the rows rather than scored whole: a question's dense-only candidates
        are a few dozen rows of a corpus of any size."""
        rows = np.asarray(rows, dtype=np.int64)
        result = np.zeros(len(rows), dtype=np.float64)
        k1, b = self.k1, self.b
        scale = b / max(self.average_length, 1e-9)
        for token in set(tokens):
            df = self.document_frequency(token)
            if not df or not len(rows):
                continue
            idf = self.idf_of(df)
            (hashed,) = token_hashes([token]).tolist()
            for postings, base in self.parts:
                local, tf = postings.posting(hashed)
                inside = np.flatnonzero((rows >= base) & (rows < base + len(postings.lengths)))
                if not len(local) or not len(inside):
                    continue
                wanted = rows[inside] - base
                at = np.minimum(np.searchsorted(local, wanted), len(local) - 1)
                held = local[at] == wanted
                found = tf[at[held]].astype(np.float64)
                norm = k1 * (1 - b + scale * postings.lengths[wanted[held]])
                result[inside[held]] += idf * found * (k1 + 1) / (found + norm)
        if self.live is not None and len(rows):
            result[~self.live[rows]] = 0.0
        return result.astype(np.float32)

    def rows_with_all(self, tokens: Sequence[str]) -> np.ndarray:
        """Rows of the live passages that contain every token."""
        rows: np.ndarray | None = None
        for token in dict.fromkeys(tokens):
            posting = self.posting(token).rows
            if not len(posting):
                return np.zeros(0, dtype=np.int64)
            rows = posting if rows is None else np.intersect1d(rows, posting, assume_unique=True)
        return np.zeros(0, dtype=np.int64) if rows is None else rows

    def rows_with_at_least(self, tokens: Sequence[str], least: int) -> np.ndarray:
        """Rows of the live passages that contain at least `least` of the distinct tokens,
        those with the most first."""
        postings = [self.posting(t).rows for t in dict.fromkeys(tokens)]
        postings = [p for p in postings if len(p)]
        if len(postings) < least or not postings:
            return np.zeros(0, dtype=np.int64)
        counts = np.bincount(np.concatenate(postings), minlength=self.rows)
        rows = np.flatnonzero(counts >= least)
        return rows[np.argsort(-counts[rows], kind="stable")]

    def token_idf(self, token: str) -> float | None:
        """The token's inverse document frequency, or None if no live passage contains it."""
        df = self.document_frequency(token)
        return None if df == 0 else self.idf_of(df)

    @property
    def max_idf(self) -> float:
        return math.log(1 + (self.count + 0.5) / 0.5)


def _count(
    documents: Sequence[Sequence[str]], rows: np.ndarray, vocabulary: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Postings (token id, row, term frequency) of token lists placed at the given rows,
    adding unseen tokens to vocabulary; also every row's length (indexed by row)."""
    size = int(rows.max(initial=-1)) + 1
    ids = np.fromiter(
        (vocabulary.setdefault(t, len(vocabulary)) for tokens in documents for t in tokens),
        dtype=np.int64,
    )
    counts = np.fromiter((len(t) for t in documents), dtype=np.int64, count=len(documents))
    lengths = np.zeros(size, dtype=np.int64)
    lengths[rows] = counts
    placed = np.repeat(rows.astype(np.int64), counts)
    pairs, tf = np.unique(ids * max(size, 1) + placed, return_counts=True)
    return pairs // max(size, 1), pairs % max(size, 1), tf.astype(np.int64), lengths
