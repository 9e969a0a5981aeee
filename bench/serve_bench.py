"""Time `parkqa serve`: from start to the first answer, then warm /ask calls through gradio_client.

    python bench/serve_bench.py [--calls 50]

Runs on a copy of knowledge/ in a temporary folder. The first start builds the index; the
second start (index already there) is the one a user normally sees.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = (
    "阿里巴巴在永川投资了多少钱？",
    "百度在永川投资了什么项目？",
    "永川出台了哪些扶持政策？",
    "永川大数据产业园有哪些产业？",
    "阿里为什么选择永川？",
)


def make_knowledge_base(folder: Path) -> Path:
    """A parkqa.yaml in folder over a copy of the repository's knowledge/."""
    shutil.copytree(REPO / "knowledge", folder / "knowledge")
    config = folder / "parkqa.yaml"
    config.write_text("knowledge_dir: knowledge\nindex_dir: index\n", encoding="utf-8")
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(config: Path, port: int) -> list[str]:
    """`parkqa serve` from this venv (a launcher calling parkqa.web.serve until the CLI exists)."""
    script = Path(sys.executable).with_name("parkqa")
    if script.exists() and importlib.util.find_spec("parkqa.cli"):
        return [str(script), "--config", str(config), "serve", "--port", str(port)]
    launcher = (
        "import sys; from parkqa import KnowledgeBase; from parkqa.web import serve; "
        "serve(KnowledgeBase.open(sys.argv[1]), port=int(sys.argv[2]))"
    )
    return [sys.executable, "-c", launcher, str(config), str(port)]


def start_server(config: Path, port: int) -> subprocess.Popen:
    """`parkqa serve` in the background, its output in serve.log next to the config."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    with (config.parent / "serve.log").open("ab") as log:
        return subprocess.Popen(
            serve_command(config, port), cwd=config.parent, env=env, stdout=log, stderr=log
        )


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise SystemExit(f"parkqa serve exited before opening its port\n{tail}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"parkqa serve did not open its port within {timeout:.0f} s"
                ) from None
            time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def time_to_first_answer(config: Path) -> tuple[float, float, subprocess.Popen, str]:
    """Seconds from starting the server to its port answering and to the first /ask answer."""
    from gradio_client import Client

    port = free_port()
    started = time.perf_counter()
    process = start_server(config, port)
    wait_for_port(port, process, config.parent / "serve.log")
    port_open = time.perf_counter() - started
    url = f"http://127.0.0.1:{port}/"
    Client(url, verbose=False).predict(QUESTIONS[0], api_name="/ask")
    return port_open, time.perf_counter() - started, process, url


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="warm /ask calls to time")
    args = parser.parse_args()
    from gradio_client import Client

    with tempfile.TemporaryDirectory() as folder:
        config = make_knowledge_base(Path(folder))
        port_open, first, process, _ = time_to_first_answer(config)
        stop(process)
        print(f"cold start (builds the index): port {port_open:.2f} s, first answer {first:.2f} s")
        port_open, first, process, url = time_to_first_answer(config)
        print(f"start with an index:           port {port_open:.2f} s, first answer {first:.2f} s")
        try:
            results = {
                "gradio_client": time_calls(Client(url, verbose=False).predict, args.calls),
                "plain HTTP": time_calls(http_ask(url), args.calls),
            }
        finally:
            stop(process)
    for via, (round_trips, server_times) in results.items():
        print(f"{args.calls} warm /ask calls via {via}:")
        print(f"  ask in the server (Answer.seconds): {summary(server_times)}")
        print(f"  round trip:                         {summary(round_trips)}")


def http_ask(url: str):
    """/ask through Gradio's two-step HTTP API (POST the call, read its result event)."""
    import httpx

    http = httpx.Client(base_url=f"{url}gradio_api", timeout=30)

    def ask(question: str, api_name: str = "/ask") -> dict:
        event = http.post("/call/ask", json={"data": [question, None, None]}).json()["event_id"]
        body = http.get(f"/call/ask/{event}").text
        return json.loads(body.split("data: ", 1)[1].splitlines()[0])[0]

    return ask


def time_calls(predict, calls: int) -> tuple[list[float], list[float]]:
    round_trips, server_times = [], []
    for i in range(calls):
        started = time.perf_counter()
        result = predict(QUESTIONS[i % len(QUESTIONS)], api_name="/ask")
        round_trips.append(time.perf_counter() - started)
        server_times.append(result["seconds"])
    return round_trips, server_times


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, "
        f"p95 {percentile(values, 0.95) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
