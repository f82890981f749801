"""Screenshot of the chat with a cited answer, for the README.

Starts the UI over the default index (extractive backend, offline) on a free loopback port,
opens it in Debian's Chromium through Playwright, asks a question, clicks citation [1] so its
evidence is highlighted in the sources panel, and saves the page as a PNG.

Example: python scripts/screenshot.py --out docs/chat.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.config import use_offline_environment
from assistant.ports import free_port

use_offline_environment()

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "Which papers propose adaptive methods for testing connected and automated vehicles?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "chat.png", help="PNG to write (default: docs/chat.png)"
    )
    parser.add_argument("--question", default=QUESTION, help="question to ask")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from assistant import Assistant, ui

    assistant = Assistant()
    assistant.settings.llm.backend = "extractive"
    demo = ui.launch(assistant, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(demo.local_url)
            page.fill("#question textarea", args.question)
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat a.cite[href$='-1']")
            page.locator("#chat a.cite[href$='-1']").first.click()
            page.wait_for_selector("#sources-panel .src-card.active mark")
            page.wait_for_timeout(800)  # let the smooth scroll settle
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
