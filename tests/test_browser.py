"""The built book in a real browser: headless Chromium (Debian's package) via Playwright.

Runs whenever ``_build/html`` exists (``make book``); skips otherwise, except under CI
(``CI`` set, as ``.ci/run`` does) where a missing book or browser fails. The planted-site
tests at the end show that each check reports the problem it looks for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import browser_checks as bc
import pytest
from test_chapter_layout import WIDTH as CODE_WIDTH
from test_chapter_layout import only_glue

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
STUDENT_HTML = ROOT / "_build" / "student" / "html"
TAB_PAGES = ("chapters/matrix-factorization.html", "chapters/deep-collaborative-filtering.html")


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the book and the browser are required)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright():
    if not bc.CHROMIUM.is_file():
        _missing(f"no {bc.CHROMIUM}: apt-get install chromium chromium-driver")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def context(playwright, tmp_path):
    """A browser with a fresh profile; requests off localhost are blocked."""
    context = bc.launch(playwright, tmp_path / "profile")
    yield context
    context.close()


@pytest.fixture(scope="module")
def book():
    if not (HTML / "index.html").is_file():
        _missing("the book is not built: run `make book` first")
    with bc.serve(HTML) as base:
        yield base


def test_every_page_loads_locally_without_errors_with_its_images_and_typeset_math(book, context):
    pages = bc.book_pages(HTML)
    assert {"index.html", "search.html"} <= set(pages) and len(pages) >= 8
    page = context.new_page()
    problems = [p for name in pages for p in bc.check_page(page, book + name, book)]
    assert problems == []


def test_pages_with_math_are_typeset_and_the_book_has_figures(book, context):
    """Guards the check above against passing vacuously."""
    page = context.new_page()
    page.goto(book + "chapters/matrix-factorization.html", wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 5")
    images = sum((HTML / name).read_text("utf-8").count("<img") for name in bc.book_pages(HTML))
    assert images >= 5


def test_every_download_link_resolves_and_notebooks_carry_their_outputs(book, context):
    page = context.new_page()
    problems, notebooks = [], 0
    for name in bc.book_pages(HTML):
        problems += bc.check_downloads(page, book + name, context)
        notebooks += (HTML / name).read_text("utf-8").count('class="reclearn-downloads"')
    assert problems == []
    sources = [p for p in (HTML / "_sources" / "chapters").glob("*.md")]
    executable = [p for p in sources if "kernelspec:" in p.read_text("utf-8")[:2000]]
    assert notebooks == len(executable) >= 5


def test_the_landing_page_links_the_zip_and_lists_measured_running_times(book, context):
    page = context.new_page()
    page.goto(book + "index.html", wait_until="load")
    assert page.locator("a.reclearn-notebook-zip").count() >= 1
    rows = page.locator("table.reclearn-run-times tbody tr").all_inner_texts()
    chapters = [r for r in rows if not r.startswith("All chapters")]
    assert len(chapters) >= 5
    assert all(re.search(r"\d+ s\b", r) for r in rows), rows
    assert "teaching" not in page.locator("article").inner_html()


@pytest.mark.parametrize("viewport", bc.VIEWPORTS)
def test_no_equation_or_table_is_clipped_and_every_table_is_styled(book, context, viewport):
    page = context.new_page()
    names = [n for n in bc.book_pages(HTML) if n not in ("search.html", "genindex.html")]
    problems = [p for n in names for p in bc.check_layout(page, book + n, *bc.VIEWPORTS[viewport])]
    assert problems == []


@pytest.mark.parametrize("viewport", bc.VIEWPORTS)
def test_the_landing_page_has_no_table_wider_than_its_column(book, context, viewport):
    page = context.new_page()
    assert bc.wide_tables(page, book + "index.html", *bc.VIEWPORTS[viewport]) == []


def test_shown_code_fits_the_column_and_no_shown_cell_is_only_glue(book, context):
    page = context.new_page()
    wide, glue = [], []
    for name in bc.book_pages(HTML):
        for code in bc.shown_code(page, book + name):
            lines = code.splitlines()
            wide += [f"{name}: {line}" for line in lines if len(line) > CODE_WIDTH]
            if only_glue(code):
                glue.append(f"{name}: {lines[0]}")
    assert wide == []
    assert glue == []


def test_framework_tabs_switch_together_and_the_choice_persists_on_another_page(book, context):
    page = context.new_page()
    first, second = (book + name for name in TAB_PAGES)
    assert bc.check_synced_tabs(page, first, second) == []


def test_the_search_page_finds_a_model_by_name(book, context):
    page = context.new_page()
    hits = bc.search_results(page, book, "NeuMF")
    assert any("deep-collaborative-filtering" in h for h in hits), hits


def test_the_student_edition_offers_its_own_stripped_notebooks(context):
    """``make student``: downloads resolve, come with outputs and hold no solution."""
    if not (STUDENT_HTML / "index.html").is_file():
        if os.environ.get("REQUIRE_STUDENT_EDITION"):
            pytest.fail("REQUIRE_STUDENT_EDITION is set but _build/student/html is missing")
        pytest.skip("run `make student` first to check its downloads too")
    notebooks = sorted((STUDENT_HTML / "_sources").rglob("*.ipynb"))
    assert len(notebooks) >= 5
    leaks = [p.name for p in notebooks if "{solution" in p.read_text("utf-8")]
    assert leaks == []
    with bc.serve(STUDENT_HTML) as base:
        page = context.new_page()
        problems = [
            p
            for name in bc.book_pages(STUDENT_HTML)
            for p in bc.check_downloads(page, base + name, context)
        ]
    assert problems == []


# --- the checks catch what they look for (a planted site) ----------------------------------


@pytest.fixture
def planted(book, tmp_path):
    """One built chapter with its theme files, in a folder the test may spoil."""
    site = tmp_path / "site"
    (site / "chapters").mkdir(parents=True)
    (site / "_static").symlink_to(HTML / "_static")
    shutil.copytree(HTML / "_images", site / "_images")
    for name in TAB_PAGES:
        shutil.copy2(HTML / name, site / name)
    for name in ("search.html", "searchindex.js"):
        shutil.copy2(HTML / name, site / name)
    return site


def test_the_planted_site_passes_before_it_is_spoiled(planted, context):
    with bc.serve(planted) as base:
        page = context.new_page()
        assert bc.check_page(page, base + TAB_PAGES[0], base) == []
        assert bc.check_synced_tabs(page, *(base + name for name in TAB_PAGES)) == []


def test_the_page_check_reports_a_console_error_an_external_request_and_a_missing_image(
    planted, context
):
    page_path = planted / TAB_PAGES[0]
    text = page_path.read_text("utf-8")
    image = re.search(r'<img[^>]*src="\.\./_images/([^"]+)"', text)[1]
    (planted / "_images" / image).unlink()
    planted_js = (
        '<script>console.error("planted error")</script>'
        '<img src="https://planted.example.org/pixel.png" alt="">'
    )
    page_path.write_text(text.replace("</body>", planted_js + "</body>"), "utf-8")
    with bc.serve(planted) as base:
        problems = "\n".join(bc.check_page(context.new_page(), base + TAB_PAGES[0], base))
    assert "console error: planted error" in problems
    assert "request leaves localhost: https://planted.example.org/pixel.png" in problems
    assert f"image does not load: ../_images/{image}" in problems
    assert f"HTTP 404: {base}_images/{image}" in problems


def test_the_page_check_reports_math_from_a_cdn_left_untypeset(planted, context):
    page_path = planted / TAB_PAGES[0]
    cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"
    text = page_path.read_text("utf-8").replace("../_static/mathjax/tex-chtml.js", cdn)
    page_path.write_text(text, "utf-8")
    with bc.serve(planted) as base:
        problems = "\n".join(bc.check_page(context.new_page(), base + TAB_PAGES[0], base))
    assert f"request leaves localhost: {cdn}" in problems
    assert f"MathJax script is not served locally: {cdn}" in problems
    assert "but no mjx-container: not typeset" in problems


def test_the_layout_check_reports_clipped_maths_unstyled_tables_and_swallowed_cells(
    planted, context
):
    page_path = planted / TAB_PAGES[0]
    text = re.sub(r"<link[^>]*reclearn\.css[^>]*>", "", page_path.read_text("utf-8"))
    text = re.sub(r"(<td[^>]*>)[^<]*(</td>)", r"\1<oov>\2", text, count=1)
    unbox = 'mjx-container[display="true"] {overflow: visible !important; width: max-content}'
    text = text.replace("</head>", f"<style>{unbox}</style></head>")
    page_path.write_text(text, "utf-8")
    with bc.serve(planted) as base:
        page = context.new_page()
        problems = "\n".join(bc.check_layout(page, base + TAB_PAGES[0], 390, 844))
        wide = bc.wide_tables(page, base + TAB_PAGES[0], 390, 844)
    assert "equation wider than its column" in problems
    assert "lacks the theme's table styling" in problems
    assert "a cell shows <oov> as markup, not text" in problems
    assert wide, "a Styler table of ratings is wider than a phone's column"


def test_the_tab_check_reports_tabs_that_do_not_sync(planted, context):
    for name in TAB_PAGES:  # without sphinx-design's script tabs neither sync nor persist
        path = planted / name
        text = re.sub(r"<script[^>]*design-tabs\.js[^>]*></script>", "", path.read_text("utf-8"))
        path.write_text(text, "utf-8")
    with bc.serve(planted) as base:
        problems = bc.check_synced_tabs(context.new_page(), *(base + n for n in TAB_PAGES))
    assert any("localStorage holds None" in p for p in problems), problems
    assert any("tab set 1 shows" in p for p in problems), problems


def test_the_download_check_reports_a_missing_notebook_and_one_without_outputs(planted, context):
    (planted / "_sources" / "chapters").mkdir(parents=True)
    for name in TAB_PAGES:
        stem = Path(name).stem
        shutil.copy2(
            HTML / "_sources" / "chapters" / f"{stem}.md", planted / "_sources" / "chapters"
        )
    stem = Path(TAB_PAGES[0]).stem
    notebook = (HTML / "_sources" / "chapters" / f"{stem}.ipynb").read_text("utf-8")
    stripped = re.sub(r'"outputs": \[.*?\n   \]', '"outputs": []', notebook, flags=re.S)
    assert stripped != notebook
    (planted / "_sources" / "chapters" / f"{stem}.ipynb").write_text(stripped, "utf-8")
    with bc.serve(planted) as base:
        page = context.new_page()
        problems = "\n".join(
            p for name in TAB_PAGES for p in bc.check_downloads(page, base + name, context)
        )
    assert f"{stem}.ipynb has no output: not the executed notebook" in problems
    other = Path(TAB_PAGES[1]).stem
    assert f"{other}.ipynb gives HTTP 404" in problems


def test_the_download_check_reports_a_zip_whose_notebook_differs_from_the_chapter_one(
    planted, context
):
    stem = Path(TAB_PAGES[1]).stem
    (planted / "_sources" / "chapters").mkdir(parents=True)
    for suffix in (".md", ".ipynb"):
        shutil.copy2(
            HTML / "_sources" / "chapters" / f"{stem}{suffix}", planted / "_sources" / "chapters"
        )
    notebook = (HTML / "_sources" / "chapters" / f"{stem}.ipynb").read_bytes()
    (planted / "downloads").mkdir()
    with zipfile.ZipFile(planted / "downloads" / "reclearn-notebooks.zip", "w") as bundle:
        bundle.writestr(
            f"reclearn-notebooks/chapters/{stem}.ipynb", notebook.replace(b"NeuMF", b"NCF")
        )
    page_path = planted / TAB_PAGES[1]
    link = '<a class="reclearn-notebook-zip" href="../downloads/reclearn-notebooks.zip">zip</a>'
    page_path.write_text(page_path.read_text("utf-8").replace("</article>", link + "</article>"))
    with bc.serve(planted) as base:
        problems = bc.check_downloads(context.new_page(), base + TAB_PAGES[1], context)
    assert [p for p in problems if p.endswith(f"differs from {base}_sources/chapters/{stem}.ipynb")]
    assert len(problems) == 1, problems


def test_the_search_check_finds_nothing_when_the_index_is_empty(planted, context):
    empty = dict.fromkeys(["alltitles", "envversion", "indexentries", "objects", "objnames"], {})
    empty |= {"docnames": [], "filenames": [], "objtypes": {}, "terms": {}, "titles": []}
    empty["titleterms"] = {}
    (planted / "searchindex.js").write_text(f"Search.setIndex({json.dumps(empty)})", "utf-8")
    with bc.serve(planted) as base:
        assert bc.search_results(context.new_page(), base, "NeuMF") == []
