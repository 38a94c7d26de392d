"""What a benchmark section gets (BenchContext) and what it returns (BenchResult rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .data import Dataset


@dataclass
class BenchResult:
    """One measured figure, with an optional target and whether it was met."""

    section: str
    name: str
    value: float
    unit: str
    note: str = ""
    target: str = ""
    passed: bool | None = None
    profile: str = ""  # why it took that long (printed when a target is missed)


@dataclass
class BenchContext:
    """One section run: the data set it measures on and the workload's size and repeats.

    `workload_leads` is the main run's size also in the 1/10 run, so the SLA check arms
    the same number of clocks and the pages look at a rep with the same queue on both.
    """

    dataset: Dataset
    workload_leads: int
    rows: int  # rows in the import file
    sample: int  # rows the stock import-export resource is timed on
    runs: int
    suffix: str  # appended to figure names (" @1/10" in the scaling run)
    out: Callable[[str], None]


Section = Callable[[BenchContext], list[BenchResult]]
