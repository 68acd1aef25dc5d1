"""``jupyter-book build`` with Sphinx reading, and so executing, chapters in parallel.

jupyter-book 1 has no option for Sphinx's ``-j``; this passes it through. A chapter's
kernel keeps about one core busy, so on 2 cores four reading processes (``BOOK_JOBS``,
default 4) build the book in about half the serial time. Arguments are those of
``jupyter-book``: ``python _ext/build_book.py build . -W -n``.
"""

import functools
import os
import sys
from pathlib import Path

import jupyter_book.sphinx
import sphinx.builders
from jupyter_book.cli.main import main
from jupyter_client.connect import ConnectionFileMixin


def source_size(docname: str) -> int:
    """Bytes of a document's source, the build's rough guess of its execution time."""
    return sum(path.stat().st_size for path in Path().glob(f"{docname}.*"))


def one_document_per_process(docnames, nproc, maxbatch=10):
    """Sphinx hands each process a batch of documents in name order, so slow chapters
    can queue in one batch (a CI build read Challenges, Content-based, Data and Deep CF
    one after another: 13 of its 13 minutes); one document per process instead, the
    largest sources first."""
    return [[name] for name in sorted(docnames, key=source_size, reverse=True)]


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


def kernels_on_unix_sockets() -> None:
    """Start each kernel on Unix sockets named after its own connection file. Over TCP a
    reading process picks free ports by binding and releasing them, and two processes
    starting kernels at the same moment can be handed the same port (a build died of
    "ZMQError: Address already in use")."""
    ConnectionFileMixin.transport.default_value = "ipc"


jobs = int(os.environ.get("BOOK_JOBS", "4"))
share_the_cores(jobs)
kernels_on_unix_sockets()
jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx, jobs=jobs)
sphinx.builders.make_chunks = one_document_per_process
sys.exit(main())
