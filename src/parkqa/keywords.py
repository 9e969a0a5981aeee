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
        "per",
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

    @classmethod
    def merge(cls, parts: Sequence[Postings]) -> Postings:
        """The postings of segments placed one after another (the rows of parts[1] follow
        those of parts[0], and so on), as Postings.build would give them for all their
        passages: each token's postings are copied part by part to where they belong, so
        they stay in row order without sorting."""
        tokens = np.unique(np.concatenate([part.tokens for part in parts]))
        places = [np.searchsorted(tokens, part.tokens) for part in parts]
        counts = np.zeros(len(tokens), dtype=np.int64)
        for part, place in zip(parts, places):
            counts[place] += np.diff(part.indptr)
        indptr = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        rows = np.empty(int(indptr[-1]), dtype=np.int32)
        tf = np.empty(int(indptr[-1]), dtype=np.int32)
        free = indptr[:-1].copy()  # where each token's next postings go
        base = 0
        for part, place in zip(parts, places):
            sizes = np.diff(part.indptr)
            shift = np.repeat(free[place] - part.indptr[:-1], sizes)
            where = shift + np.arange(len(part.rows))
            rows[where] = np.asarray(part.rows) + base
            tf[where] = part.tf
            free[place] += sizes
            base += len(part.lengths)
        lengths = np.concatenate([part.lengths for part in parts]).astype(np.int32)
        return cls(tokens=tokens, indptr=indptr, rows=rows, tf=tf, lengths=lengths)

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
    those of the live passages, so scores equal those of an index built from scratch.

    A question's best rows are found without scoring every row (top): the postings of its
    rare tokens are read whole, and a common token, whose postings may hold most rows, is
    looked up only at the rows that can still make the top, so a question costs what its
    rare tokens cost, however large the index."""

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
        self._terms: dict[str, _Term] = {}
        self._bases = np.array([base for _, base in self.parts], dtype=np.int64)
        self._whole = [  # segments none of whose rows is deleted
            live is None or bool(live[base : base + len(p.lengths)].all()) for p, base in self.parts
        ]

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
        rows, tf = self._gather(self._term(token))
        lengths = self._lengths(rows)
        found = Posting(rows, tf, lengths)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[token] = found
        return found

    def document_frequency(self, token: str) -> int:
        """How many live passages hold the token: posting lengths, less the deleted rows of
        segments that have any (the postings themselves are not gathered)."""
        return self._term(token).df

    def __contains__(self, token: str) -> bool:
        return self.document_frequency(token) > 0

    def prefetch(self, tokens: Sequence[str]) -> None:
        """Locate the postings of the tokens not looked up before in one search: a search
        costs about the same for one token as for hundreds."""
        unknown = [token for token in dict.fromkeys(tokens) if token not in self._terms]
        if unknown:
            self._locate(unknown)

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
        token, best first (ties by row), with their exact scores.

        The tokens are taken rarest first, their postings merged into candidate rows with
        partial scores, until the tokens left could not lift a row outside the candidates
        (whose score is at most what those tokens can add) to the width-th best partial
        score; the tokens left are then looked up at the candidates alone."""
        terms = self._weighted_terms(tokens)
        if not terms or width <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        bounds = np.array([idf * (self.k1 + 1) for _, idf in terms])
        left = np.concatenate([np.cumsum(bounds[::-1])[::-1], [0.0]])  # bound of terms[j:]
        rows, partial = np.zeros(0, dtype=np.int64), np.zeros(0)
        read, threshold, taken, completed = 0, 0.0, len(terms), 0
        for j, (term, idf) in enumerate(terms):
            if len(rows) >= width and term.df > LOOKUP_FIRST * width and read >= 4 * completed:
                threshold = max(threshold, self._best_complete(terms[j:], rows, partial, width))
                completed = max(read, 1)
                if left[j] < threshold * (1 - _SLACK):
                    taken = j
                    break
            read += term.df
            if len(rows) >= width and read > self.rows // DENSE_SHARE:
                taken = next(
                    (k for k in range(j, len(terms)) if left[k] < threshold * (1 - _SLACK)),
                    len(terms),
                )
                rows, partial = self._accumulate(terms[j:taken], rows, partial, mask)
                break
            found, tf = self._gather(term, mask)
            weights = self._weights(idf, tf, self._lengths(found))
            rows, inverse = np.unique(np.concatenate([rows, found]), return_inverse=True)
            partial = np.bincount(
                inverse.reshape(-1), np.concatenate([partial, weights]), minlength=len(rows)
            )
            threshold = max(threshold, _kth_largest(partial, width))
            if threshold > 0 and left[j + 1] < threshold * (1 - _SLACK):
                taken = j + 1
                break
        for j in range(taken, len(terms)):
            keep = partial + left[j] >= threshold * (1 - _SLACK)
            rows, partial = rows[keep], partial[keep]
            term, idf = terms[j]
            tf = self._tf_at(term, rows)
            held = np.flatnonzero(tf)
            partial[held] += self._weights(idf, tf[held], self._lengths(rows[held]))
            threshold = max(threshold, _kth_largest(partial, width))
        best = _best(partial, width)
        best = best[np.lexsort((rows[best], -partial[best]))]
        return rows[best], partial[best].astype(np.float32)

    def _accumulate(
        self,
        terms: Sequence[tuple[_Term, float]],
        rows: np.ndarray,
        partial: np.ndarray,
        mask: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidates and partial scores with the terms' postings added, segment by
        segment in an array of the segment's rows: cheaper than merging sorted rows once
        the postings are many. Deleted rows and rows outside mask are dropped."""
        spans: dict[int, list[tuple[float, int, int]]] = {}
        for term, idf in terms:
            for number, lo, hi in term.spans:
                spans.setdefault(number, []).append((idf, lo, hi))
        edges = np.searchsorted(rows, np.append(self._bases, self.rows))
        found_rows, found_scores = [], []
        for number, (postings, base) in enumerate(self.parts):
            first, last = int(edges[number]), int(edges[number + 1])
            if number not in spans:
                found_rows.append(rows[first:last])
                found_scores.append(partial[first:last])
                continue
            size = len(postings.lengths)
            scores = np.zeros(size)
            scores[rows[first:last] - base] = partial[first:last]
            for idf, lo, hi in spans[number]:
                local = postings.rows[lo:hi]
                scores[local] += self._weights(idf, postings.tf[lo:hi], postings.lengths[local])
            if not self._whole[number]:
                scores[~self.live[base : base + size]] = 0.0
            if mask is not None:
                scores[~mask[base : base + size]] = 0.0
            here = np.flatnonzero(scores)
            found_rows.append(here + base)
            found_scores.append(scores[here])
        return np.concatenate(found_rows), np.concatenate(found_scores)

    def _best_complete(
        self,
        terms: Sequence[tuple[_Term, float]],
        rows: np.ndarray,
        partial: np.ndarray,
        width: int,
    ) -> float:
        """The width-th best whole score of the candidates with the best partial scores (a
        few times width of them), the tokens not yet read looked up at them: width rows score
        at least this, so no row whose score cannot reach it is in the top."""
        best = np.sort(_best(partial, COMPLETED * width))
        scores = partial[best].copy()
        lengths = self._lengths(rows[best])
        for term, idf in terms:
            tf = self._tf_at(term, rows[best])
            held = np.flatnonzero(tf)
            scores[held] += self._weights(idf, tf[held], lengths[held])
        return _kth_largest(scores, width)

    def scores_at(self, tokens: Iterable[str], rows: np.ndarray) -> np.ndarray:
        """BM25 scores of the given rows (as scores() gives them), each token's postings
        looked up at those rows only."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        unique, inverse = np.unique(rows, return_inverse=True)
        result = np.zeros(len(unique))
        lengths = self._lengths(unique)
        for term, idf in self._weighted_terms(tokens):
            tf = self._tf_at(term, unique)
            held = np.flatnonzero(tf)
            result[held] += self._weights(idf, tf[held], lengths[held])
        if self.live is not None:
            result[~self.live[unique]] = 0.0
        return result[inverse.reshape(-1)].astype(np.float32)

    def rows_with_all(self, tokens: Sequence[str]) -> np.ndarray:
        """Rows of the live passages that contain every token: the rarest token's rows,
        kept where each other token's postings hold them."""
        terms = sorted((self._term(token) for token in dict.fromkeys(tokens)), key=lambda t: t.df)
        if not terms or not terms[0].df:
            return np.zeros(0, dtype=np.int64)
        rows, _ = self._gather(terms[0])
        for term in terms[1:]:
            if not len(rows):
                break
            rows = rows[self._tf_at(term, rows) > 0]
        return rows

    def rows_with_at_least(self, tokens: Sequence[str], least: int) -> np.ndarray:
        """Rows of the live passages that contain at least `least` of the distinct tokens,
        those with the most first. A row holding `least` of m tokens holds one of the
        m - least + 1 rarest, so only their rows are counted."""
        terms = sorted(
            (t for t in map(self._term, dict.fromkeys(tokens)) if t.df), key=lambda t: t.df
        )
        if len(terms) < least or not terms:
            return np.zeros(0, dtype=np.int64)
        if least > 0:
            seeds = terms[: len(terms) - least + 1]
            rows = np.unique(np.concatenate([self._gather(term)[0] for term in seeds]))
        else:  # every live passage holds at least none of them
            rows = np.arange(self.rows) if self.live is None else np.flatnonzero(self.live)
        counts = np.zeros(len(rows), dtype=np.int64)
        for term in terms:
            counts += self._tf_at(term, rows) > 0
        rows, counts = rows[counts >= least], counts[counts >= least]
        return rows[np.argsort(-counts, kind="stable")]

    def token_idf(self, token: str) -> float | None:
        """The token's inverse document frequency, or None if no live passage contains it."""
        df = self.document_frequency(token)
        return None if df == 0 else self.idf_of(df)

    @property
    def max_idf(self) -> float:
        return math.log(1 + (self.count + 0.5) / 0.5)

    # -- postings read in place -----------------------------------------------------------

    def _term(self, token: str) -> _Term:
        """Where the token's postings lie (cached: questions share their common tokens)."""
        found = self._terms.get(token)
        if found is None:
            found = self._locate([token])[0]
        return found

    def _locate(self, tokens: Sequence[str]) -> list[_Term]:
        """The postings spans of tokens in every segment, and each token's document frequency
        over the live passages."""
        hashes = token_hashes(tokens)
        spans: list[list[tuple[int, int, int]]] = [[] for _ in tokens]
        for number, (postings, _) in enumerate(self.parts):
            at = np.searchsorted(postings.tokens, hashes)
            inside = np.flatnonzero(at < len(postings.tokens))
            hits = inside[postings.tokens[at[inside]] == hashes[inside]]
            for i in hits.tolist():
                lo, hi = postings.indptr[at[i]], postings.indptr[at[i] + 1]
                spans[i].append((number, int(lo), int(hi)))
        terms = []
        for token, found in zip(tokens, spans):
            df = 0
            for number, lo, hi in found:
                if self._whole[number]:
                    df += hi - lo
                else:
                    postings, base = self.parts[number]
                    local = postings.rows[lo:hi].astype(np.int64)
                    df += int(np.count_nonzero(self.live[local + base]))
            term = _Term(tuple(found), df)
            if len(self._terms) > 65536:
                self._terms.clear()
            self._terms[token] = term
            terms.append(term)
        return terms

    def _weighted_terms(self, tokens: Iterable[str]) -> list[tuple[_Term, float]]:
        """The distinct query tokens some live passage holds, with their IDF, rarest first."""
        distinct = list(dict.fromkeys(tokens))
        unknown = [t for t in distinct if t not in self._terms]
        if unknown:
            self._locate(unknown)
        terms = [self._terms[t] for t in distinct]
        weighted = [(term, self.idf_of(term.df)) for term in terms if term.df]
        return sorted(weighted, key=lambda pair: -pair[1])

    def _gather(self, term: _Term, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The term's live rows (global, ascending) within mask, and their term frequencies."""
        rows, tf = [], []
        for number, lo, hi in term.spans:
            postings, base = self.parts[number]
            here = postings.rows[lo:hi].astype(np.int64) + base
            freq = np.asarray(postings.tf[lo:hi])
            keep = None if self._whole[number] else self.live[here]
            if mask is not None:
                keep = mask[here] if keep is None else keep & mask[here]
            if keep is not None:
                here, freq = here[keep], freq[keep]
            rows.append(here)
            tf.append(freq)
        if not rows:
            return np.zeros(0, dtype=np.int64), _NO_ROWS
        return np.concatenate(rows), np.concatenate(tf)

    def _tf_at(self, term: _Term, rows: np.ndarray) -> np.ndarray:
        """The term's frequency in each of the given rows (ascending global rows; 0 where
        the row's passage lacks it), by binary search in each segment's postings."""
        tf = np.zeros(len(rows), dtype=np.int32)
        if not len(rows):
            return tf
        edges = np.searchsorted(rows, np.append(self._bases, self.rows))
        for number, lo, hi in term.spans:
            first, last = int(edges[number]), int(edges[number + 1])
            if first == last:
                continue
            postings, base = self.parts[number]
            held = postings.rows[lo:hi]
            local = (rows[first:last] - base).astype(held.dtype)
            if (last - first) * SEARCH_SHARE > hi - lo:  # many rows: spread the postings out
                spread = np.zeros(len(postings.lengths), dtype=np.int32)
                spread[held] = postings.tf[lo:hi]
                tf[first:last] = spread[local]
                continue
            at = np.minimum(np.searchsorted(held, local), len(held) - 1)
            found = np.flatnonzero(held[at] == local)
            tf[first + found] = postings.tf[lo + at[found]]
        return tf

    def _lengths(self, rows: np.ndarray) -> np.ndarray:
        """The length in tokens of the passage at each of the given ascending global rows."""
        lengths = np.zeros(len(rows), dtype=np.int32)
        if not len(rows):
            return lengths
        edges = np.searchsorted(rows, np.append(self._bases, self.rows))
        for number, (postings, base) in enumerate(self.parts):
            first, last = int(edges[number]), int(edges[number + 1])
            if first < last:
                lengths[first:last] = postings.lengths[rows[first:last] - base]
        return lengths

    def _weights(self, idf: float, tf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """A term's BM25 contribution at postings of these frequencies and passage lengths."""
        k1, b = self.k1, self.b
        tf = tf.astype(np.float64)
        norm = k1 * (1 - b + b / max(self.average_length, 1e-9) * lengths)
        return idf * tf * (k1 + 1) / (tf + norm)


# Once top() has read more than rows // DENSE_SHARE postings, it adds the rest it must read
# up in an array of every row instead of merging sorted candidates.
DENSE_SHARE = 16
# Rows are looked up in a token's postings by binary search, unless they are more than a
# SEARCH_SHARE-th of its postings: then the postings are spread over the segment's rows.
SEARCH_SHARE = 8
# Before reading a token's postings longer than LOOKUP_FIRST * width, top() looks the tokens
# left up at its best candidates, whose whole scores may show the rest need not be read (again
# only once it has read four times as many postings as when it last did).
LOOKUP_FIRST = 8
COMPLETED = 4  # times width: how many candidates _best_complete scores whole
_SLACK = 1e-9  # rounding allowance when bounds are compared with summed scores


@dataclass(frozen=True)
class _Term:
    """Where a token's postings lie, (segment number, start, end) in each segment that
    holds it, and how many live passages hold it."""

    spans: tuple[tuple[int, int, int], ...]
    df: int


def _best(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values, ties at the k-th taken first come first."""
    if len(values) <= k:
        return np.arange(len(values))
    kth = _kth_largest(values, k)
    above = np.flatnonzero(values > kth)
    return np.concatenate([above, np.flatnonzero(values == kth)[: k - len(above)]])


def _kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest value, or 0 when there are fewer than k."""
    if len(values) < k:
        return 0.0
    return float(np.partition(values, len(values) - k)[len(values) - k])


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
