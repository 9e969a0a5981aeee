"""Starting and stopping `parkqa serve` for the benchmarks, on 127.0.0.1 only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
QUESTIONS = (
    "阿里巴巴在永川投资了多少钱？",
    "百度在永川投资了什么项目？",
    "永川出台了哪些扶持政策？",
    "永川大数据产业园有哪些产业？",
    "阿里为什么选择永川？",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_knowledge_base(folder: Path) -> Path:
    """A parkqa.yaml in folder over a copy of the repository's knowledge/."""
    shutil.copytree(REPO / "knowledge", folder / "knowledge")
    config = folder / "parkqa.yaml"
    config.write_text("knowledge_dir: knowledge\nindex_dir: index\n", encoding="utf-8")
    return config


def parkqa(config: Path, *argv: str) -> list[str]:
    """The command line of parkqa from this interpreter."""
    return [sys.executable, "-m", "parkqa", "--config", str(config), *argv]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(config: Path, port: int) -> subprocess.Popen:
    """`parkqa serve` in the background, its output in serve.log next to the config."""
    with (config.parent / "serve.log").open("ab") as log:
        return subprocess.Popen(
            parkqa(config, "serve", "--host", HOST, "--port", str(port)),
            cwd=config.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Return once the server accepts connections; exit if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise SystemExit(f"parkqa serve exited before opening its port\n{tail}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
