"""Every benchmark script explains itself: `--help` prints its usage and exits 0."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

SCRIPTS = sorted(
    path.name
    for path in (REPO / "bench").glob("*.py")
    if "argparse" in path.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_prints_its_usage(script):
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert "usage:" in result.stdout
