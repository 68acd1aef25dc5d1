"""Sphinx extension of the reclearn book: notebook downloads and measured running times.

- Every executed chapter is offered as a notebook with its outputs (the notebook myst-nb
  parsed, with the outputs of the execution cache) next to its MyST source, in
  ``_sources/`` of the HTML output; the theme's download menu and a line under the chapter
  title link both.
- ``downloads/reclearn-notebooks.zip`` holds every chapter notebook and a README saying
  where to run them; the role ``{notebook-zip}`text``` links it.
- Each downloadable notebook starts with a small cell that checks ``reclearn`` can be
  imported and otherwise stops with one sentence saying where to run the notebook.
- The directive ``{chapter-run-times}`` is replaced by a table of the chapters in reading
  order with the running time that myst-nb measured when it executed each one (the
  execution cache keeps that time, so a cached build shows the time of the real run).
- The directive ``{benchmark-table}`` renders a committed benchmark CSV of
  ``benchmarks/results`` (``mf``, ``ranking``, their ``-tuned`` runs, or ``summary``: the
  five best models of the full ranking) as a table, leaving out the ranking columns that
  repeat HR@10 under leave-last-out (it checks that they do, and that the models of a
  fold that know only ids share its number of fallbacks, as the Benchmarks page says).

Loaded through ``sphinx: local_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from contextlib import suppress
from pathlib import Path

import nbformat
import pandas as pd
from docutils import nodes
from docutils.parsers.rst import directives
from jupyter_cache import get_cache
from myst_nb.ext.glue import extract_glue_data_cell
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

ZIP_PATH = "downloads/reclearn-notebooks.zip"
"""Where the zip of every chapter notebook lands in the HTML output."""
ZIP_README = """\
The chapters of the reclearn book as Jupyter notebooks, executed, with their outputs.

Run them in JupyterLab from a checkout of the reclearn repository:

    make lab

registers the repository's .venv as the Jupyter kernel "reclearn (.venv)" and starts
JupyterLab at the repository root (the first `make lab` or `make venv` creates .venv).
Copy these notebooks into the checkout, for example into a folder notebooks/, and open
them there; every chapter imports the `reclearn` package and reads the data bundled with
it. Keep them out of the checkout's chapters/ folder, where the book's own sources
(chapters/*.md) live; those open as notebooks in `make lab` too.

Each notebook's first cell checks that `reclearn` can be imported and otherwise stops
with a sentence saying where to run it.
"""

CHECK_CELL_ID = "reclearn-check"
"""Id (and tag) of the cell that each downloadable notebook starts with."""
_MESSAGE_LINES = (
    "This notebook needs the reclearn package: run it in JupyterLab from a checkout ",
    "of the reclearn repository (`make lab`), as README.txt in the notebooks' zip says.",
)
CHECK_MESSAGE = "".join(_MESSAGE_LINES)
"""The one sentence a notebook opened outside the repository stops with."""
CHECK_SOURCE = """\
# Stops here, with one sentence, where the reclearn package cannot be imported.
try:
    import reclearn  # noqa: F401
except ImportError:

    class ReclearnMissing(Exception):
        def _render_traceback_(self):  # IPython shows this instead of a traceback
            return [str(self)]

    raise ReclearnMissing(
        {message}
    ) from None
""".format(message="\n        ".join(map(json.dumps, _MESSAGE_LINES)))
"""Source of that cell."""


def notebook_docs(app: Sphinx) -> list[str]:
    """Docnames, in reading order, whose source is a notebook that myst-nb wrote out."""
    folder = _executed_folder(app)
    return [d for d in _reading_order(app) if (folder / f"{d}.ipynb").is_file()]


def _executed_folder(app: Sphinx) -> Path:
    return Path(app.outdir).parent / "jupyter_execute"


def _reading_order(app: Sphinx) -> list[str]:
    """Every document reachable from the root's toctrees, depth first, root first."""
    env = app.env
    order: list[str] = []

    def visit(docname: str) -> None:
        if docname in order or docname not in env.found_docs:
            return
        order.append(docname)
        for child in env.toctree_includes.get(docname, []):
            visit(child)

    visit(app.config.root_doc)
    return order


def _relative(from_doc: str, target: str) -> str:
    """URL of an output file ``target`` from the HTML page of ``from_doc``."""
    return posixpath.relpath(target, posixpath.dirname(from_doc) or ".")


def _is_html(app: Sphinx) -> bool:
    return getattr(app.builder, "format", "") == "html"


# --- scripts -------------------------------------------------------------------------------


def drop_duplicate_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Keep one copy of each script: in this Jupyter Book build sphinx-thebe and
    sphinx-togglebutton register their inline configuration twice (once with the file name
    ``None``, once ``""``), and a second
    ``const THEBE_JS_URL = ...`` is a SyntaxError on every page (the browser tests saw it)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (
            getattr(script, "filename", None) or "",
            tuple(sorted((k, str(v)) for k, v in attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique  # in place: Sphinx adds MathJax to this list later


# --- downloads -----------------------------------------------------------------------------


def add_notebook_to_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Let sphinx-book-theme's download menu offer the notebook (it reads ``ipynb_source``)."""
    if (_executed_folder(app) / f"{pagename}.ipynb").is_file():
        context["ipynb_source"] = f"{pagename}.ipynb"


def add_download_line(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Put "Download: notebook (.ipynb) · source (.md)" under a chapter's title."""
    if not _is_html(app) or not (_executed_folder(app) / f"{docname}.ipynb").is_file():
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return
    source = _source_name(app, docname)
    line = nodes.paragraph(classes=["reclearn-downloads"])
    line += nodes.Text("Download this chapter: ")
    line += _link(
        f"notebook with outputs ({docname.rsplit('/', 1)[-1]}.ipynb)",
        _relative(docname, f"_sources/{docname}.ipynb"),
        "reclearn-download-ipynb",
    )
    line += nodes.Text(" · ")
    line += _link(
        f"MyST source ({source.rsplit('/', 1)[-1]})",
        _relative(docname, f"_sources/{source}"),
        "reclearn-download-source",
    )
    section.insert(1, line)


def _source_name(app: Sphinx, docname: str) -> str:
    """Where Sphinx copies a page's source under ``_sources/`` (as its HTML builder does)."""
    suffix = str(app.env.doc2path(docname, False))[len(docname) :]
    name = docname + suffix
    link_suffix = app.config.html_sourcelink_suffix
    return name if name.endswith(link_suffix) else name + link_suffix


def _link(text: str, url: str, css_class: str) -> nodes.reference:
    return nodes.reference("", text, refuri=url, classes=[css_class])


def notebook_zip_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{notebook-zip}`text``` links the zip of every chapter notebook."""
    docname = inliner.document.settings.env.docname
    node = _link(text, _relative(docname, ZIP_PATH), "reclearn-notebook-zip")
    return [node], []


def executed_notebook(app: Sphinx, docname: str) -> nbformat.NotebookNode:
    """The notebook myst-nb parsed for ``docname``, with the outputs of its execution.

    myst-nb writes the parsed notebook to ``jupyter_execute/`` but, when the outputs come
    from the execution cache, without them; so they are merged from the cache here. Glue
    values that the page shows elsewhere (not displayed by their cell) and stderr are
    dropped, as myst-nb drops them from the page (``execute.stderr_output: remove``).
    """
    notebook = nbformat.read(_executed_folder(app) / f"{docname}.ipynb", as_version=4)
    cache_path = app.env.mystnb_config.execution_cache_path
    if cache_path and Path(cache_path).is_dir():
        with suppress(KeyError):
            _, notebook = get_cache(cache_path).merge_match_into_notebook(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            extract_glue_data_cell(cell)
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    return notebook


def with_check_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with the cell ``CHECK_SOURCE`` first (unexecuted, tagged, fixed id)."""
    cell = nbformat.v4.new_code_cell(CHECK_SOURCE, metadata={"tags": [CHECK_CELL_ID]})
    if (notebook.nbformat, notebook.nbformat_minor) >= (4, 5):
        cell.id = CHECK_CELL_ID  # a fixed id keeps the zip the same from build to build
    else:
        del cell["id"]
    notebook.cells.insert(0, cell)
    return notebook


def copy_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Write each executed notebook, check cell first, to ``_sources/`` and zip them all.

    HTML builds only.
    """
    if exception is not None or not _is_html(app):
        return
    outdir = Path(app.outdir)
    docs = notebook_docs(app)
    for docname in docs:
        target = outdir / "_sources" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(with_check_cell(executed_notebook(app, docname)), target)
    archive = outdir / ZIP_PATH
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("reclearn-notebooks/README.txt", ZIP_README)
        for docname in docs:
            source = outdir / "_sources" / f"{docname}.ipynb"
            bundle.write(source, f"reclearn-notebooks/{docname}.ipynb")


# --- running times -------------------------------------------------------------------------


class chapter_run_times(nodes.General, nodes.Element):
    """Placeholder, replaced by the table once every chapter has run."""


class ChapterRunTimes(SphinxDirective):
    """``{chapter-run-times}``: the chapters with the running time the build measured."""

    def run(self) -> list[nodes.Node]:
        # myst-nb's key: rewrite this page whenever a notebook is executed again.
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, "has_exec_table", True)
        return [chapter_run_times()]


class RunTimesTransform(SphinxPostTransform):
    """Replace each placeholder with the table (before cross-references are resolved)."""

    default_priority = 8

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(chapter_run_times)):
            node.replace_self(run_time_table(self.app, self.env.docname))


def format_seconds(seconds: float) -> str:
    """``42 s`` below a minute, else ``3 min 07 s``."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def run_time_table(app: Sphinx, parent: str) -> nodes.table:
    """Chapter | running time | notebook, in reading order, with a total row."""
    data = NbMetadataCollector.get_doc_data(app.env)
    header = ["Chapter", "Running time", "Download"]
    rows, total = [], 0.0
    for docname in notebook_docs(app):
        runtime = (data.get(docname, {}).get("exec_data") or {}).get("runtime")
        total += runtime or 0.0
        title = nodes.paragraph()
        xref = pending_xref(
            refdoc=parent,
            reftarget="/" + docname,
            reftype="doc",
            refdomain="std",
            refexplicit=True,
            refwarn=True,
        )
        xref += nodes.inline(text=app.env.titles[docname].astext())
        title += xref
        stem = docname.rsplit("/", 1)[-1]
        links = nodes.paragraph()
        links += _link(f"{stem}.ipynb", _relative(parent, f"_sources/{docname}.ipynb"),
                       "reclearn-download-ipynb")  # fmt: skip
        time = "not executed" if runtime is None else format_seconds(runtime)
        rows.append([title, nodes.paragraph(text=time), links])
    rows.append(
        [
            nodes.paragraph(text="All chapters"),
            nodes.paragraph(text=format_seconds(total)),
            nodes.paragraph(
                "",
                "",
                _link("all notebooks (zip)", _relative(parent, ZIP_PATH), "reclearn-notebook-zip"),
            ),  # fmt: skip
        ]
    )
    return _table(header, rows)


def _table(
    header: list[str], rows: list[list[nodes.Node]], css: str = "reclearn-run-times"
) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto", css])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]
    head = nodes.thead()
    group += head
    head += nodes.row("", *[nodes.entry("", nodes.paragraph(text=h)) for h in header])
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += nodes.row("", *[nodes.entry("", cell) for cell in cells])
    return table


# Extensions jupyter-book always loads that do not declare parallel reading safe. None
# of them touches a document while it is read: numbering runs on the merged
# environment, the other two copy static files or act on LaTeX builds only. Declaring
# them lets ``make book`` read, and so execute, chapters in parallel (_ext/build_book.py);
# the serial and parallel builds give the same pages.
UNDECLARED_BUT_SAFE = (
    "sphinx_multitoc_numbering",
    "sphinx-mathjax-offline",
    "sphinx_jupyterbook_latex",
)


def declare_parallel_reading(app: Sphinx) -> None:
    for name in UNDECLARED_BUT_SAFE:
        if name in app.extensions:
            app.extensions[name].parallel_read_safe = True


def create_execution_cache(app: Sphinx) -> None:
    """Create jupyter-cache's database before the parallel readers start: each would
    otherwise find it missing and create its tables, and all but one fail."""
    config = app.env.mystnb_config
    if config.execution_mode == "cache":
        get_cache(config.execution_cache_path).db.dispose()  # `db` creates the tables


# --- benchmark tables ------------------------------------------------------------------------

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
"""The committed benchmark results the book's tables are read from."""
SUMMARY_ROWS = 5
"""Rows of the landing page's summary: the best models of the full ranking."""
RANKING_METRICS = ["hr@10", "ndcg@10", "map@10", "mrr", "auc"]
"""Shown columns; recall@10 = HR@10 and precision@10 = HR@10 / 10 with one held-out item."""


def _interval(row: pd.Series) -> str:
    return f"{row['mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"


def redundant_metric_problems(frame: pd.DataFrame) -> list[str]:
    """Rows where recall@10 differs from HR@10 or precision@10 from HR@10 / 10."""
    wide = frame.pivot_table(index=["model", "protocol"], columns="metric", values="mean")
    problems = []
    for name, factor in (("recall@10", 1.0), ("precision@10", 0.1)):
        gap = (wide[name] - factor * wide["hr@10"]).abs()
        problems += [f"{name} of {key} is not {factor} x HR@10" for key in gap[gap > 1e-6].index]
    return problems


def fallback_problem(frame: pd.DataFrame) -> str:
    """What contradicts the Benchmarks page's fallbacks column ("" if nothing): models
    that know only ids share a fold's count (they share the folds); FM and DeepFM score
    unseen films from release-time features, so they have none."""
    from reclearn.registry import FEATURE_MODELS

    reads_features = frame["model"].str.rsplit("-", n=1).str[0].isin(FEATURE_MODELS)
    id_only = frame[~reads_features]
    if id_only.groupby("fold")["num_fallback"].nunique().max() > 1:
        return "id-only models of one fold differ in fallbacks"
    if (frame.loc[reads_features, "num_fallback"] != 0).any():
        return "a model that reads release-time features fell back"
    return ""


def ranking_rows(frame: pd.DataFrame, protocol: str) -> tuple[list[str], list[list[str]]]:
    """model | backend | each metric as mean [95% interval] | fit (s)."""
    part = frame[frame["protocol"] == protocol]
    rows = []
    for (model, backend), cells in part.groupby(["model", "backend"], sort=False):
        cells = cells.set_index("metric")
        values = [_interval(cells.loc[m]) for m in RANKING_METRICS]
        rows.append([model, backend, *values, f"{cells['fit_s'].iloc[0]:.2f}"])
    return ["model", "backend", *RANKING_METRICS, "fit (s)"], rows


def mf_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """model | backend | RMSE | MAE | fit (s) | fallbacks: mean ± std over folds."""
    stats = frame.groupby(["model", "backend"], sort=False).agg(["mean", "std"])
    stats = stats.sort_values(("rmse", "mean"))
    rows = []
    for (model, backend), row in stats.iterrows():
        cells = [model, backend]
        for column, digits in (("rmse", 4), ("mae", 4), ("fit_s", 2)):
            mean, std = row[(column, "mean")], row[(column, "std")]
            cells.append(f"{mean:.{digits}f}" + ("" if pd.isna(std) else f" ± {std:.{digits}f}"))
        cells.append(f"{row[('num_fallback', 'mean')]:.0f}")
        rows.append(cells)
    return ["model", "backend", "RMSE", "MAE", "fit (s)", "fallbacks"], rows


def summary_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The best models by full-ranking NDCG@10, one row per model (twins agree)."""
    full = frame[(frame["protocol"] == "full") & (frame["metric"] == "ndcg@10")]
    best = full.sort_values("mean", ascending=False).drop_duplicates("mean")
    rows = [[r["model"], _interval(r)] for _, r in best.head(SUMMARY_ROWS).iterrows()]
    return ["model", "NDCG@10 [95% interval]"], rows


class BenchmarkTable(SphinxDirective):
    """``{benchmark-table} ranking`` with ``:protocol: full``; ``mf``; ``summary``."""

    required_arguments = 1
    option_spec = {"protocol": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        kind = self.arguments[0]
        name = "ranking" if kind == "summary" else kind
        path = RESULTS / f"{name}.csv"
        if not path.is_file():
            raise self.error(f"benchmark-table: no {path}")
        self.env.note_dependency(str(path))
        frame = pd.read_csv(path)
        if name.startswith("ranking"):
            problems = redundant_metric_problems(frame)
            if problems:
                raise self.error("benchmark-table: " + "; ".join(problems))
        problem = fallback_problem(frame) if name.startswith("mf") else ""
        if problem:
            raise self.error(f"benchmark-table: {problem}")
        if kind == "summary":
            header, rows = summary_rows(frame)
        elif name.startswith("ranking"):
            header, rows = ranking_rows(frame, self.options.get("protocol", "full"))
        else:
            header, rows = mf_rows(frame)
        cells = [[nodes.paragraph(text=c) for c in row] for row in rows]
        table = _table(header, cells, "reclearn-benchmark")
        if kind == "summary" or self.options.get("protocol") == "sampled":
            return [table]
        return [nodes.paragraph(text=run_description(path.with_suffix(".md"))), table]


def run_description(path: Path) -> str:
    """The first paragraph of a benchmark's Markdown report: data, split, machine, date."""
    if not path.is_file():
        return ""
    return path.read_text(encoding="utf-8").split("\n\n", 1)[0].replace("`", "")


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", declare_parallel_reading)
    app.connect("builder-inited", create_execution_cache, priority=900)  # after myst-nb
    app.add_node(chapter_run_times)
    app.add_directive("chapter-run-times", ChapterRunTimes)
    app.add_post_transform(RunTimesTransform)
    app.add_directive("benchmark-table", BenchmarkTable)
    app.add_role("notebook-zip", notebook_zip_role)
    app.connect("html-page-context", add_notebook_to_context, priority=400)
    app.connect("html-page-context", drop_duplicate_scripts, priority=450)
    app.connect("doctree-resolved", add_download_line)
    app.connect("build-finished", copy_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
