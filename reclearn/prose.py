"""Words chosen from values, for sentences the chapters glue from their results.

Introduced in chapter "Evaluation".
"""

from __future__ import annotations


def listing(names) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``; ``""`` for no names."""
    names = [str(name) for name in names]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
