"""``jupyter-book build`` with Sphinx reading, and so executing, chapters in parallel.

jupyter-book 1 has no option for Sphinx's ``-j``; this passes it through. A chapter's
kernel keeps about one core busy, so on 2 cores four reading processes (``BOOK_JOBS``,
default 4) build the book in about half the serial time. Arguments are those of
``jupyter-book``: ``python _ext/build_book.py build . -W -n``.
"""

import fcntl
import functools
import os
import sys
import tempfile
from pathlib import Path

import jupyter_book.sphinx
import sphinx.builders
from jupyter_book.cli.main import main
from nbclient import NotebookClient

SLOWEST_FIRST = (
    "chapters/content-based",
    "chapters/challenges",
    "chapters/deep-collaborative-filtering",
    "chapters/evaluation",
    "chapters/matrix-factorization",
    "chapters/applications",
    "chapters/scaling-out",
)
"""Chapters by execution time in a full build on 2 cores (2026-12-03: 489, 418, 361,
244, 224, 223 and 142 s; every other chapter under a minute)."""


def expected_order(docname: str) -> tuple[int, int]:
    """Sort key: the slow chapters in ``SLOWEST_FIRST`` order, then the rest by the
    size of their source, largest first."""
    rank = SLOWEST_FIRST.index(docname) if docname in SLOWEST_FIRST else len(SLOWEST_FIRST)
    size = sum(path.stat().st_size for path in Path().glob(f"{docname}.*"))
    return rank, -size


def one_document_per_process(docnames, nproc, maxbatch=10):
    """Sphinx hands each process a batch of documents in name order, so slow chapters
    can queue in one batch (a CI build read Challenges, Content-based, Data and Deep CF
    one after another: 13 of its 13 minutes); one document per process instead, the
    slowest first, so that no long chapter starts last and runs alone."""
    return [[name] for name in sorted(docnames, key=expected_order)]


def share_the_cores(jobs: int) -> None:
    """Give each chapter's kernel cores // jobs threads (at least one). Every reading
    process runs a kernel, and four kernels whose PyTorch, TensorFlow and BLAS pools each
    size themselves to the whole machine spend the two cores switching between threads
    and spinning in each other's way. Variables already set are kept."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    ):
        os.environ.setdefault(name, threads)


KERNEL_START_LOCK = Path(tempfile.gettempdir()) / "reclearn-book-kernel-start.lock"


def one_kernel_start_at_a_time() -> None:
    """Start kernels one at a time across the reading processes. A kernel's ports are
    picked by binding free ones and releasing them for the kernel to bind, and two
    processes starting kernels at the same moment can be handed the same port (a build
    died of "ZMQError: Address already in use"). A file lock, held from picking the
    ports until the kernel answers, closes that window."""
    start_kernel = NotebookClient.async_start_new_kernel
    start_client = NotebookClient.async_start_new_kernel_client

    def release(client) -> None:
        lock = client.__dict__.pop("_start_lock", None)
        if lock is not None:
            lock.close()  # closing the file releases its lock

    async def locked_start_kernel(self, **kwargs):
        self._start_lock = KERNEL_START_LOCK.open("w")
        fcntl.flock(self._start_lock, fcntl.LOCK_EX)
        try:
            await start_kernel(self, **kwargs)
        except BaseException:
            release(self)
            raise

    async def released_start_client(self):
        try:
            return await start_client(self)
        finally:
            release(self)

    NotebookClient.async_start_new_kernel = locked_start_kernel
    NotebookClient.async_start_new_kernel_client = released_start_client


if __name__ == "__main__":
    jobs = int(os.environ.get("BOOK_JOBS", "4"))
    share_the_cores(jobs)
    one_kernel_start_at_a_time()
    build = jupyter_book.sphinx.build_sphinx
    jupyter_book.sphinx.build_sphinx = functools.partial(build, jobs=jobs)
    sphinx.builders.make_chunks = one_document_per_process
    sys.exit(main())
