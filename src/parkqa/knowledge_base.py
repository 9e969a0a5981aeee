"""The library's front door: a knowledge base that indexes its documents and answers questions."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from parkqa.answering import (
    Support,
    absent_subject_note,
    abstention_model,
    assess_support,
    check_names,
    choose_sentences,
    english_lead,
    holds_answer_kind,
    lead_of,
    missing_attribute,
    missing_period_note,
    periods_held_nowhere,
    quarters_not_cited,
    unheld_name_phrase,
    unstated_measure,
    unstated_years,
    with_counted,
)
from parkqa.chinese import has_cjk, to_simplified, to_traditional
from parkqa.citations import Answer, Citation, SupportSignals, cite
from parkqa.colloquial import with_written_words
from parkqa.config import Config, load_config
from parkqa.encoders import Encoder, Progress, encoder_fingerprint, make_encoder
from parkqa.errors import (
    ConfigError,
    IndexCorruptError,
    IndexMissingError,
    ParkQAError,
    UploadError,
)
from parkqa.indexing import (
    IndexedDocument,
    IndexReport,
    PendingChanges,
    pending_changes,
    scan_knowledge,
    update_index,
    update_locked_index,
)
from parkqa.keywords import tokenize
from parkqa.lexicon import lexicon
from parkqa.passages import Passage
from parkqa.questions import Question, analyse, clean_question, join_held_characters
from parkqa.retrieval import Filters, Hit, in_knowledge_base_script, search
from parkqa.store import (
    MANIFEST,
    LoadedIndex,
    PageBudget,
    check_encoder,
    index_lock,
    load_index,
    read_manifest,
)
from parkqa.translation import (
    glossary,
    name_in_passages,
    pinyin_reader,
    with_translations,
    word_meanings,
)
from parkqa.uploads import Upload, check_uploads, refuse_all, remove_documents, store_all

if TYPE_CHECKING:
    from parkqa.milvus_backend import MilvusGeneration, MilvusReader

    AnyIndex = LoadedIndex | MilvusGeneration

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Only a question's beginning is embedded (all of it is searched by keyword): a transformer
# takes seconds over 2,000 characters, and what a question asks is in its first lines (no
# question of the benchmarks is longer than 84 characters). Longer questions are answered one
# at a time, so that a burst of them leaves the cores to everyone else's questions.
EMBEDDED_QUESTION_CHARS = 128


class KnowledgeBase:
    """Documents in a knowledge folder, their index, and question answering over them.

    The encoder and the index are loaded on first use; the index is reloaded when a
    newer generation has been committed, so answers switch to it once it is complete. With a
    milvus section in the config, questions are answered from Milvus, one generation each.
    """

    def __init__(self, config: Config, encoder: Encoder | None = None) -> None:
        self.config = config
        self._encoder = encoder
        self._loaded: _Loaded | None = None
        self._milvus: MilvusReader | None = None
        self._lock = threading.RLock()
        self._long_question = threading.Lock()
        self._pages = PageBudget(config.retrieval.mapped_memory_mb)

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

    def index(self) -> AnyIndex:
        """The newest committed index (raises IndexMissingError if none was built): the
        index folder's, or the current generation in Milvus when the config has a milvus
        section.

        A commit replaces manifest.json, so its inode and modification time tell whether the
        loaded index is still the newest without reading the manifest on every question. The
        index and the stamp it was loaded for are read and replaced as one."""
        if self.config.milvus is not None:
            return self._milvus_reader().current()
        manifest = self.config.index_dir / MANIFEST
        loaded = self._loaded
        if loaded is not None and loaded.is_current(_stamp(manifest)):
            return loaded.index
        with self._lock:
            stamp = _stamp(manifest)
            loaded = self._loaded
            if loaded is None or not loaded.is_current(stamp):
                loaded = _Loaded(stamp, load_index(self.config.index_dir))
                self._loaded = loaded
            return loaded.index

    def _milvus_reader(self) -> MilvusReader:
        from parkqa.milvus_backend import MilvusReader

        with self._lock:
            if self._milvus is None:
                self._milvus = MilvusReader(self.config)
            return self._milvus

    def _read(self, reading: Callable[[AnyIndex], T]) -> T:
        """reading(index) on the newest index; with Milvus, again on a newer generation if
        updates deleted what it read meanwhile, so that no answer mixes two generations."""
        if self.config.milvus is None:
            index = self.index()
            try:
                return reading(index)
            finally:
                self._pages.after_question(index)
        return self._milvus_reader().read(reading)

    def has_index(self) -> bool:
        if self.config.milvus is not None:
            return self._milvus_reader().has_index()
        return (self.config.index_dir / MANIFEST).exists()

    def update(
        self,
        rebuild: bool = False,
        progress: Progress | None = None,
        wait: float = 0.0,
        verify: bool = False,
    ) -> IndexReport:
        """Bring the index up to date with the knowledge folder (incrementally unless rebuild;
        with verify, reading every file rather than trusting unchanged sizes and times)."""
        return update_index(
            self.config, self.encoder, rebuild=rebuild, progress=progress, wait=wait, verify=verify
        )

    def add(
        self,
        paths: Sequence[str | os.PathLike],
        progress: Progress | None = None,
        replace: bool = False,
    ) -> tuple[list[Upload], IndexReport]:
        """Copy documents (with their metadata files) into the knowledge folder and update the
        index. A document whose name is taken by a different file is refused unless replace;
        nothing is copied unless every document can be, nor while another update runs."""
        cfg = self.config
        sources = [Path(p) for p in paths]
        uploads, refused = check_uploads(cfg.knowledge_dir, sources, chunking=cfg.chunking)
        refuse_all(refused)
        with index_lock(cfg.index_dir):
            stored = store_all(uploads, replace=replace)
            return stored, update_locked_index(cfg, self.encoder, progress=progress)

    def remove(
        self, names: Sequence[str], progress: Progress | None = None
    ) -> tuple[list[Path], IndexReport]:
        """Delete documents (and their metadata files) from the knowledge folder by name, e.g.
        'notice.md' or 'knowledge/notice.md', and update the index. Nothing is deleted while
        another update runs, nor when no indexed document would be left."""
        cfg = self.config
        with index_lock(cfg.index_dir):
            removed = remove_documents(cfg.knowledge_dir, cfg.root, names, self._indexed_paths())
            try:
                return removed, update_locked_index(cfg, self.encoder, progress=progress)
            except ParkQAError as exc:
                files = ", ".join(cfg.relative(path) for path in removed)
                raise UploadError(
                    f"removed {files}; the index was not updated ({exc}): run parkqa index"
                ) from None

    def _indexed_paths(self) -> list[Path] | None:
        """The files of the indexed documents, or None without a readable index."""
        try:
            manifest = read_manifest(self.config.index_dir)
        except IndexCorruptError:
            return None
        if manifest is None:
            return None
        return [self.config.root / doc for doc in manifest.documents]

    def ensure_index(self, progress: Progress | None = None) -> IndexReport | None:
        """Build the index if none exists yet (with Milvus, only on a machine that holds the
        knowledge folder; elsewhere IndexMissingError says where to build it)."""
        if self.has_index():
            return None
        if self.config.milvus is not None and not self.config.knowledge_dir.is_dir():
            self.index()  # raises IndexMissingError, naming the collection
        return self.update(progress=progress, wait=600)

    def warm_up(self) -> None:
        """Load the encoder, the index and the dictionaries now rather than on the first
        question."""
        index = self.index()
        lexicon()
        glossary()  # English questions are read through it
        pinyin_reader()  # names one slip away from the documents' are read through it
        title = index.passages[0].title if index.passages else "parkqa"
        self.encoder.query([title])
        calibrate = getattr(self.encoder, "calibrate_threads", None)
        if calibrate:  # whether a short question is embedded faster on every core here
            calibrate(title)
        word_meanings()  # English words no passage holds in any translation are read through it
        self.ask(title)  # each step loads what it needs on its first question (OpenCC's tables)

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a question from the knowledge base, with citations, or abstain (questions
        longer than EMBEDDED_QUESTION_CHARS one at a time)."""

        def answering(index: AnyIndex) -> Answer:
            return self._answer(index, question, history, k, filters)

        if len(question) <= EMBEDDED_QUESTION_CHARS:
            return self._read(answering)
        with self._long_question:
            return self._read(answering)

    def _answer(
        self,
        index: AnyIndex,
        question: str,
        history: Sequence[str],
        k: int | None,
        filters: Filters | None,
    ) -> Answer:
        started = time.perf_counter()
        cfg = self.config
        text, notes = clean_question(question, cfg.answer.max_question_chars)
        history = [
            clean_question(h, cfg.answer.max_question_chars)[0] for h in history if h and h.strip()
        ]
        check_encoder(index, cfg.embedding.model, encoder_fingerprint(self.encoder))
        if cfg.milvus is not None:  # one query for what answering asks of each token
            index.keywords.prefetch(_question_tokens([text, *history]))
        if filters and filters.tags:
            filters.check_tags(index.tags())
        asked = analyse(text, history)
        asked = join_held_characters(
            asked, lambda term: name_in_passages(term, index.keywords, index.passage_text)
        )
        asked, missing, corrected = check_names(asked, index.keywords, index.passage_text)
        if corrected:
            notes.append(_typo_note(asked, corrected))
        asked = with_translations(asked, index.keywords, index.passage_text)
        asked = with_written_words(asked, index.keywords, index.passage_text)
        asked = with_counted(asked, index.keywords, index.passage_text)
        k = k or cfg.retrieval.top_k
        embedded = in_knowledge_base_script(asked, index.keywords)[:EMBEDDED_QUESTION_CHARS]
        vector = self.encoder.query([embedded])[0]
        hits = search(
            index, vector, asked, cfg.retrieval, max(k, 3), filters, None, holds_answer_kind(asked)
        )
        unheld = missing_attribute(asked, index.keywords, index.passage_text) or unstated_measure(
            asked, hits, index.keywords
        )
        phrase = unheld_name_phrase(asked, index.keywords, index.passage_text)
        periods = periods_held_nowhere(asked, index.keywords, index.passage_text)
        support = assess_support(
            asked, hits, index.keywords, tuple(missing), unheld, phrase, periods
        )
        model = abstention_model(index.encoder_name, cfg.answer.min_coverage, cfg.answer.min_dense)
        signals = SupportSignals(
            coverage=support.coverage,
            word_coverage=support.word_coverage,
            dense=support.dense,
            dense_margin=support.dense_margin,
            agree=support.agree,
            cross_lingual=support.cross_lingual,
            probability=model.probability(support),
            verbatim=support.verbatim,
            same_document=support.same_document,
            missing_names=support.missing_names,
            missing_attribute=support.missing_attribute,
            unheld_phrase=support.unheld_phrase,
        )
        resolved = asked.resolved if asked.resolved != text else None
        if not hits or model.should_abstain(support, cfg.answer.abstain_below):
            return Answer(
                question=text,
                answer=no_answer_message(asked, support.missing_terms, bool(filters)),
                abstained=True,
                related=cite(hits[:3], {}),
                missing_terms=support.missing_terms,
                question_type=asked.kind,
                resolved_question=resolved,
                notes=tuple(notes),
                seconds=time.perf_counter() - started,
                support=signals,
            )
        chosen = choose_sentences(asked, hits, index.keywords, cfg.answer.max_sentences)
        citations = cite(hits, chosen, limit=k)
        passage, best = _best_sentence(hits, chosen)
        unstated = unstated_years(asked, support, best)
        if not unstated and passage is not None:
            unstated = quarters_not_cited(asked, f"{passage.title}\n{passage.section}\n{best}")
        answer = Answer(
            question=text,
            answer=_compose(asked, support, citations, best, unstated),
            abstained=False,
            citations=citations,
            missing_terms=unstated,
            question_type=asked.kind,
            resolved_question=resolved,
            notes=tuple(notes),
            seconds=time.perf_counter() - started,
            support=signals,
        )
        if cfg.generation.endpoint:
            from parkqa.generation import generate_answer

            answer = generate_answer(answer, cfg.generation)
        return answer

    def documents(self) -> list[IndexedDocument]:
        """The indexed documents: path, title, date, tags and passage count."""
        try:
            manifest = self.index().manifest
        except IndexMissingError:
            return []
        return [
            IndexedDocument(doc, record.title, record.date, record.tags, record.passages)
            for doc, record in sorted(manifest.documents.items())
        ]

    def skipped(self) -> dict[str, str]:
        """The knowledge files the index left out or kept an older version of, and why."""
        try:
            manifest = self.index().manifest
        except IndexMissingError:
            return {}
        return {doc: skipped.reason for doc, skipped in sorted(manifest.skipped.items())}

    def pending_changes(self) -> PendingChanges:
        """Documents added, changed or deleted in the knowledge folder since the index was
        built, told by file names, sizes and modification times (unchanged files are not read).
        None are told of a damaged index: it has to be rebuilt whatever changed. With Milvus,
        a machine without an index folder compares its knowledge folder, if it has one, with
        the manifest Milvus holds."""
        try:
            manifest = read_manifest(self.config.index_dir)
            if manifest is None and self.config.milvus is not None:
                if not self.config.knowledge_dir.is_dir():
                    return PendingChanges()  # a machine that only answers
                manifest = self.index().manifest if self.has_index() else None
        except IndexCorruptError:
            return PendingChanges()
        files = scan_knowledge(self.config, []) if self.config.knowledge_dir.is_dir() else []
        return pending_changes(files, manifest)

    def stats(self) -> dict[str, Any]:
        """Documents, passages, when the index was built and with which encoder."""
        manifest = self.index().manifest
        return {
            "documents": len(manifest.documents),
            "passages": manifest.passages,
            "built_at": manifest.built_at,
            "encoder": manifest.settings.encoder,
            "generation": manifest.generation,
        }

    def topics(self, limit: int = 4) -> list[str]:
        """What the knowledge base is about, as questions that stand on their own: the
        section headings of the indexed documents (a document's title where it has none),
        one document after another."""
        try:
            passages = self.index().passages
        except IndexMissingError:
            return []
        return topics(passages, limit)


@dataclass(frozen=True)
class _Loaded:
    """A loaded index with the stamp of the manifest.json it was loaded from."""

    stamp: tuple[int, int] | None
    index: LoadedIndex

    def is_current(self, stamp: tuple[int, int] | None) -> bool:
        return stamp is not None and stamp == self.stamp


def _stamp(path: Path) -> tuple[int, int] | None:
    """The inode and modification time of the manifest at path (None when there is none)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(
            f"cannot read the index in {path.parent} ({error.strerror}); "
            "set index_dir to a folder parkqa can read"
        ) from None
    return status.st_ino, status.st_mtime_ns


def _question_tokens(texts: Sequence[str]) -> list[str]:
    """The keyword tokens of questions in both scripts."""
    tokens: list[str] = []
    for text in texts:
        simplified = to_simplified(text)
        tokens += tokenize(simplified) + tokenize(to_traditional(simplified))
    return list(dict.fromkeys(tokens))


def _best_sentence(hits: Sequence[Hit], chosen: dict[int, list[int]]) -> tuple[Passage | None, str]:
    """The sentence the answer rests on most (choose_sentences lists it first), with its
    passage; the answer shows its sentences in their passages' order, so this is not always
    the first shown."""
    first = next((i for i, sentences in chosen.items() if sentences), None)
    if first is None:
        return None, ""
    passage = hits[first].passage
    return passage, passage.sentence_text(passage.sentences[chosen[first][0]])


def _compose(
    asked: Question,
    support: Support,
    citations: tuple[Citation, ...],
    sentence: str,
    unstated: tuple[str, ...],
) -> str:
    """The answer text: the fact asked for first (5千万元。), taken from the best sentence
    when it states one, or a note when the question asks about years the answer cannot be
    about (unstated) or about someone the cited passage never names, then the answering
    sentences with their [n]."""
    highlighted = [(c.text[start:end], c.n) for c in citations for start, end in c.highlights]
    if not highlighted:
        return ""
    parts = _numbered(highlighted)
    period = missing_period_note(asked, unstated, sentence)
    if period:
        return _in_script(asked, period) + " " + parts
    first = citations[0]
    subject = absent_subject_note(asked, f"{first.title}\n{first.text}", support.missing_names)
    if subject:
        return subject + " " + parts
    fact = lead_of(asked, [sentence, *(text for text, _ in highlighted if text != sentence)])
    if fact:
        if fact not in sentence:  # a later sentence's (多少家企业: 330家, not 24条): it follows
            highlighted.sort(key=lambda item: fact not in item[0])
            parts = _numbered(highlighted)
        lead = f"{english_lead(asked, fact)}." if asked.language == "en" else f"{fact}。"
        return _in_script(asked, lead) + " " + parts
    return parts


def _numbered(highlighted: list[tuple[str, int]]) -> str:
    return " ".join(f"{text} [{n}]" for text, n in highlighted)


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


def topics(passages: Iterable[Passage], limit: int) -> list[str]:
    """Up to limit headings, taken from each document in turn: its sections' headings in
    order, or its title when it has no sections. A document's passages come together, so
    reading stops once the documents read so far give limit first headings (a large
    knowledge base is not read to its end)."""
    headings: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    firsts: set[str] = set()
    for passage in passages:
        if passage.doc not in titles and titles:
            last = next(reversed(titles))
            firsts.add((headings[last] or [titles[last]])[0])
            if len(firsts - {""}) >= limit:
                break
        titles.setdefault(passage.doc, passage.title)
        sections = headings.setdefault(passage.doc, [])
        if passage.section and passage.section not in sections:
            sections.append(passage.section)
    queues = [headings[doc] or [titles[doc]] for doc in headings]
    chosen: list[str] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if rank < len(queue) and queue[rank] and queue[rank] not in chosen:
                chosen.append(queue[rank])
    return chosen[:limit]
