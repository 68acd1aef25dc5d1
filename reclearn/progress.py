"""One progress helper for terminals, notebooks and the built book."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator


def _plain() -> bool:
    """Plain mode: one final line instead of a live bar (the book build, CI, pipes)."""
    if os.environ.get("RECLEARN_PLAIN_PROGRESS"):
        return True
    return not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())


class progress:
    """Iterate with a progress bar; in plain mode print one summary line at the end.

    ``bar.set_postfix(loss=0.81)`` shows the latest values in either mode.

    Introduced in chapter "Matrix factorization".
    """

    def __init__(
        self,
        iterable: Iterable,
        desc: str = "",
        total: int | None = None,
        unit: str = "it",
        enabled: bool = True,
    ):
        self.iterable = iterable
        self.desc = desc
        self.total = total if total is not None else _len(iterable)
        self.unit = unit
        self.enabled = enabled
        self.postfix: dict[str, float] = {}
        self._bar = None
        if enabled and not _plain():
            from tqdm import tqdm

            self._bar = tqdm(iterable, desc=desc, total=self.total, unit=unit, leave=True)

    def __iter__(self) -> Iterator:
        start = time.perf_counter()
        count = 0
        try:
            for item in self._bar if self._bar is not None else self.iterable:
                count += 1
                yield item
        finally:  # also when the loop stops early
            if self._bar is not None:
                self._bar.close()
            elif self.enabled:
                done = f"{count}/{self.total}" if self.total else f"{count}"
                extra = "".join(f", {k} {_fmt(v)}" for k, v in self.postfix.items())
                seconds = time.perf_counter() - start
                print(f"{self.desc}: {done} {self.unit} in {seconds:.1f} s{extra}", flush=True)

    def set_postfix(self, **values: float) -> None:
        self.postfix = values
        if self._bar is not None:
            self._bar.set_postfix({k: _fmt(v) for k, v in values.items()}, refresh=False)


def _len(iterable) -> int | None:
    try:
        return len(iterable)
    except TypeError:
        return None


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
