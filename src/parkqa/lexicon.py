"""jieba's dictionary of Chinese words with part-of-speech tags, memory-mapped from a cache, and a
segmenter that cuts text like jieba's default mode (no HMM) without importing jieba."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from parkqa.chinese import CJK_CODE_RANGES
from parkqa.encoders import cache_dir as parkqa_cache_dir
from parkqa.errors import ParkQAError

logger = logging.getLogger(__name__)

FORMAT = 1
MAX_WORD_LENGTH = 16
RARE_CHAR_FREQ = 50
"""A single character seen fewer times than this in jieba's corpus is as good as unknown (unless
it is a common Traditional form): a run of such characters is more likely a new name than a
sentence of one-character words."""

_MULTIPLIER = 0x100000001B3
_MULTIPLIER_ARRAY = np.uint64(_MULTIPLIER)
_MASK = (1 << 64) - 1
_ARRAYS = ("hashes", "offsets", "words", "logp", "tags")
_BLOCK_SYMBOLS = [ord(c) for c in "+#&._%-"]


def dictionary_path() -> Path:
    """jieba's dict.txt, found without importing jieba."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.origin:
        raise ParkQAError(
            "jieba's dictionary is needed to read Chinese; install it: pip install jieba"
        )
    return Path(spec.origin).parent / "dict.txt"


def _hash_text(text: str, seed: int) -> int:
    value = seed
    for char in text:
        value = (value * _MULTIPLIER + ord(char) + 1) & _MASK
    return value


def _hash_words(words: list[str], seed: int) -> np.ndarray:
    """The same hash as _hash_text, for many words at once."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    width = int(lengths.max(initial=1))
    codes = np.array(words, dtype=f"U{width}").view(np.uint32).reshape(len(words), width)
    hashes = np.full(len(words), seed, dtype=np.uint64)
    for column in range(width):
        rows = lengths > column
        hashes[rows] = hashes[rows] * _MULTIPLIER_ARRAY + codes[rows, column].astype(np.uint64) + 1
    return hashes


def _char_classes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per character: Chinese (a CJK ideograph), ASCII letter or digit, and part of a run that
    jieba segments with its dictionary (Chinese, ASCII letters and digits, and +#&._%-)."""
    han = np.zeros(codes.shape, dtype=bool)
    for low, high in CJK_CODE_RANGES:
        han |= (codes >= low) & (codes <= high)
    alnum = (
        ((codes >= 0x30) & (codes <= 0x39))
        | ((codes >= 0x41) & (codes <= 0x5A))
        | ((codes >= 0x61) & (codes <= 0x7A))
    )
    return han, alnum, han | alnum | np.isin(codes, _BLOCK_SYMBOLS)


class Lexicon:
    """jieba's word dictionary: look up a word's log-probability and tag, or cut text into tagged
    words. The first use builds a compact copy in a folder under cache_dir (parkqa's cache folder
    by default), named after dict.txt's path, size and time; later uses map it in."""

    def __init__(self, dictionary: Path | None = None, cache_dir: Path | None = None) -> None:
        self.dictionary = Path(dictionary) if dictionary is not None else dictionary_path()
        stat = self.dictionary.stat()
        key = hashlib.sha256(
            f"{FORMAT}|{self.dictionary.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
        ).hexdigest()[:16]
        self.cache: Path | None = (cache_dir or parkqa_cache_dir()) / f"lexicon-{key}"
        self.built = False
        try:
            manifest, arrays = _read_cache(self.cache)
        except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
            if not isinstance(error, FileNotFoundError):
                logger.warning("rebuilding the word dictionary cache %s: %s", self.cache, error)
            manifest, arrays = _build(self.dictionary)
            self.built = True
            self.cache = _write_cache(self.cache, manifest, arrays)
        self._hashes, self._offsets, self._words, self._logp, self._tags = (
            arrays[name] for name in _ARRAYS
        )
        self._seed = int(manifest["seed"])
        self._tag_names: list[str] = manifest["tags"]
        self._max_length = min(int(manifest["max_length"]), MAX_WORD_LENGTH)
        self._unknown_logp = math.log(1) - math.log(manifest["total"])
        self._rare_logp = math.log(RARE_CHAR_FREQ) - math.log(manifest["total"])

    def __len__(self) -> int:
        return len(self._hashes)

    def _find(self, word: str) -> int:
        if not word:
            return -1
        value = np.uint64(_hash_text(word, self._seed))
        at = int(np.searchsorted(self._hashes, value))
        if at == len(self._hashes) or self._hashes[at] != value:
            return -1
        start, end = int(self._offsets[at]), int(self._offsets[at + 1])
        return (
            at if self._words[start:end].tobytes() == word.encode("utf-8", "surrogatepass") else -1
        )

    def lookup(self, word: str) -> tuple[float, str] | None:
        """The natural-log probability and part-of-speech tag of a dictionary word, or None."""
        at = self._find(word)
        if at < 0:
            return None
        return float(self._logp[at]), self._tag_names[self._tags[at]]

    def cut(self, text: str) -> list[tuple[str, str]]:
        """Cut text into (word, tag) pairs along the most probable route through dictionary words,
        as jieba.lcut(text, HMM=False) does. Runs of ASCII letters or digits are one word tagged
        'eng' or 'm'; other characters outside words are tagged 'x', and two or more rare or
        unknown Chinese characters in a row become one word tagged 'un' (likely a new name)."""
        if not text:
            return []
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        han, alnum, in_block = _char_classes(codes)
        starts = np.ones(len(codes), dtype=bool)
        starts[1:] = ~(in_block[1:] & in_block[:-1])
        ends, word_ids = self._route(text, codes, in_block, starts)
        return self._tagged(text, ends, word_ids, han.tolist(), alnum.tolist(), in_block.tolist())

    def _candidates(
        self, text: str, codes: np.ndarray, in_block: np.ndarray, starts: np.ndarray
    ) -> list[list[tuple[int, float, int]]]:
        """For each position, the dictionary words starting there: (last position, logp, id)."""
        size = len(codes)
        pieces = np.cumsum(starts)
        wide = codes.astype(np.uint64) + 1
        hashes = np.full(size, self._seed, dtype=np.uint64)
        found: list[list[tuple[int, float, int]]] = [[] for _ in range(size)]
        for length in range(1, min(self._max_length, size) + 1):
            count = size - length + 1
            hashes = hashes[:count] * _MULTIPLIER_ARRAY + wide[length - 1 :]
            positions = np.flatnonzero(in_block[:count] & (pieces[:count] == pieces[length - 1 :]))
            if not len(positions):
                break
            keys = hashes[positions]
            at = np.minimum(np.searchsorted(self._hashes, keys), len(self._hashes) - 1)
            hit = self._hashes[at] == keys
            positions, ids = positions[hit], at[hit]
            spans = zip(
                positions.tolist(),
                ids.tolist(),
                self._offsets[ids].tolist(),
                self._offsets[ids + 1].tolist(),
                self._logp[ids].tolist(),
            )
            for k, word_id, begin, end, logp in spans:
                if self._words[begin:end].tobytes() == text[k : k + length].encode(
                    "utf-8", "surrogatepass"
                ):
                    found[k].append((k + length - 1, logp, word_id))
        return found

    def _route(
        self, text: str, codes: np.ndarray, in_block: np.ndarray, starts: np.ndarray
    ) -> tuple[list[int], list[int]]:
        """jieba's calc: the most probable route, scored afresh within each run it segments."""
        candidates = self._candidates(text, codes, in_block, starts)
        size = len(codes)
        score = [0.0] * (size + 1)
        ends = [0] * size
        word_ids = [-1] * size
        unknown = self._unknown_logp
        piece_starts = starts.tolist()
        for k in range(size - 1, -1, -1):
            best, best_end, best_id = unknown + score[k + 1], k, -1
            if candidates[k]:
                best = -math.inf
                for end, logp, word_id in candidates[k]:
                    value = logp + score[end + 1]
                    if value > best or (value == best and end > best_end):
                        best, best_end, best_id = value, end, word_id
            ends[k], word_ids[k] = best_end, best_id
            score[k] = 0.0 if piece_starts[k] else best
        return ends, word_ids

    def _tagged(
        self,
        text: str,
        ends: list[int],
        word_ids: list[int],
        han: list[bool],
        alnum: list[bool],
        in_block: list[bool],
    ) -> list[tuple[str, str]]:
        """The route's words with their tags, each marked whether it is a rare single character."""
        words: list[tuple[str, str, bool]] = []
        k, size = 0, len(text)
        while k < size:
            end = ends[k] + 1
            word_id = word_ids[k]
            if end - k == 1 and alnum[k]:
                while end < size and ends[end] == end and alnum[end]:
                    end += 1
                run = text[k:end]
                words.append((run, "m" if run.isdigit() else "eng", False))
            elif not in_block[k]:
                if text.startswith("\r\n", k):
                    end = k + 2
                words.append((text[k:end], "x", False))
            elif word_id < 0:
                words.append((text[k:end], "x", han[k] and not _common_traditional(text[k])))
            else:
                rare = (
                    end - k == 1
                    and han[k]
                    and self._logp[word_id] < self._rare_logp
                    and not _common_traditional(text[k])
                )
                words.append((text[k:end], self._tag_names[self._tags[word_id]], rare))
            k = end
        return _merge_unknown(words)


@functools.cache
def _common_traditional(char: str) -> bool:
    """Whether a character is a common Traditional form (in Big5's first level, not in GB2312):
    rare in jieba's Simplified corpus, yet no sign of a name."""
    try:
        code = int.from_bytes(char.encode("big5"), "big")
    except UnicodeEncodeError:
        return False
    if not 0xA440 <= code <= 0xC67E:
        return False
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return True
    return False


def _merge_unknown(words: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
    """Join runs of two or more rare single characters into one word tagged 'un'."""
    merged: list[tuple[str, str]] = []
    run: list[tuple[str, str]] = []
    for word, tag, rare in words:
        if rare:
            run.append((word, tag))
            continue
        if run:
            merged.extend(run if len(run) == 1 else [("".join(w for w, _ in run), "un")])
            run = []
        merged.append((word, tag))
    if run:
        merged.extend(run if len(run) == 1 else [("".join(w for w, _ in run), "un")])
    return merged


def _read_cache(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The cache's manifest and memory-mapped arrays; ValueError where they do not fit together."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    arrays = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS
    }
    count = int(manifest["words"])
    layout = {name: (array.dtype, array.shape) for name, array in arrays.items()}
    expected = {
        "hashes": (np.dtype(np.uint64), (count,)),
        "offsets": (np.dtype(np.uint32), (count + 1,)),
        "words": (np.dtype(np.uint8), (int(arrays["offsets"][-1]),)),
        "logp": (np.dtype(np.float64), (count,)),
        "tags": (np.dtype(np.uint16), (count,)),
    }
    if manifest["format"] != FORMAT or layout != expected:
        raise ValueError("the arrays do not match the manifest")
    if count and int(arrays["tags"].max()) >= len(manifest["tags"]):
        raise ValueError("a tag is missing from the manifest")
    return manifest, arrays


def _read_entries(dictionary: Path) -> tuple[list[str], list[str], list[str]]:
    """The words, frequencies and tags of dict.txt's "word freq [tag]" lines."""
    text = dictionary.read_text(encoding="utf-8")
    tokens = text.split()
    lines = [line for line in text.splitlines() if line.strip()]
    if len(tokens) == 3 * len(lines):
        return tokens[0::3], tokens[1::3], tokens[2::3]
    words, freqs, tags = [], [], []
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if len(parts) < 2:
            raise ParkQAError(f"{dictionary}, line {number}: expected 'word freq tag'")
        words.append(parts[0])
        freqs.append(parts[1])
        tags.append(parts[2] if len(parts) > 2 else "x")
    return words, freqs, tags


def _build(dictionary: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The cache's arrays, from dict.txt read as jieba reads it: a later line for the same word
    wins, every line counts towards the total, and words of frequency 0 are no words."""
    logger.info("building the word dictionary cache from %s", dictionary)
    words, freq_texts, tags = _read_entries(dictionary)
    try:
        freqs = np.array(freq_texts, dtype=np.int64)
    except ValueError:
        raise ParkQAError(f"{dictionary}: a frequency is not a whole number") from None
    total = int(freqs.sum())
    kept = np.fromiter(dict(zip(words, range(len(words)))).values(), dtype=np.int64)
    kept = kept[freqs[kept] > 0]
    words = [words[i] for i in kept.tolist()]
    seed = 0xCBF29CE484222325
    while True:
        hashes = _hash_words(words, seed)
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        if not np.any(hashes[1:] == hashes[:-1]):
            break
        seed += 1
    words = [words[i] for i in order.tolist()]
    kept = kept[order]
    tag_names, tag_ids = np.unique(np.array(tags)[kept], return_inverse=True)
    log_total = math.log(total)
    distinct, freq_ids = np.unique(freqs[kept], return_inverse=True)
    logs = np.array([math.log(f) - log_total for f in distinct.tolist()], dtype=np.float64)
    joined = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)
    breaks = np.flatnonzero(joined == ord("\n"))
    offsets = np.empty(len(words) + 1, dtype=np.uint32)
    offsets[0] = 0
    offsets[1:-1] = breaks - np.arange(len(breaks))
    offsets[-1] = len(joined) - len(breaks)
    arrays = {
        "hashes": hashes,
        "offsets": offsets,
        "words": np.delete(joined, breaks),
        "logp": logs[freq_ids],
        "tags": tag_ids.astype(np.uint16),
    }
    manifest = {
        "format": FORMAT,
        "source": str(dictionary),
        "words": len(words),
        "total": total,
        "max_length": max(map(len, words), default=1),
        "seed": seed,
        "tags": tag_names.tolist(),
    }
    return manifest, arrays


def _write_cache(folder: Path, manifest: dict, arrays: dict[str, np.ndarray]) -> Path | None:
    """Write each file to a temporary name and move it into place, the manifest last; where the
    cache folder is not writable, return None and work from memory."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            _replace(folder / f"{name}.npy", lambda handle, a=array: np.save(handle, a))
        text = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        _replace(folder / "manifest.json", lambda handle: handle.write(text))
    except OSError as error:
        logger.warning(
            "cannot cache the word dictionary in %s (%s); using it from memory", folder, error
        )
        return None
    return folder


def _replace(path: Path, write: Callable[[BinaryIO], object]) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The dictionary for this process, loaded once."""
    return Lexicon()
