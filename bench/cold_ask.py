"""Time a cold `parkqa ask` with an existing index: a new process each run, median of N.

    python bench/cold_ask.py [--config parkqa.yaml] [--runs 5] [QUESTION]

Also checks that neither torch nor gradio is imported on this path.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROBE = (
    "import sys; from parkqa.cli import main; code = main(sys.argv[1:]); "
    "heavy = sorted(m for m in ('torch', 'gradio', 'sentence_transformers') if m in sys.modules); "
    "print('heavy imports:', heavy or 'none', file=sys.stderr); sys.exit(code)"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("question", nargs="?", default="阿里巴巴在永川投资了多少钱？")
    parser.add_argument(
        "--config", default=str(Path(__file__).resolve().parents[1] / "parkqa.yaml")
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    command = [sys.executable, "-m", "parkqa", "--config", args.config, "ask", args.question]
    subprocess.run(command, check=True, capture_output=True)  # builds the index if needed
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", args.config, "ask", args.question],
        check=True,
        capture_output=True,
        text=True,
    )
    print(
        f"cold parkqa ask: median {statistics.median(times):.2f} s over {args.runs} runs "
        f"({', '.join(f'{t:.2f}' for t in times)})"
    )
    print(probe.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
