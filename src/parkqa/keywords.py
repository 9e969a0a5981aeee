"""Keyword search for Chinese and Latin text: character n-gram tokens and a BM25 index."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
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


@dataclass
class KeywordIndex:
    """BM25 over passages, stored as postings in numpy arrays (no pickle). The term
    frequencies and passage lengths are kept, so an update recomputes the weights for the
    new passage set and tokenizes only the passages that are new."""

    vocabulary: dict[str, int]
    indptr: np.ndarray  # int64, len(vocabulary) + 1
    rows: np.ndarray  # int32 passage rows, grouped by token
    weights: np.ndarray  # float32 BM25 term weights
    idf: np.ndarray  # float32 per token
    count: int
    tf: np.ndarray  # int32 term frequency of each posting
    lengths: np.ndarray  # int32 tokens per passage
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(
        cls, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> KeywordIndex:
        """Index token lists; row i of the result scores documents[i]."""
        vocabulary: dict[str, int] = {}
        token_ids, rows, tf, lengths = _count(documents, np.arange(len(documents)), vocabulary)
        return cls._from_postings(list(vocabulary), token_ids, rows, tf, lengths, k1, b)

    def updated(
        self,
        new_row_of_old: np.ndarray,
        documents: Sequence[Sequence[str]],
        rows: np.ndarray,
        count: int,
    ) -> KeywordIndex:
        """The index of a new set of count passages: old row r becomes new_row_of_old[r]
        (-1: dropped), and documents[i] (token lists of new passages) becomes row rows[i]."""
        old_tokens = np.repeat(
            np.arange(len(self.vocabulary), dtype=np.int64), np.diff(self.indptr)
        )
        moved = new_row_of_old[self.rows]
        kept = moved >= 0
        vocabulary = dict(self.vocabulary)
        token_ids, new_rows, tf, new_lengths = _count(documents, rows, vocabulary)
        lengths = np.zeros(count, dtype=np.int64)
        survivors = new_row_of_old >= 0
        lengths[new_row_of_old[survivors]] = self.lengths[survivors]
        lengths[rows] = new_lengths[rows]
        return self._from_postings(
            list(vocabulary),
            np.concatenate([old_tokens[kept], token_ids]),
            np.concatenate([moved[kept], new_rows]),
            np.concatenate([self.tf[kept].astype(np.int64), tf]),
            lengths,
            self.k1,
            self.b,
        )

    @classmethod
    def _from_postings(
        cls,
        tokens: list[str],
        token_ids: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        lengths: np.ndarray,
        k1: float,
        b: float,
    ) -> KeywordIndex:
        count = len(lengths)
        order = np.lexsort((rows, token_ids))
        token_ids, rows, tf = token_ids[order], rows[order], tf[order]
        df_all = np.bincount(token_ids, minlength=len(tokens))
        present = np.flatnonzero(df_all)
        compact = np.full(len(tokens), -1, dtype=np.int64)
        compact[present] = np.arange(len(present))
        token_ids = compact[token_ids]
        df = df_all[present]
        idf = np.log1p((count - df + 0.5) / (df + 0.5)).astype(np.float32)
        average = float(lengths.mean()) if count else 1.0
        norm = k1 * (1 - b + b * lengths[rows] / max(average, 1e-9))
        weights = idf[token_ids] * tf * (k1 + 1) / (tf + norm)
        indptr = np.zeros(len(present) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return cls(
            vocabulary={tokens[i]: n for n, i in enumerate(present)},
            indptr=indptr,
            rows=rows.astype(np.int32),
            weights=weights.astype(np.float32),
            idf=idf,
            count=count,
            tf=tf.astype(np.int32),
            lengths=lengths.astype(np.int32),
            k1=k1,
            b=b,
        )

    def scores(self, tokens: Iterable[str], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every passage for the query tokens (repeats count once)."""
        result = np.zeros(self.count, dtype=np.float32)
        for token in set(tokens):
            i = self.vocabulary.get(token)
            if i is None:
                continue
            lo, hi = self.indptr[i], self.indptr[i + 1]
            result[self.rows[lo:hi]] += self.weights[lo:hi]
        if mask is not None:
            result[~mask] = 0.0
        return result

    def rows_with_all(self, tokens: Sequence[str]) -> np.ndarray:
        """Rows of the passages that contain every token."""
        rows: np.ndarray | None = None
        for token in dict.fromkeys(tokens):
            i = self.vocabulary.get(token)
            if i is None:
                return np.zeros(0, dtype=np.int32)
            posting = self.rows[self.indptr[i] : self.indptr[i + 1]]
            rows = posting if rows is None else np.intersect1d(rows, posting, assume_unique=True)
        return np.zeros(0, dtype=np.int32) if rows is None else rows

    def rows_with_at_least(self, tokens: Sequence[str], least: int) -> np.ndarray:
        """Rows of the passages that contain at least `least` of the distinct tokens, those
        with the most first."""
        postings = [
            self.rows[self.indptr[i] : self.indptr[i + 1]]
            for i in (self.vocabulary.get(t) for t in dict.fromkeys(tokens))
            if i is not None
        ]
        if len(postings) < least or not postings:
            return np.zeros(0, dtype=np.int32)
        counts = np.bincount(np.concatenate(postings), minlength=self.count)
        rows = np.flatnonzero(counts >= least)
        return rows[np.argsort(-counts[rows], kind="stable")]

    def token_idf(self, token: str) -> float | None:
        """The token's inverse document frequency, or None if no passage contains it."""
        i = self.vocabulary.get(token)
        return None if i is None else float(self.idf[i])

    @property
    def max_idf(self) -> float:
        return math.log(1 + (self.count + 0.5) / 0.5)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "indptr": self.indptr,
            "rows": self.rows,
            "weights": self.weights,
            "idf": self.idf,
            "tf": self.tf,
            "lengths": self.lengths,
        }

    def meta(self) -> dict:
        return {
            "tokenizer": TOKENIZER_VERSION,
            "count": self.count,
            "k1": self.k1,
            "b": self.b,
            "vocabulary": list(self.vocabulary),
        }

    @classmethod
    def from_arrays(cls, meta: dict, arrays: dict[str, np.ndarray]) -> KeywordIndex:
        vocabulary = {token: i for i, token in enumerate(meta["vocabulary"])}
        return cls(
            vocabulary=vocabulary,
            indptr=arrays["indptr"],
            rows=arrays["rows"],
            weights=arrays["weights"],
            idf=arrays["idf"],
            count=int(meta["count"]),
            tf=arrays["tf"],
            lengths=arrays["lengths"],
            k1=float(meta["k1"]),
            b=float(meta["b"]),
        )


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
