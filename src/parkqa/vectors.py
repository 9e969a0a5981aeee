"""Passage vector search: exact inner product over memory-mapped vectors, inverted lists over
them for large segments, or a FAISS HNSW or IVF index when configured."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parkqa.config import RetrievalConfig


def build_vector_index(vectors: np.ndarray, dimension: int, config: RetrievalConfig):
    """A FAISS index over normalised vectors; row i of vectors gets id i."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
    count = len(vectors)
    if config.vector_index == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = max(64, config.candidates)
    elif config.vector_index == "ivf" and count >= 2 * config.ivf_lists:
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(
            quantizer, dimension, config.ivf_lists, faiss.METRIC_INNER_PRODUCT
        )
        index.train(vectors)
        index.nprobe = max(1, config.ivf_lists // 8)
    else:
        index = faiss.IndexFlatIP(dimension)
    if count:
        index.add(vectors)
    return index


def search_vectors(index, query: np.ndarray, k: int, allowed: np.ndarray | None = None):
    """Top-k (scores, rows) for one normalised query vector, optionally among allowed rows only.

    Filtered, every index type returns min(k, allowed rows) rows: when the IVF lists probed or
    the HNSW neighbourhood walked hold fewer allowed rows than that, the allowed rows are
    searched exhaustively.
    """
    import faiss

    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    if allowed is None:
        scores, rows = index.search(query, k)
    else:
        ids = np.flatnonzero(allowed).astype(np.int64)
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        k = min(k, len(ids))
        selector = faiss.IDSelectorBatch(ids)
        scores, rows = index.search(query, k, params=_filtered_parameters(index, selector))
        if np.count_nonzero(rows[0] >= 0) < k:
            scores, rows = _search_exhaustively(index, query, k, selector)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def _filtered_parameters(index, selector):
    """Search parameters restricted to the selector, with the index's own search breadth
    (FAISS's parameter objects otherwise default to one IVF list and an HNSW breadth of 16)."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
    return faiss.SearchParameters(sel=selector)


def _search_exhaustively(index, query: np.ndarray, k: int, selector):
    """Exact top-k among the selected rows: every IVF list, or HNSW's stored vectors."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(sel=selector, nprobe=index.nlist)
        return index.search(query, k, params=params)
    if isinstance(index, faiss.IndexHNSW):
        index = faiss.downcast_index(index.storage)
    return index.search(query, k, params=faiss.SearchParameters(sel=selector))


def exact_search(vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray | None):
    """Top-k (scores, rows) by inner product over a (memory-mapped) matrix, among the allowed
    rows only when a mask is given: exact, so a filter that k rows pass returns those k."""
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    if allowed is None:
        rows = np.arange(len(vectors))
        scores = _inner(np.asarray(vectors), query)
    else:
        rows = np.flatnonzero(allowed)
        dense = len(rows) * 4 > len(vectors)
        scores = _inner(np.asarray(vectors), query)[rows] if dense else _inner(vectors[rows], query)
    k = min(k, len(rows))
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.argsort(-scores[top], kind="stable")]
    return scores[top].astype(np.float32), rows[top].astype(np.int64)


def _inner(matrix: np.ndarray, query: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Each row's inner product with the query, on this thread: a BLAS product of one query
    would wake every BLAS thread, which costs more than it saves on a busy machine."""
    return np.einsum("ij,j->i", matrix, query, out=out)


class VectorSet:
    """Passage vectors held in parts (one per segment, each a matrix searched exactly or a
    FAISS index), some of whose rows may be deleted; rows are global, part by part."""

    def __init__(self, parts, live: np.ndarray | None, dimension: int) -> None:
        """parts: (matrix or faiss index, first global row, rows) of each segment."""
        self.parts = tuple(parts)
        self.live = live
        self.d = dimension
        self.rows = sum(rows for _, _, rows in self.parts)
        self.ntotal = self.rows if live is None else int(np.count_nonzero(live))
        self._whole = [  # parts none of whose rows is deleted: searched without a mask
            live is None or bool(live[base : base + rows].all()) for _, base, rows in self.parts
        ]

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """Top-k (scores, global rows) for one normalised query vector, among live rows (and
        the allowed ones when a mask is given), best first."""
        mask = (
            self.live
            if allowed is None
            else (allowed if self.live is None else allowed & self.live)
        )
        found_scores, found_rows = [], []
        for (part, base, rows), whole in zip(self.parts, self._whole):
            sub = None if mask is None or (allowed is None and whole) else mask[base : base + rows]
            if sub is not None and not sub.any():
                continue
            if isinstance(part, np.ndarray):
                scores, local = exact_search(part, query, k, sub)
            elif isinstance(part, ListIndex):
                scores, local = part.search(query, k, sub)
            else:
                scores, local = search_vectors(part, query, k, sub)
            found_scores.append(scores)
            found_rows.append(local + base)
        if not found_rows:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, rows = np.concatenate(found_scores), np.concatenate(found_rows)
        order = np.argsort(-scores, kind="stable")[:k]
        return scores[order], rows[order]

    def vector(self, row: int) -> np.ndarray:
        """The stored vector of a global row."""
        for part, base, rows in self.parts:
            if base <= row < base + rows:
                local = row - base
                if isinstance(part, np.ndarray):
                    return np.asarray(part[local])
                if isinstance(part, ListIndex):
                    return np.asarray(part.vectors[local])
                return _stored(part).reconstruct(local)
        raise IndexError(row)


def _stored(index):
    """The index that holds the vectors: HNSW keeps them in its storage."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return faiss.downcast_index(index.storage)
    return index


def probes(lists: int) -> int:
    """How many inverted lists a question scans: 1.4 times the square root of their number
    (a twelfth of them at most, at least 8). A segment of n passages has 4 sqrt(n) lists, so
    a question reads about 0.7 n ** 0.75 of its vectors (4,000 of 100,000; 6,600 of
    200,000), a smaller share the larger the segment. (At 100,000 passages of real text in one segment, 50 of 1,264 lists give top-1
    and top-5 of 0.755 and 0.87, as 23 of 282 lists in each of five segments of 20,000 gave
    0.755 and 0.875; scanning every list, 0.76 and 0.88.)"""
    return max(8, min(lists // 12, round(1.4 * np.sqrt(lists))))


@dataclass(frozen=True)
class ListIndex:
    """Inverted lists over a segment's memory-mapped vectors, for segments too large to scan
    on every question: the vectors are clustered, each cluster's vectors are kept together (in
    list order, as int8 codes with a scale per vector), and a question scans the lists of its
    nearest centroids only.
    Filtered, it returns min(k, allowed rows) rows: when the probed lists hold fewer allowed
    rows, the allowed rows are searched exactly."""

    centroids: np.ndarray  # float32 (lists, d)
    offsets: np.ndarray  # int64 (lists + 1): where each list starts in order and codes
    order: np.ndarray  # int32 rows, list by list
    codes: np.ndarray  # int8 (rows, d): the vectors in list order, each scaled to ±127
    scales: np.ndarray  # float32 (rows,): what each code row is multiplied by
    vectors: np.ndarray  # float32 (rows, d) by row, for exact search
    nprobe: int

    @staticmethod
    def build(vectors: np.ndarray) -> dict[str, np.ndarray]:
        """The arrays of the inverted lists of vectors (stored with the segment)."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        lists = min(max(16, int(4 * np.sqrt(len(vectors)))), len(vectors))
        kmeans = faiss.Kmeans(vectors.shape[1], lists, niter=12, seed=7, spherical=True)
        kmeans.train(vectors)
        _, assigned = kmeans.index.search(vectors, 1)
        assigned = assigned.reshape(-1)
        order = np.argsort(assigned, kind="stable").astype(np.int32)
        offsets = np.zeros(lists + 1, dtype=np.int64)
        np.cumsum(np.bincount(assigned, minlength=lists), out=offsets[1:])
        ordered = vectors[order]
        scales = np.maximum(np.abs(ordered).max(axis=1), 1e-12) / 127
        return {
            "list_centroids": kmeans.centroids.astype(np.float32),
            "list_offsets": offsets,
            "list_order": order,
            "list_codes": np.round(ordered / scales[:, None]).astype(np.int8),
            "list_scales": scales.astype(np.float32),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ListIndex:
        lists = len(arrays["list_centroids"])
        return cls(
            centroids=arrays["list_centroids"],
            offsets=arrays["list_offsets"],
            order=arrays["list_order"],
            codes=arrays["list_codes"],
            scales=arrays["list_scales"],
            vectors=arrays["vectors"],
            nprobe=probes(lists),
        )

    def __len__(self) -> int:
        return len(self.order)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None):
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        nprobe = min(self.nprobe, len(self.centroids))
        closeness = _inner(self.centroids, query)
        probed = np.argpartition(-closeness, nprobe - 1)[:nprobe]
        spans = [(int(self.offsets[i]), int(self.offsets[i + 1])) for i in np.sort(probed)]
        rows = np.concatenate([self.order[lo:hi] for lo, hi in spans])
        scores = np.empty(len(rows), dtype=np.float32)
        at = 0
        for lo, hi in spans:  # the int8 codes are widened chunk by chunk, list by list
            _inner(self.codes[lo:hi], query, out=scores[at : at + hi - lo])
            at += hi - lo
        scores *= np.concatenate([self.scales[lo:hi] for lo, hi in spans])
        if allowed is not None:
            keep = allowed[rows]
            rows, scores = rows[keep], scores[keep]
            if len(rows) < min(k, int(np.count_nonzero(allowed))):
                return exact_search(self.vectors, query, k, allowed)
        k = min(k, len(rows))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], rows[top].astype(np.int64)
