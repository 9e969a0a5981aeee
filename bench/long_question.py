"""Time the answer to the longest question parkqa accepts: 2,000 random rare characters; with
--clients N, N such questions at once against `parkqa serve` while ordinary ones are timed.

    python bench/long_question.py [--config parkqa.yaml] [--runs 5]
    python bench/long_question.py --clients 16 [--runs 5]

The first prints each run and the median, after the encoder and the index are loaded. The
second starts `parkqa serve` on a copy of knowledge/, sends N long questions at once through
POST /api/ask, and prints the round trip of ordinary questions asked meanwhile against the
same questions asked alone, and how long the burst took.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from server import QUESTIONS, free_port, make_knowledge_base, start_server, stop, wait_for_port

from parkqa import KnowledgeBase


def rare_question(rng: random.Random, chars: int) -> str:
    """Random characters of the CJK Unified Ideographs block: words no dictionary knows."""
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(chars))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", default=str(Path(__file__).resolve().parents[1] / "parkqa.yaml")
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument(
        "--clients", type=int, default=0, help="long questions at once against parkqa serve"
    )
    args = parser.parse_args()
    if args.clients:
        burst(args.clients, args.chars, args.runs)
    else:
        alone(args.config, args.chars, args.runs)


def alone(config: str, chars: int, runs: int) -> None:
    kb = KnowledgeBase.open(config)
    kb.ensure_index()
    kb.warm_up()
    rng = random.Random(1)
    times = []
    for _ in range(runs):
        question = rare_question(rng, chars)
        started = time.perf_counter()
        kb.ask(question)
        times.append(time.perf_counter() - started)
    print(
        f"{chars}-character question: median {statistics.median(times):.2f} s over "
        f"{runs} runs ({', '.join(f'{t:.2f}' for t in times)})"
    )


def burst(clients: int, chars: int, runs: int) -> None:
    import httpx

    def ask(question: str) -> float:
        started = time.perf_counter()
        response = httpx.post(url, json={"question": question}, timeout=600)
        response.raise_for_status()
        return time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        config = make_knowledge_base(Path(folder))
        port = free_port()
        process = start_server(config, port)
        try:
            wait_for_port(port, process, config.parent / "serve.log", timeout=600)
            url = f"http://127.0.0.1:{port}/api/ask"
            ask(QUESTIONS[0])
            by_itself = [ask(QUESTIONS[i % len(QUESTIONS)]) for i in range(runs)]
            rng = random.Random(1)
            long_questions = [rare_question(rng, chars) for _ in range(clients)]
            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                futures = [pool.submit(ask, q) for q in long_questions]
                time.sleep(0.5)
                meanwhile = [ask(QUESTIONS[i % len(QUESTIONS)]) for i in range(runs)]
                long_times = [f.result() for f in futures]
            took = time.perf_counter() - started
        finally:
            stop(process)
    print(f"{clients} {chars}-character questions at once: all answered in {took:.1f} s")
    print(f"  each: median {statistics.median(long_times):.2f} s, max {max(long_times):.2f} s")
    print(f"  an ordinary question alone:           {summary(by_itself)}")
    print(f"  an ordinary question during the burst: {summary(meanwhile)}")


def summary(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"


if __name__ == "__main__":
    main()
