"""``jupyter-book build`` with Sphinx reading, and so executing, chapters in parallel.

jupyter-book 1 has no option for Sphinx's ``-j``; this passes it through. A chapter's
kernel keeps about one core busy, so on 2 cores four reading processes (``BOOK_JOBS``,
default 4) build the book in about half the serial time. Arguments are those of
``jupyter-book``: ``python _ext/build_book.py build . -W -n``.
"""

import functools
import os
import sys

import jupyter_book.sphinx
from jupyter_book.cli.main import main

jobs = int(os.environ.get("BOOK_JOBS", "4"))
jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx, jobs=jobs)
sys.exit(main())
