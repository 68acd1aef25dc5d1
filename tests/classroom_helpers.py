"""Import ``assignments/classroom.py`` (a script, not a package) for the classroom tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_classroom():
    """The ``assignments/classroom.py`` module, imported once."""
    if "classroom" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "classroom", ROOT / "assignments" / "classroom.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["classroom"] = module
        spec.loader.exec_module(module)
    return sys.modules["classroom"]
