"""Time `parkqa serve`: from start to the first answer, then warm answers through
gradio_client (the Gradio /ask endpoint) and through POST /api/ask.

    python bench/serve_bench.py [--calls 50]

Runs on a copy of knowledge/ in a temporary folder. The first start builds the index; the
second start (index already there) is the one a user normally sees.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from server import (
    QUESTIONS,
    free_port,
    make_knowledge_base,
    percentile,
    start_server,
    stop,
    wait_for_port,
)


def time_to_first_answer(config: Path):
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
                "POST /api/ask": time_calls(json_ask(url), args.calls),
            }
        finally:
            stop(process)
    for via, (round_trips, server_times) in results.items():
        print(f"{args.calls} warm /ask calls via {via}:")
        print(f"  ask in the server (Answer.seconds): {summary(server_times)}")
        print(f"  round trip:                         {summary(round_trips)}")


def json_ask(url: str):
    """/ask through the server's JSON endpoint, POST /api/ask."""
    import httpx

    http = httpx.Client(base_url=url, timeout=30)

    def ask(question: str, api_name: str = "/ask") -> dict:
        return http.post("api/ask", json={"question": question}).json()

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
