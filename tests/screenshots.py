"""``make screenshots``: every page of the built book at laptop and phone width.

Writes ``_build/screenshots/<page>-desktop.png`` and ``<page>-phone.png`` (1280 and 390
px wide, full page) for review; they are build outputs, never committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import browser_checks as bc
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "screenshots"


def main() -> int:
    if not (HTML / "index.html").is_file():
        print("the book is not built: run `make book` first", file=sys.stderr)
        return 1
    if not bc.CHROMIUM.is_file():
        print(f"no {bc.CHROMIUM}: run `make chromium` first", file=sys.stderr)
        return 1
    with sync_playwright() as playwright:
        shots = bc.screenshot_book(playwright, HTML, OUT)
    print(f"{len(shots)} screenshots in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
