"""The FAISS vector index: exact inner product by default, HNSW or IVF when configured."""

from __future__ import annotations

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
