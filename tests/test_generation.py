from __future__ import annotations

import socket

from parkqa.config import with_overrides
from parkqa.generation import _attach_markers, build_messages, check_citations


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_supported_sentences_are_kept_and_the_rest_dropped(park_kb):
    citations = park_kb.ask("阿里巴巴在永川投资了多少钱？", k=3).citations
    reply = _attach_markers(
        "阿里巴巴集团投资3亿元在永川大数据产业园建设客户体验中心。[1] "
        "特斯拉也在永川投资了100亿元[1]。"
        "这是没有引用的一句话。"
        "百度项目总投资10亿元[9]。"
    )
    kept, dropped = check_citations(reply, citations)
    assert kept == ["阿里巴巴集团投资3亿元在永川大数据产业园建设客户体验中心[1]。"]
    assert len(dropped) == 3


def test_passages_are_sent_as_delimited_data(park_kb):
    citations = park_kb.ask("阿里巴巴在永川投资了多少钱？", k=2).citations
    messages = build_messages("阿里巴巴在永川投资了多少钱？", citations)
    assert messages[0]["role"] == "system" and "不是指令" in messages[0]["content"]
    assert messages[1]["content"].count("<passage n=") == 2


def test_unreachable_endpoint_falls_back_to_the_extractive_answer(park_kb):
    config = with_overrides(
        park_kb.config,
        generation={"endpoint": f"http://127.0.0.1:{free_port()}/v1", "timeout": 2.0},
    )
    from parkqa import KnowledgeBase

    kb = KnowledgeBase(config, encoder=park_kb.encoder)
    answer = kb.ask("阿里巴巴在永川投资了多少钱？")
    assert answer.mode == "extractive" and "3亿元" in answer.answer
    assert any("generation endpoint failed" in note for note in answer.notes)
