"""Python's memory machinery, as Accord's bulk work uses it."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def bulk_phase() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while bulk work runs: an import reading,
    cleaning or writing a file, an SLA check breaching thousands of clocks at once.

    Such work keeps a few objects per row alive until it ends, and each collection of
    the oldest generation walks all of them again, with every object of the process: a
    tenth to a fifth of an import's time, 0.1–0.2 s of a check of 10,000 clocks. Neither
    makes reference cycles; whatever others leave meanwhile is collected once the
    collector is back on (only if it was on before).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
