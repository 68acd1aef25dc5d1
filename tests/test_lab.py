"""``make lab``: JupyterLab serves every chapter as a notebook and runs it on the .venv kernel.

A Jupyter server starts as ``make lab`` starts it (the repository's settings in
``.jupyter/``, the repository root as its root) on a free loopback port, with the kernel
registered as ``make kernel`` registers it but in a temporary prefix. The first tests use
its REST API and kernel; one drives JupyterLab in headless Chromium (Debian's package, as
tests/test_browser.py does). Without JupyterLab or the browser they skip, except under CI
(``CI`` set) where they fail. The server is always stopped, its kernels with it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import browser_checks as bc
import nbclient
import nbformat
import pytest
from jupyter_client import BlockingKernelClient

ROOT = Path(__file__).resolve().parent.parent
KERNEL_ARGS = ["--name", "python3", "--display-name", "reclearn (.venv)"]
"""How ``make kernel`` registers the .venv Python (the test below reads the Makefile)."""
SMALL = {"DATASET": '"synthetic"', "EPOCHS": "2", "BACKEND": '"torch"'}
CHAPTER = "chapters/matrix-factorization.md"
"""The chapter whose Setup the kernel test runs (it has every kind of parameter)."""
BROWSER_CHAPTER = "chapters/introduction.md"
"""The chapter the browser opens: its Setup is the quickest to run."""
START_TIMEOUT_S = 60
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: JupyterLab and the browser are required)")
    pytest.skip(reason)


def _load_ext(name: str = "reclearn_book"):
    """A script of the book's ``_ext`` folder as a module: by default its Sphinx
    extension (``build_book`` only defines its functions: its build runs as a script)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / f"_ext/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- a Jupyter server as `make lab` starts it ----------------------------------------------


@dataclass
class Lab:
    """A running server: its URL, its token and where it writes kernel connection files."""

    url: str
    token: str
    runtime_dir: Path

    def api(self, method: str, path: str, body: dict | None = None):
        """JSON of ``method path`` on the server (the token in the header)."""
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with _NO_PROXY.open(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lab_environment(tmp: Path) -> dict[str, str]:
    """The repository's Jupyter settings; kernel, settings and runtime files under ``tmp``."""
    settings = tmp / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    return dict(
        os.environ,
        JUPYTER_CONFIG_PATH=str(ROOT / ".jupyter"),
        JUPYTER_PATH=str(tmp / "share" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        IPYTHONDIR=str(tmp / "ipython"),
        TF_CPP_MIN_LOG_LEVEL="2",
        RECLEARN_PLAIN_PROGRESS="1",
    )


def _wait_until_up(process: subprocess.Popen, lab: Lab, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            lab.api("GET", "api/status")
            return
        time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the server shuts its kernels down), then SIGKILL to the whole group."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    for module in ("jupyterlab", "jupytext", "jupyterlab_myst"):
        if importlib.util.find_spec(module) is None:
            _missing(f"{module} is not installed: pip install -r requirements.txt")
    tmp = tmp_path_factory.mktemp("lab")
    install = [sys.executable, "-m", "ipykernel", "install", "--prefix", str(tmp)]
    subprocess.run(install + KERNEL_ARGS, check=True, capture_output=True, timeout=60)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_lab_environment(tmp),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Lab(f"http://127.0.0.1:{port}/", token, tmp / "runtime")
    try:
        _wait_until_up(process, server, log)
        yield server
    finally:
        _stop(process)


# --- the server, its contents API and its kernel ---------------------------------------


def test_make_lab_registers_the_venv_kernel_and_passes_the_repository_settings():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    recipe = " ".join(makefile.replace("\\\n", " ").split())
    assert "ipykernel install --sys-prefix " + " ".join(KERNEL_ARGS[:3]) in recipe
    assert '--display-name "reclearn (.venv)"' in recipe
    assert 'JUPYTER_CONFIG_PATH="$(CURDIR)/.jupyter"' in recipe
    assert 'jupyter lab --ServerApp.root_dir="$(CURDIR)"' in recipe


def test_the_server_listens_on_loopback_only_and_offers_the_reclearn_kernel(lab):
    specs = lab.api("GET", "api/kernelspecs")
    assert specs["default"] == "python3"
    spec = specs["kernelspecs"]["python3"]["spec"]
    assert spec["display_name"] == "reclearn (.venv)"
    assert spec["argv"][0] == sys.executable
    config = lab.api("GET", "api/config/notebook")  # answers: the token works
    assert isinstance(config, dict)
    with pytest.raises(urllib.error.HTTPError) as refused:  # and is required
        _NO_PROXY.open(lab.url + "api/kernelspecs", timeout=10)
    assert refused.value.code == 403


def test_a_chapter_comes_back_from_the_contents_api_as_a_notebook(lab):
    model = lab.api("GET", f"api/contents/{CHAPTER}?type=notebook&content=1")
    assert (model["type"], model["format"], model["path"]) == ("notebook", "json", CHAPTER)
    notebook = nbformat.from_dict(model["content"])
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert _setup_cells(notebook)[0].metadata["tags"] == ["parameters"]
    headings = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    assert any(h.startswith("(sec-mf)=\n# Matrix factorization") for h in headings)


def test_every_chapter_opens_as_a_notebook_on_the_reclearn_kernel(lab):
    notebooks = sorted((ROOT / "chapters").glob("*.md"))
    chapters = [p for p in notebooks if "```{code-cell}" in p.read_text("utf-8")]
    assert len(chapters) >= 8
    for path in chapters:
        relative = path.relative_to(ROOT).as_posix()
        model = lab.api("GET", f"api/contents/{relative}?type=notebook&content=1")
        notebook = nbformat.from_dict(model["content"])
        nbformat.validate(notebook)
        assert model["type"] == "notebook", relative
        assert notebook.metadata["kernelspec"]["name"] == "python3", relative


def _setup_cells(notebook) -> list:
    """The parameters cell and the code cell after it (imports and data)."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    first = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    return code[first : first + 2]


def _small(source: str) -> str:
    for name, value in SMALL.items():
        source = re.sub(rf"^{name} = .*$", f"{name} = {value}", source, flags=re.M)
    return source


def _run(client: BlockingKernelClient, source: str) -> str:
    """Execute ``source``; its text output, or the test fails with the kernel's error."""
    outputs = []
    reply = client.execute_interactive(source, timeout=120, output_hook=outputs.append)
    content = reply["content"]
    if content["status"] != "ok":
        pytest.fail("\n".join(content.get("traceback", [])) or content["status"])
    texts = [m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream"]
    return "".join(texts)


def test_the_registered_kernel_runs_a_chapter_setup_with_small_parameters(lab):
    notebook = nbformat.from_dict(
        lab.api("GET", f"api/contents/{CHAPTER}?type=notebook&content=1")["content"]
    )
    body = {"path": CHAPTER, "type": "notebook", "name": "", "kernel": {"name": "python3"}}
    session = lab.api("POST", "api/sessions", body)
    client = BlockingKernelClient()
    try:
        client.load_connection_file(lab.runtime_dir / f"kernel-{session['kernel']['id']}.json")
        client.start_channels()
        client.wait_for_ready(timeout=60)
        parameters, setup = _setup_cells(notebook)
        _run(client, _small(parameters.source))
        printed = _run(client, setup.source)
        where = _run(client, "import reclearn, sys; print(sys.executable, reclearn.__file__)")
    finally:
        client.stop_channels()
        lab.api("DELETE", f"api/sessions/{session['id']}")
    assert re.search(r"training and [\d,]+ test ratings", printed), printed
    executable, package = where.split()
    assert executable == sys.executable
    assert Path(package).parent == ROOT / "reclearn"


# --- downloaded notebooks and their zip ------------------------------------------------------


def _downloaded(book) -> nbformat.NotebookNode:
    """A downloadable notebook as the book writes it: the check cell, then a chapter cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell('print("chapter runs")')]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return book.with_check_cell(notebook)


def test_a_downloaded_notebook_starts_with_a_check_cell_that_is_silent_here():
    book = _load_ext()
    notebook = _downloaded(book)
    nbformat.validate(notebook)
    assert notebook.cells[0].id == book.CHECK_CELL_ID
    assert notebook.cells[0].metadata["tags"] == [book.CHECK_CELL_ID]
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    assert notebook.cells[0].outputs == []
    assert notebook.cells[1].outputs[0]["text"] == "chapter runs\n"


def test_outside_the_repository_the_first_cell_stops_with_one_sentence():
    """A kernel where ``reclearn`` cannot be imported (blocked before the first cell)."""
    book = _load_ext()
    notebook = _downloaded(book)
    block = "--IPKernelApp.exec_lines=import sys; sys.modules['reclearn'] = None"
    client = nbclient.NotebookClient(
        notebook, timeout=60, kernel_name="python3", extra_arguments=[block]
    )
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    (error,) = notebook.cells[0].outputs
    assert error["output_type"] == "error"
    assert error["traceback"] == [book.CHECK_MESSAGE]
    assert "ImportError" not in json.dumps(error)
    assert notebook.cells[1].outputs == []
    assert book.CHECK_MESSAGE.count(". ") == 0 and book.CHECK_MESSAGE.endswith(".")


def test_the_notebook_zip_readme_says_to_run_them_with_make_lab_in_a_checkout():
    readme = _load_ext().ZIP_README
    assert "make lab" in readme and '"reclearn (.venv)"' in readme
    assert "chapters/" in readme


# --- JupyterLab in the browser -------------------------------------------------------------


@pytest.fixture
def browser(tmp_path):
    if not bc.CHROMIUM.is_file():
        _missing(f"no {bc.CHROMIUM}: apt-get install chromium chromium-driver")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        context = bc.launch(driver, tmp_path / "profile")
        try:
            yield context
        finally:
            context.close()


def _run_cell(page, cell, attempts: int = 3) -> None:
    """Shift+Enter in ``cell`` until JupyterLab queues or runs it: on a busy machine a
    key pressed while the notebook still renders can be lost."""
    prompt = cell.locator(".jp-InputPrompt").get_by_text(re.compile(r"\[(\*|\d+)\]"))
    for _ in range(attempts):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        with contextlib.suppress(Exception):
            prompt.wait_for(timeout=20_000)
            return
    pytest.fail(f"JupyterLab did not run the cell after {attempts} Shift+Enter")


def test_jupyterlab_opens_a_chapter_as_a_notebook_and_runs_its_setup(lab, browser):
    """As a reader: the chapter's URL, the parameters and setup cells run, the output shows."""
    before = (ROOT / BROWSER_CHAPTER).read_bytes()
    page = browser.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{lab.url}lab/tree/{BROWSER_CHAPTER}?token={lab.token}")
    opened = page.locator(".jp-NotebookPanel:visible, .jp-FileEditor:visible").first
    opened.wait_for(timeout=45_000)
    if page.locator(".jp-FileEditor:visible").count():
        jupytext = [m for m in console if "jupytext" in m.lower()]
        pytest.fail(f"{BROWSER_CHAPTER} opened as text, not as a notebook: {jupytext}")
    notebook = page.locator(".jp-NotebookPanel:visible")
    kernel = notebook.locator(".jp-Toolbar-kernelName")
    kernel.get_by_text("reclearn (.venv)").wait_for(timeout=30_000)
    cells = notebook.locator(".jp-CodeCell")
    # the parameters cell, then the setup cell (imports, loads, shows the data set)
    for n in range(2):
        _run_cell(page, cells.nth(n))
    output = cells.nth(1).locator(".jp-OutputArea-output")
    try:
        output.get_by_text("Dataset('ml-latest-small'").wait_for(timeout=300_000)
    except Exception:
        shot = Path(os.environ.get("TMPDIR", "/tmp")) / "reclearn-lab-failure.png"
        page.screenshot(path=str(shot), full_page=True)
        pytest.fail(f"the setup cell showed no data set (screenshot {shot}): {console}")
    assert notebook.locator(".jp-MarkdownCell .myst").count() > 0  # MyST renders Markdown
    page.close()
    assert (ROOT / BROWSER_CHAPTER).read_bytes() == before  # nothing was saved
