"""The library's front door: a knowledge base that indexes its documents and answers questions."""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from parkqa.answering import (
    Support,
    abstention_model,
    assess_support,
    check_names,
    choose_sentences,
    english_fact,
    lead_fact,
    missing_period_note,
)
from parkqa.chinese import has_cjk, to_traditional
from parkqa.citations import Answer, Citation, cite
from parkqa.config import Config, load_config
from parkqa.documents import SUPPORTED_SUFFIXES, read_document
from parkqa.encoders import Encoder, Progress, make_encoder
from parkqa.errors import DocumentError, IndexMissingError, UploadError
from parkqa.indexing import IndexReport, update_index
from parkqa.lexicon import lexicon
from parkqa.questions import Question, analyse, clean_question
from parkqa.retrieval import Filters, in_knowledge_base_script, search
from parkqa.store import MANIFEST, LoadedIndex, check_encoder, load_index

logger = logging.getLogger(__name__)

# Only a question's beginning is embedded (all of it is searched by keyword): a transformer
# takes seconds over 2,000 characters, and what a question asks is in its first lines.
EMBEDDED_QUESTION_CHARS = 256


class KnowledgeBase:
    """Documents in a knowledge folder, their index, and question answering over them.

    The encoder and the index are loaded on first use; the index is reloaded when a
    newer generation has been committed, so answers switch to it once it is complete.
    """

    def __init__(self, config: Config, encoder: Encoder | None = None) -> None:
        self.config = config
        self._encoder = encoder
        self._index: LoadedIndex | None = None
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None

    @classmethod
    def open(cls, config_path: str | os.PathLike | None = None) -> KnowledgeBase:
        """Open the knowledge base a config file describes (default: ./parkqa.yaml or $PARKQA_CONFIG)."""
        return cls(load_config(config_path))

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = make_encoder(self.config.embedding)
            return self._encoder

    def index(self) -> LoadedIndex:
        """The newest committed index (raises IndexMissingError if none was built).

        A commit replaces manifest.json, so its inode and modification time tell whether the
        loaded index is still the newest without reading the manifest on every question."""
        stamp = _stamp(self.config.index_dir / MANIFEST)
        current = self._index
        if current is not None and stamp is not None and stamp == self._stamp:
            return current
        with self._lock:
            if self._index is None or stamp is None or stamp != self._stamp:
                self._index = load_index(self.config.index_dir)
                self._stamp = stamp
            return self._index

    def has_index(self) -> bool:
        return (self.config.index_dir / MANIFEST).exists()

    def update(
        self, rebuild: bool = False, progress: Progress | None = None, wait: float = 0.0
    ) -> IndexReport:
        """Bring the index up to date with the knowledge folder (incrementally unless rebuild)."""
        report = update_index(
            self.config, self.encoder, rebuild=rebuild, progress=progress, wait=wait
        )
        return report

    def add(
        self, paths: Sequence[str | os.PathLike], progress: Progress | None = None
    ) -> tuple[list[Path], IndexReport]:
        """Copy documents into the knowledge folder and update the index."""
        copied = [self.store_document(Path(p)) for p in paths]
        return copied, self.update(progress=progress)

    def store_document(
        self, source: Path, name: str | None = None, max_bytes: int | None = None
    ) -> Path:
        """Check a document and copy it into the knowledge folder under a safe name."""
        if not source.is_file():
            raise UploadError(f"{source}: no such file")
        name = safe_filename(name or source.name)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UploadError(
                f"{name}: unsupported file type '{suffix or '(none)'}'; "
                f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
            )
        size = source.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise UploadError(
                f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit"
            )
        try:
            read_document(source)
        except DocumentError as exc:
            raise UploadError(str(exc).replace(str(source), name)) from None
        knowledge = self.config.knowledge_dir
        knowledge.mkdir(parents=True, exist_ok=True)
        target = (knowledge / name).resolve()
        if target.parent != knowledge.resolve():
            raise UploadError(f"{name}: not a plain file name")
        if target.exists() and target.read_bytes() != source.read_bytes():
            stem, ext = os.path.splitext(name)
            n = 2
            while (knowledge / f"{stem}-{n}{ext}").exists():
                n += 1
            target = knowledge / f"{stem}-{n}{ext}"
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        return target

    def ensure_index(self, progress: Progress | None = None) -> IndexReport | None:
        """Build the index if none exists yet."""
        if self.has_index():
            return None
        return self.update(progress=progress, wait=600)

    def warm_up(self) -> None:
        """Load the encoder and the index now rather than on the first question."""
        index = self.index()
        lexicon()
        self.encoder.query([index.passages[0].title if index.passages else "parkqa"])

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a question from the knowledge base, with citations, or abstain."""
        started = time.perf_counter()
        cfg = self.config
        text, notes = clean_question(question, cfg.answer.max_question_chars)
        history = [
            clean_question(h, cfg.answer.max_question_chars)[0] for h in history if h and h.strip()
        ]
        index = self.index()
        check_encoder(index, cfg.embedding.model)
        asked = analyse(text, history)
        asked, missing, corrected = check_names(asked, index.keywords, index.passage_text)
        if corrected:
            notes.append(_typo_note(asked, corrected))
        k = k or cfg.retrieval.top_k
        embedded = in_knowledge_base_script(asked, index.keywords)[:EMBEDDED_QUESTION_CHARS]
        vector = self.encoder.query([embedded])[0]
        hits = search(index, vector, asked, cfg.retrieval, max(k, 3), filters)
        support = assess_support(asked, hits, index.keywords, tuple(missing))
        model = abstention_model(index.encoder_name, cfg.answer.min_coverage, cfg.answer.min_dense)
        extras = {
            "support": {
                "coverage": round(support.coverage, 3),
                "word_coverage": round(support.word_coverage, 3),
                "dense_margin": round(support.dense_margin, 3),
                "dense": round(support.dense, 3),
                "agree": support.agree,
                "cross_lingual": support.cross_lingual,
                "probability": round(model.probability(support), 6),
            }
        }
        resolved = asked.resolved if asked.resolved != text else None
        if not hits or model.should_abstain(support, cfg.answer.abstain_below):
            return Answer(
                question=text,
                answer=no_answer_message(asked, support.missing_names, bool(filters)),
                abstained=True,
                related=cite(hits[:3], {}),
                missing_terms=support.missing_names,
                question_type=asked.kind,
                resolved_question=resolved,
                notes=tuple(notes),
                seconds=time.perf_counter() - started,
                extras=extras,
            )
        chosen = choose_sentences(asked, hits, index.keywords, cfg.answer.max_sentences)
        citations = cite(hits, chosen, limit=k)
        answer = Answer(
            question=text,
            answer=_compose(asked, support, citations),
            abstained=False,
            citations=citations,
            question_type=asked.kind,
            resolved_question=resolved,
            notes=tuple(notes),
            seconds=time.perf_counter() - started,
            extras=extras,
        )
        if cfg.generation.endpoint:
            from parkqa.generation import generate_answer

            answer = generate_answer(answer, cfg.generation)
        return answer

    def documents(self) -> list[dict[str, Any]]:
        """The indexed documents: path, title, date, tags and passage count."""
        try:
            manifest = self.index().manifest
        except IndexMissingError:
            return []
        return [
            {
                "doc": doc,
                "title": record.get("title", ""),
                "date": record.get("date"),
                "tags": record.get("tags", []),
                "passages": len(record.get("passages", [])),
            }
            for doc, record in sorted(manifest["documents"].items())
        ]

    def stats(self) -> dict[str, Any]:
        """Documents, passages, when the index was built and with which encoder."""
        manifest = self.index().manifest
        return {
            "documents": len(manifest["documents"]),
            "passages": manifest["passages"],
            "built_at": manifest.get("built_at"),
            "encoder": manifest["encoder"]["name"],
            "generation": manifest["generation"],
        }


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns


def _compose(asked: Question, support: Support, citations: tuple[Citation, ...]) -> str:
    """The answer text: the fact asked for first (3亿元。), a note when the question asks
    about a year the documents do not cover, then the answering sentences with their [n]."""
    parts = []
    for citation in citations:
        for start, end in citation.highlights:
            parts.append(f"{citation.text[start:end]} [{citation.n}]")
    if not parts:
        return ""
    first = citations[0]
    sentence = first.text[slice(*first.highlights[0])] if first.highlights else ""
    period = missing_period_note(asked, support, sentence)
    if period:
        return _in_script(asked, period) + " " + " ".join(parts)
    fact = lead_fact(asked, sentence)
    if fact:
        lead = f"{english_fact(fact)}." if asked.language == "en" else f"{fact}。"
        return _in_script(asked, lead) + " " + " ".join(parts)
    return " ".join(parts)


def _in_script(asked: Question, text: str) -> str:
    return to_traditional(text) if asked.script == "traditional" else text


def _typo_note(asked: Question, corrected: dict[str, str]) -> str:
    if asked.language == "en":
        return "; ".join(f'read "{w}" as "{r}"' for w, r in corrected.items())
    note = "；".join(f"“{w}”按知识库中的“{r}”理解" for w, r in corrected.items())
    return _in_script(asked, note)


def no_answer_message(asked: Question, missing: Sequence[str], filtered: bool = False) -> str:
    """The plain "not in the knowledge base" answer in the question's language and script,
    naming the missing name where there is one."""
    chinese = has_cjk(asked.text)
    scope = (
        ("（在所选的筛选范围内）" if chinese else " (within the chosen filters)")
        if filtered
        else ""
    )
    if chinese:
        if missing:
            message = f"知识库中没有找到关于“{missing[0]}”的信息{scope}。"
        else:
            message = f"知识库中的文档没有回答这个问题{scope}。"
        return _in_script(asked, message)
    if missing:
        return f'The knowledge base has no information about "{missing[0]}"{scope}.'
    return f"The documents in the knowledge base do not answer this question{scope}."


def safe_filename(name: str) -> str:
    """A file name with no folders, no hidden prefix and no characters that could escape knowledge/."""
    name = Path(name.replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f<>:\"|?*/]", "_", name).strip(" .")
    if not name or name.startswith("."):
        name = "document" + (name if name.startswith(".") else "")
    return name[:150]
