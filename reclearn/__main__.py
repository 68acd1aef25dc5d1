"""``python -m reclearn``: the command line of :mod:`reclearn.cli`."""

import sys

from reclearn.cli import main

sys.exit(main())
