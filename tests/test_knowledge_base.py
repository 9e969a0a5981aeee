"""The knowledge base's loaded index, read by many threads while new generations are committed."""

from __future__ import annotations

import sys
import threading
from itertools import count
from types import FrameType

import pytest

from parkqa import KnowledgeBase
from parkqa.errors import ConfigError
from parkqa.store import load_index


def index_paused_at(kb: KnowledgeBase, line: int, meanwhile) -> tuple[object, bool]:
    """Call kb.index() in a thread that stops before the line-th line it runs of
    KnowledgeBase.index, run meanwhile() while it waits, then let it finish. Returns what it
    returned and whether it reached that line."""
    code = KnowledgeBase.index.__code__
    reached, resume = threading.Event(), threading.Event()
    result: dict[str, object] = {}

    def tracer(frame: FrameType, event: str, _arg):
        if event != "call" or frame.f_code is not code:
            return None
        lines = count(1)

        def each_line(frame: FrameType, event: str, _arg):
            if event == "line" and next(lines) == line:
                reached.set()
                resume.wait(30)
            return each_line

        return each_line

    def reader() -> None:
        sys.settrace(tracer)
        try:
            result["index"] = kb.index()
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=reader)
    thread.start()
    while not reached.wait(0.01) and thread.is_alive():
        pass
    if reached.is_set():
        meanwhile()
    resume.set()
    thread.join(30)
    return result["index"], reached.is_set()


def test_index_is_never_older_than_the_manifest_committed_before_the_call(park_kb, tmp_path):
    """Whichever line of kb.index() a thread is at when another thread loads a newly committed
    generation, it returns that generation or a newer one: the loaded index and the stamp of
    the manifest it was loaded from are never mixed up."""
    kb = park_kb
    knowledge = kb.config.knowledge_dir

    def load_in_another_thread() -> None:
        other = threading.Thread(target=kb.index)
        other.start()
        other.join(0.5)  # it waits for the lock if the paused thread holds it

    for line in count(1):
        kb.index()
        (knowledge / f"notice-{line}.md").write_text(
            f"# 通知{line}\n园区第{line}号通知：本周五下午停电检修。\n", encoding="utf-8"
        )
        kb.update()
        committed = load_index(kb.config.index_dir).generation
        index, paused = index_paused_at(kb, line, load_in_another_thread)
        assert index.generation >= committed, f"stale index when paused before line {line}"
        if not paused:
            break
    assert line > 3


def test_an_index_dir_replaced_by_a_file_is_named(make_kb):
    kb = make_kb()
    kb.config.index_dir.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ConfigError, match="set index_dir to a folder"):
        kb.index()
