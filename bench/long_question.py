"""Time the answer to the longest question parkqa accepts: 2,000 random rare characters.

    python bench/long_question.py [--config parkqa.yaml] [--runs 5]

Prints each run and the median, after the encoder and the index are loaded.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from parkqa import KnowledgeBase


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", default=str(Path(__file__).resolve().parents[1] / "parkqa.yaml")
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chars", type=int, default=2000)
    args = parser.parse_args()

    kb = KnowledgeBase.open(args.config)
    kb.ensure_index()
    kb.warm_up()
    rng = random.Random(1)
    times = []
    for _ in range(args.runs):
        question = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(args.chars))
        started = time.perf_counter()
        kb.ask(question)
        times.append(time.perf_counter() - started)
    print(
        f"{args.chars}-character question: median {statistics.median(times):.2f} s over "
        f"{args.runs} runs ({', '.join(f'{t:.2f}' for t in times)})"
    )


if __name__ == "__main__":
    main()
