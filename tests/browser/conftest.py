"""Browser tests: a screenshot of the page in test-results/ when one fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.when != "call" or not report.failed or page is None:
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / (re.sub(r"[^\w.-]+", "_", item.nodeid).strip("_") + ".png")
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:  # a dead browser must not hide the real failure
        report.sections.append(("screenshot", f"could not save a screenshot: {exc}"))
    else:
        report.sections.append(("screenshot", f"saved {path}"))
