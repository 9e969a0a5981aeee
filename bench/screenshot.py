"""Take docs/screenshot.png: the chat page after a real answer, with its source expanded.

    python bench/screenshot.py [--out docs/screenshot.png]

Needs /usr/bin/chromium and CJK fonts (apt-get install chromium fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from server import (
    CHROMIUM_ARGS,
    REPO,
    free_port,
    make_knowledge_base,
    start_server,
    stop,
    wait_for_port,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        config = make_knowledge_base(Path(folder))
        port = free_port()
        process = start_server(config, port)
        try:
            wait_for_port(port, process, config.parent / "serve.log")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1200, "height": 1250})
                page.goto(f"http://127.0.0.1:{port}/")
                question = page.get_by_placeholder("输入问题，按回车发送")
                answers = page.locator(".pq-answer")
                for n, text in enumerate(("阿里巴巴在永川投资了多少钱？", "那百度呢？"), start=1):
                    question.fill(text)
                    question.press("Enter")
                    expect(answers).to_have_count(n, timeout=30_000)
                page.locator(".pq-answer").last.locator("details summary").first.click()
                page.wait_for_timeout(500)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            stop(process)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
