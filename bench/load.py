"""Load on `parkqa serve`: N concurrent clients ask through the /ask API for a fixed time, while
the index is updated midway by `parkqa index` in another process.

    python bench/load.py [--clients 16] [--seconds 60] [--update-at 0.5]

Runs on a copy of knowledge/ in a temporary folder, on 127.0.0.1 only. Each client is a thread
with its own HTTP connection, calling POST /api/ask (or, with --via gradio, Gradio's queued
/ask endpoint and its event stream). Reports throughput, p50/p95/p99 latency and errors, and checks every answer:
each citation must be a passage of a complete index generation (same text, document and line
span), its lines must exist in the document, and answers to the same question must be the same
before the switch and again after it. Exits 1 when a floor is missed: 0 errors, no answer from a
half-built index, p95 under 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import server
from server import (
    HOST,
    free_port,
    make_knowledge_base,
    parkqa,
    percentile,
    start_server,
    wait_for_port,
)

NEW_QUESTION = "华为在永川投资了多少钱？"
QUESTIONS = (*server.QUESTIONS, NEW_QUESTION)
NEW_DOCUMENT = (
    "华为鲲鹏计算中心落户永川\n\n"
    "2021年5月，华为公司与永川区签约，投资88亿元在永川大数据产业园建设鲲鹏计算中心。\n"
    "该中心预计2023年建成，可提供两千个就业岗位。\n"
)
NEW_FACT = "投资88亿元"
P95_FLOOR_MS = 500.0


@dataclass
class Call:
    question: str
    started: float
    seconds: float
    answer: dict | None = None
    error: str | None = None


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


def ask(client, base: str, question: str, via: str = "json") -> dict:
    """One question through the server's API: POST /api/ask (default), or Gradio's queued
    /ask endpoint and its event stream (--via gradio)."""
    if via == "json":
        response = client.post(f"{base}/api/ask", json={"question": question})
        response.raise_for_status()
        return response.json()
    response = client.post(f"{base}/gradio_api/call/ask", json={"data": [question, None, None]})
    response.raise_for_status()
    event_id = response.json()["event_id"]
    event = None
    with client.stream("GET", f"{base}/gradio_api/call/ask/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise RuntimeError(f"server error: {data}")
                return data[0]
    raise RuntimeError(f"event stream ended without an answer (last event: {event})")


def client_loop(number: int, base: str, deadline: float, run: Run, via: str) -> None:
    import httpx

    with httpx.Client(timeout=30) as client:
        n = number
        while time.monotonic() < deadline:
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            started = time.monotonic()
            try:
                answer = ask(client, base, question, via)
                run.add(Call(question, started, time.monotonic() - started, answer=answer))
            except Exception as exc:  # counted and reported as an error
                run.add(Call(question, started, time.monotonic() - started, error=repr(exc)[:200]))


def passages_by_generation(index: Path) -> dict[int, dict[str, dict]]:
    """The passages of every complete generation still on disk, by passage id."""
    from parkqa.store import load_index

    loaded = load_index(index)
    return {loaded.generation: {p.id: p for p in loaded.passages}}


def check_answers(run: Run, generations: dict[int, dict], knowledge: Path, switch: float) -> dict:
    """Citations that match no complete generation, and answers that changed within a phase."""
    lines = {
        f"knowledge/{p.name}": len(p.read_text(encoding="utf-8").splitlines())
        for p in knowledge.iterdir()
        if p.suffix == ".txt"
    }
    known = {pid: p for passages in generations.values() for pid, p in passages.items()}
    broken, phases = [], {"before": {}, "after": {}}
    for call in run.calls:
        if call.answer is None:
            continue
        for citation in call.answer["citations"] + call.answer["related"]:
            passage = known.get(citation["passage_id"])
            first, last = citation["lines"]
            if (
                passage is None
                or passage.text != citation["text"]
                or passage.doc != citation["doc"]
                or (passage.line_start, passage.line_end) != (first, last)
                or not 1 <= first <= last <= lines.get(citation["doc"], 0)
            ):
                broken.append((call.question, citation["doc"], citation["lines"]))
        if abs(call.started - switch) < 1.0 or abs(call.started + call.seconds - switch) < 1.0:
            continue  # in flight while the manifest was replaced: either generation is right
        phase = "before" if call.started + call.seconds < switch else "after"
        phases[phase].setdefault(call.question, set()).add(call.answer["answer"])
    inconsistent = {
        phase: [q for q, answers in by_question.items() if len(answers) > 1]
        for phase, by_question in phases.items()
    }
    unrelated_changed = [
        q
        for q in QUESTIONS
        if q != NEW_QUESTION
        and phases["before"].get(q)
        and phases["before"].get(q) != phases["after"].get(q)
    ]
    new_before = phases["before"].get(NEW_QUESTION, set())
    new_after = phases["after"].get(NEW_QUESTION, set())
    return {
        "broken_citations": broken[:10],
        "broken_count": len(broken),
        "inconsistent": inconsistent,
        "unrelated_changed_after_update": unrelated_changed,
        "new_fact_before_update": any(NEW_FACT in a for a in new_before),
        "new_fact_after_update": bool(new_after) and all(NEW_FACT in a for a in new_after),
    }


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, where /proc tells it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument(
        "--seconds", type=float, default=60, help="how long to send questions (default 60)"
    )
    parser.add_argument(
        "--update-at",
        type=float,
        default=0.5,
        help="when to update the index, as a share of the run",
    )
    parser.add_argument(
        "--via",
        choices=("json", "gradio"),
        default="json",
        help="POST /api/ask (default) or Gradio's queued /ask endpoint",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="parkqa-load-"))
    try:
        config = make_knowledge_base(folder)
        subprocess.run(parkqa(config, "index"), check=True, capture_output=True)
        generations = passages_by_generation(folder / "index")
        port = free_port()
        server = start_server(config, port)
        wait_for_port(port, server, folder / "serve.log")
        base = f"http://{HOST}:{port}"
        try:
            run = Run()
            started = time.monotonic()
            deadline = started + args.seconds
            clients = [
                threading.Thread(
                    target=client_loop, args=(i, base, deadline, run, args.via), daemon=True
                )
                for i in range(args.clients)
            ]
            for client in clients:
                client.start()
            time.sleep(args.seconds * args.update_at)
            (folder / "knowledge" / "huawei-kunpeng.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
            update_started = time.monotonic()
            update = subprocess.run(parkqa(config, "index"), capture_output=True, text=True)
            switch = time.monotonic()
            generations.update(passages_by_generation(folder / "index"))
            for client in clients:
                client.join(timeout=args.seconds + 60)
            elapsed = time.monotonic() - started
            server_cpu = cpu_seconds(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        checks = check_answers(run, generations, folder / "knowledge", switch)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    answered = [c for c in run.calls if c.answer is not None]
    errors = [c for c in run.calls if c.error is not None]
    latencies = [c.seconds * 1000 for c in answered] or [0.0]
    figures = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(run.calls),
        "answers": len(answered),
        "errors": len(errors),
        "error_examples": sorted({c.error for c in errors})[:3],
        "throughput_per_s": round(len(answered) / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "mean": round(statistics.fmean(latencies), 1),
            "max": round(max(latencies), 1),
        },
        "index_update": {
            "rc": update.returncode,
            "seconds": round(switch - update_started, 1),
            "at_s": round(update_started - started, 1),
            "generations": sorted(generations),
            "summary": update.stderr.strip().splitlines()[-1:] if update.stderr else [],
        },
        "cpus": os.cpu_count(),
        "server_cpu_ms_per_answer": round(server_cpu * 1000 / len(answered), 1)
        if server_cpu and answered
        else None,
        "client_cpu_ms_per_answer": round(
            (
                resource.getrusage(resource.RUSAGE_SELF).ru_utime
                + resource.getrusage(resource.RUSAGE_SELF).ru_stime
            )
            * 1000
            / max(1, len(answered)),
            1,
        ),
        "answers_before_update": sum(1 for c in answered if c.started + c.seconds < switch),
        "answers_after_update": sum(1 for c in answered if c.started > switch),
        **checks,
    }
    floors = {
        "no errors": not errors and update.returncode == 0,
        "no answer from a half-built index": checks["broken_count"] == 0,
        "consistent answers before and after the switch": not any(checks["inconsistent"].values())
        and not checks["unrelated_changed_after_update"],
        "the new document is answered after the switch": checks["new_fact_after_update"],
        f"p95 under {P95_FLOOR_MS:.0f} ms": figures["latency_ms"]["p95"] < P95_FLOOR_MS,
    }
    figures["floors"] = floors
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=1))
    else:
        lat = figures["latency_ms"]
        print(
            f"{args.clients} clients, {figures['seconds']} s: {figures['answers']} answers, "
            f"{figures['errors']} errors, {figures['throughput_per_s']} answers/s"
        )
        print(f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}")
        up = figures["index_update"]
        print(
            f"index update at {up['at_s']} s took {up['seconds']} s (rc {up['rc']}), generations "
            f"{up['generations']}; answers before {figures['answers_before_update']}, "
            f"after {figures['answers_after_update']}"
        )
        print(
            f"CPU per answer: server {figures['server_cpu_ms_per_answer']} ms, this client "
            f"{figures['client_cpu_ms_per_answer']} ms ({figures['cpus']} CPUs)"
        )
        print(f"broken citations: {checks['broken_count']}; inconsistent: {checks['inconsistent']}")
        for name, ok in floors.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        for example in figures["error_examples"]:
            print(f"  error: {example}")
    return 0 if all(floors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
