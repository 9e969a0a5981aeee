"""The test run itself: with --fail-on-skip, as .ci/run runs it, a skipped test fails the run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SAMPLE = """\
import pytest


def test_runs():
    pass


def test_needs_something():
    pytest.skip("needs something that is not installed")
"""


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest over a sample test file, with this suite's conftest as a plugin."""
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "conftest",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.run(
        [*command, "--rootdir", str(tmp_path), *args, str(tmp_path / "test_sample.py")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_skip_fails_the_run_with_fail_on_skip(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--fail-on-skip")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "needs something that is not installed" in result.stdout
    assert "--fail-on-skip: 1 skipped" in result.stdout


def test_without_skips_or_without_the_option_the_run_passes(tmp_path: Path) -> None:
    passing = run_pytest(tmp_path, "--fail-on-skip", "-k", "test_runs")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    lenient = run_pytest(tmp_path)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "1 skipped" in lenient.stdout


def test_ci_runs_the_suite_failing_on_skips() -> None:
    script = (TESTS.parent / ".ci" / "run").read_text(encoding="utf-8")
    pytest_lines = [line for line in script.splitlines() if re.search(r"-m pytest\b", line)]
    assert pytest_lines and all("-rs" in line and "--fail-on-skip" in line for line in pytest_lines)
