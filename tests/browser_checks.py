"""Checks of the built book in headless Chromium; each returns a list of problems (empty: fine).

Playwright drives Debian's ``/usr/bin/chromium`` (``executable_path``; never
``playwright install``): it reports console messages, page errors and every request as
events and can route (block) requests, all in one process over the DevTools protocol.
Selenium with chromedriver would need a second driver process and CDP calls for the same
request log, so Playwright is the simpler tool here.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import json
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
TAB_STORAGE_PREFIX = "sphinx-design-tab-id-"
"""sphinx-design keeps the chosen tab of each sync group in localStorage under this prefix."""
TIMEOUT_MS = 20_000


# --- serving and launching ------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free localhost port from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def launch(playwright, user_data_dir: Path):
    """A Chromium context with a fresh, empty profile in ``user_data_dir``.

    Every request to a host other than localhost is aborted (and still reported by the
    checks, which listen to every request a page makes).
    """
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_FLAGS,
        headless=True,
        service_workers="block",
    )
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", route)
    return context


def book_pages(root: Path) -> list[str]:
    """Every HTML page of a built book, relative to ``root`` (theme files excluded)."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not p.relative_to(root).parts[0].startswith("_")
    )


# --- one page ------------------------------------------------------------------------------


@dataclass
class PageLog:
    """What happened while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@contextlib.contextmanager
def recording(page) -> Iterator[PageLog]:
    """Record console errors, uncaught exceptions, requests and failed local loads."""
    log = PageLog()

    def on_console(message):
        if message.type == "error":
            log.console_errors.append(f"console error: {message.text}")

    def on_response(response):
        if response.status >= 400:
            log.failed.append(f"HTTP {response.status}: {response.url}")

    handlers = {
        "console": on_console,
        "pageerror": lambda error: log.console_errors.append(f"uncaught: {error}"),
        "request": lambda request: log.requests.append(request.url),
        "response": on_response,
        "requestfailed": lambda request: log.failed.append(
            f"failed ({request.failure}): {request.url}"
        ),
    }
    for event, handler in handlers.items():
        page.on(event, handler)
    try:
        yield log
    finally:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)


_WAIT_FOR_IMAGES = """async () => {
  const images = Array.from(document.images);
  for (const img of images) img.loading = "eager";
  const loaded = Promise.all(images.map((img) => img.complete ? null :
    new Promise((done) => {
      img.addEventListener("load", done);
      img.addEventListener("error", done);
    })));
  await Promise.race([loaded, new Promise((done) => setTimeout(done, 10000))]);
  return images.filter((img) => !(img.naturalWidth > 0)).map((img) => img.getAttribute("src"));
}"""

_MATH = """async () => {
  const math = document.querySelectorAll(".math, span.math, div.math").length;
  const script = Array.from(document.scripts).find((s) => /mathjax/i.test(s.src));
  if (math && window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await Promise.race([window.MathJax.startup.promise,
                        new Promise((done) => setTimeout(done, 10000))]);
  }
  return {
    math: math,
    script: script ? script.src : null,
    typeset: document.querySelectorAll("mjx-container").length,
    errors: Array.from(document.querySelectorAll("mjx-merror")).map((e) => e.textContent),
  };
}"""


def check_page(page, url: str, base: str) -> list[str]:
    """Load ``url`` and report console errors, requests that leave localhost, failed local
    loads, images that do not load, and math not typeset by the locally served MathJax."""
    with recording(page) as log:
        page.goto(url, wait_until="load")
        broken = page.evaluate(_WAIT_FOR_IMAGES)
        math = page.evaluate(_MATH)
        page.wait_for_load_state("networkidle")
    problems = list(log.console_errors) + list(log.failed)
    problems += [
        f"request leaves localhost: {r}"
        for r in log.requests
        if urlparse(r).scheme in ("http", "https", "ws", "wss")
        and urlparse(r).hostname not in LOCAL_HOSTS
    ]
    problems += [f"image does not load: {src}" for src in broken]
    if math["math"]:
        if not (math["script"] or "").startswith(base):
            problems.append(f"MathJax script is not served locally: {math['script']}")
        if math["typeset"] == 0:
            problems.append(f"{math['math']} math elements but no mjx-container: not typeset")
    problems += [f"MathJax error: {text}" for text in math["errors"]]
    return [f"{url}: {p}" for p in problems]


# --- downloads ------------------------------------------------------------------------------


def check_downloads(page, url: str, context) -> list[str]:
    """The page's download links resolve: a notebook with outputs, the source, the zip.

    Looks at the links under the chapter title, the theme's download menu and the table of
    the landing page; a page whose source is a notebook must offer its ``.ipynb``.
    """
    page.goto(url, wait_until="load")
    links = page.eval_on_selector_all(
        "a.reclearn-download-ipynb, a.reclearn-download-source, a.reclearn-notebook-zip,"
        " .dropdown-download-buttons a",
        "links => links.map(a => [a.className, a.href])",
    )
    problems = []
    source = next((href for cls, href in links if "download-source-button" in cls), None)
    is_notebook = source is not None and _is_notebook_source(context, source)
    kinds = {cls.split()[0] for cls, _ in links}
    if is_notebook:
        for kind in ("reclearn-download-ipynb", "reclearn-download-source"):
            if kind not in kinds:
                problems.append(f"notebook page has no {kind} link")
        if not any(href.endswith(".ipynb") and "dropdown" in cls for cls, href in links):
            problems.append("the download menu offers no .ipynb")
    for _, href in links:
        response = context.request.get(href)
        if not response.ok:
            problems.append(f"download link {href} gives HTTP {response.status}")
        elif href.endswith(".ipynb"):
            problems += _notebook_problems(href, response.body())
        elif href.endswith(".zip"):
            problems += _zip_problems(href, response.body(), context)
    return [f"{url}: {p}" for p in problems]


def _is_notebook_source(context, url: str) -> bool:
    response = context.request.get(url)
    return response.ok and "kernelspec:" in response.text()[:2000]


def _notebook_problems(href: str, body: bytes) -> list[str]:
    try:
        notebook = json.loads(body)
    except json.JSONDecodeError as error:
        return [f"{href} is not a notebook: {error}"]
    code = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    if not code:
        return [f"{href} has no code cell"]
    if not any(c.get("outputs") for c in code):
        return [f"{href} has no output: not the executed notebook"]
    return []


def _zip_problems(href: str, body: bytes, context) -> list[str]:
    """Every notebook in the zip is valid and identical to the chapter's own download."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        names = [n for n in bundle.namelist() if n.endswith(".ipynb")]
        if not names:
            return [f"{href} holds no notebook"]
        for name in names:
            data = bundle.read(name)
            problems += _notebook_problems(f"{href}:{name}", data)
            own = urljoin(href, "../_sources/" + name.split("/", 1)[1])
            response = context.request.get(own)
            if not response.ok or response.body() != data:
                problems.append(f"{href}:{name} differs from {own}")
    return problems


# --- synced tabs and search ----------------------------------------------------------------


_TAB_STATE = """(group) => {
  const sets = Array.from(document.querySelectorAll(".sd-tab-set"))
    .filter((set) => set.querySelector(`.sd-tab-label[data-sync-group="${group}"]`));
  return sets.map((set) => {
    const labels = Array.from(set.querySelectorAll(":scope > .sd-tab-label"));
    const chosen = labels.find((l) => document.getElementById(l.getAttribute("for"))?.checked);
    const ids = labels.map((l) => l.dataset.syncId);
    return {ids: ids, chosen: chosen ? chosen.dataset.syncId : null};
  });
}"""


def tab_state(page, group: str = "framework") -> list[dict]:
    """For each tab set of the sync group on the page: its tab ids and the chosen one."""
    return page.evaluate(_TAB_STATE, group)


def check_synced_tabs(page, first: str, second: str, group: str = "framework") -> list[str]:
    """Clicking a tab on ``first`` switches every tab set of the group there, and the choice
    is stored and shown again on ``second``."""
    page.goto(first, wait_until="load")
    sets = tab_state(page, group)
    if len(sets) < 2:
        return [f"{first}: fewer than two {group!r} tab sets ({len(sets)})"]
    target = next((i for i in sets[0]["ids"] if i != sets[0]["chosen"]), None)
    if target is None:
        return [f"{first}: the first tab set has a single tab"]
    label = page.locator(f'.sd-tab-label[data-sync-group="{group}"][data-sync-id="{target}"]')
    label.first.scroll_into_view_if_needed()
    label.first.click()
    problems = []
    for n, state in enumerate(tab_state(page, group)):
        if target in state["ids"] and state["chosen"] != target:
            problems.append(f"{first}: tab set {n} shows {state['chosen']!r}, not {target!r}")
    stored = page.evaluate("(key) => window.localStorage.getItem(key)", TAB_STORAGE_PREFIX + group)
    if stored != target:
        problems.append(f"{first}: localStorage holds {stored!r}, not {target!r}")
    page.goto(second, wait_until="load")
    others = tab_state(page, group)
    if not others:
        problems.append(f"{second}: no {group!r} tab set")
    for n, state in enumerate(others):
        if target in state["ids"] and state["chosen"] != target:
            problems.append(f"{second}: tab set {n} shows {state['chosen']!r}, not {target!r}")
    return problems


def search_results(page, base: str, query: str) -> list[str]:
    """The links the book's search page lists for ``query`` (waits for the search to end)."""
    page.goto(urljoin(base, f"search.html?q={query}"), wait_until="load")
    page.wait_for_function(
        "() => { const s = document.querySelector('#search-results p.search-summary, "
        "#search-results .search-summary');"
        " return s && s.textContent.trim().length > 0; }"
    )
    return page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")


# --- layout at a given width ------------------------------------------------------------------

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
"""Widths the book must read well at: a laptop and a phone."""

_LAYOUT = """() => {
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const scroller = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) if (scrolls(e)) return e;
    return null;
  };
  const text = (el) => el.textContent.replace(/\\s+/g, " ").trim().slice(0, 50);
  const column = document.querySelector("article") || document.body;
  const right = column.getBoundingClientRect().right
    - parseFloat(getComputedStyle(column).paddingRight);
  const out = [];
  for (const m of column.querySelectorAll('mjx-container[display="true"]')) {
    const box = m.getBoundingClientRect();
    const wide = box.width > m.parentElement.getBoundingClientRect().width + 1;
    const clipped = m.scrollWidth > m.clientWidth + 1 && !scrolls(m);
    if ((wide || box.right > right + 1 || clipped) && !scrolls(m))
      out.push(`equation wider than its column (${Math.round(box.width)} px): ${text(m)}`);
  }
  for (const t of column.querySelectorAll("table")) {
    const box = t.getBoundingClientRect();
    const name = `table ${text(t.rows[0] || t)}`;
    const holder = scroller(t);
    if (!holder && (box.right > right + 1 || box.width > t.parentElement.clientWidth + 1))
      out.push(`${name} wider than its column (${Math.round(box.width)} px), no scroll`);
    const cell = t.querySelector("td, th");
    const style = cell && getComputedStyle(cell);
    if (getComputedStyle(t).borderCollapse !== "collapse" || !style ||
        parseFloat(style.paddingLeft) < 4)
      out.push(`${name} lacks the theme's table styling`);
    for (const c of t.querySelectorAll("td, th")) {
      const unknown = Array.from(c.querySelectorAll("*"))
        .filter((e) => e instanceof HTMLUnknownElement).map((e) => e.tagName);
      if (unknown.length)
        out.push(`${name}: a cell shows <${unknown[0].toLowerCase()}> as markup, not text`);
      else if (!c.textContent.trim() && c.children.length)
        out.push(`${name}: a cell with content renders empty: ${c.innerHTML.slice(0, 50)}`);
    }
  }
  return out;
}"""

_TABLE_WIDTHS = """() => {
  const column = document.querySelector("article") || document.body;
  const style = getComputedStyle(column);
  const width = column.clientWidth - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight);
  return Array.from(column.querySelectorAll("table"))
    .filter((t) => t.scrollWidth > width + 1)
    .map((t) => `table ${t.textContent.replace(/\\s+/g, " ").trim().slice(0, 40)}: `
      + `${t.scrollWidth} px in a ${Math.round(width)} px column`);
}"""


def check_layout(page, url: str, width: int, height: int) -> list[str]:
    """Load ``url`` at ``width`` x ``height`` and report clipped display equations, tables
    wider than the column that do not scroll, tables without the theme's styling and cells
    whose text the browser swallowed as markup (an unescaped ``<oov>``)."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url, wait_until="load")
    page.evaluate(_MATH)
    return [f"{url} at {width} px: {p}" for p in page.evaluate(_LAYOUT)]


def wide_tables(page, url: str, width: int, height: int) -> list[str]:
    """Tables on ``url`` wider than the text column at ``width`` (scrolling or not)."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url, wait_until="load")
    return [f"{url} at {width} px: {p}" for p in page.evaluate(_TABLE_WIDTHS)]


_CODE = """() => Array.from(document.querySelectorAll(
    "article div.cell_input pre, article div[class^='highlight-python'] pre"))
  .filter((pre) => !pre.closest(".cell_output"))
  .map((pre) => pre.textContent)"""


def shown_code(page, url: str) -> list[str]:
    """The text of every code block the page shows: cell inputs and included code."""
    page.goto(url, wait_until="load")
    return page.evaluate(_CODE)


def screenshot_book(playwright, root: Path, out: Path) -> list[Path]:
    """A full-page PNG of every page of the book at each width of :data:`VIEWPORTS`."""
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with serve(root) as base, tempfile.TemporaryDirectory() as profile:
        context = launch(playwright, Path(profile))
        page = context.new_page()
        for name in book_pages(root):
            for label, (width, height) in VIEWPORTS.items():
                page.set_viewport_size({"width": width, "height": height})
                page.goto(base + name, wait_until="load")
                page.evaluate(_WAIT_FOR_IMAGES)
                page.evaluate(_MATH)
                shot = out / f"{name.removesuffix('.html').replace('/', '-')}-{label}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)
        context.close()
    return shots
