"""Index the CMRC 2018 trial set: full build, then an incremental run after one document changed.

python bench/index_bench.py [--data PATH] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import DEFAULT_SET, write_knowledge_base
from parkqa import KnowledgeBase, load_config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_SET,
        help="SQuAD-format JSON (default: CMRC 2018 trial)",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are reported")
    parser.add_argument("--model", help="embedding model (default: the configured default)")
    args = parser.parse_args()

    full, incremental = [], []
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_knowledge_base(args.data, Path(tmp), model=args.model)
        kb = KnowledgeBase(load_config(config_path))
        started = time.perf_counter()
        kb.encoder.encode(["warm-up"])
        print(f"encoder              {kb.encoder.name}")
        load_seconds = time.perf_counter() - started
        for run in range(args.runs):
            report = kb.update(rebuild=True)
            full.append(report.seconds)
            doc = sorted((Path(tmp) / "knowledge").glob("*.md"))[run]
            doc.write_text(
                doc.read_text(encoding="utf-8") + f"\n新增的一句话，第{run}次修改。\n",
                encoding="utf-8",
            )
            changed = kb.update()
            incremental.append(changed.seconds)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    full_s, inc_s = statistics.median(full), statistics.median(incremental)
    print(f"documents            {len(report.added)}")
    print(f"passages             {report.passages}")
    print(f"encoder load         {load_seconds:.2f} s (once per process, not in the figures below)")
    print(
        f"full build           {full_s:.2f} s (median of {args.runs}: {', '.join(f'{s:.2f}' for s in full)})"
    )
    print(
        f"incremental, 1 doc   {inc_s:.2f} s (median; {changed.embedded} sentences embedded) = {inc_s / full_s:.1%} of full"
    )
    print(f"peak memory          {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
