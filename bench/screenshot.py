"""Take the README's screenshots of the chat page after real answers, a source expanded:
docs/screenshot-desktop.png (1280 px wide) and docs/screenshot-phone.png (390 px).

    python bench/screenshot.py [--out docs]

The page is served over a copy of the repository's knowledge/ with its parkqa.yaml. Needs
/usr/bin/chromium and CJK fonts (apt-get install chromium fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import shutil
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

# name: viewport, questions asked in one conversation
SHOTS = {
    "desktop": ({"width": 1280, "height": 1000}, ("阿里巴巴在永川投资了多少钱？", "那百度呢？")),
    "phone": ({"width": 390, "height": 844}, ("阿里巴巴在永川投资了多少钱？",)),
}


def take(page, url: str, questions: tuple[str, ...], out: Path) -> None:
    """Ask the questions on a fresh page, open the last answer's first source, screenshot."""
    from playwright.sync_api import expect

    page.goto(url)
    question = page.get_by_placeholder("输入问题，按回车发送")
    answers = page.locator(".pq-answer")
    for n, text in enumerate(questions, start=1):
        question.fill(text)
        question.press("Enter")
        expect(answers).to_have_count(n, timeout=30_000)
    answers.last.locator("details summary").first.click()
    page.wait_for_timeout(500)
    # The chat scrolls itself to its end; show the last question and its answer instead.
    answers.last.evaluate("answer => answer.scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        config = make_knowledge_base(Path(folder))
        shutil.copy(REPO / "parkqa.yaml", config)
        port = free_port()
        process = start_server(config, port)
        try:
            wait_for_port(port, process, config.parent / "serve.log")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                for name, (viewport, questions) in SHOTS.items():
                    page = browser.new_page(viewport=viewport, locale="en-US")
                    out = args.out / f"screenshot-{name}.png"
                    take(page, f"http://127.0.0.1:{port}/", questions, out)
                    page.close()
                    print(f"wrote {out}")
                browser.close()
        finally:
            stop(process)


if __name__ == "__main__":
    main()
