"""Tests that need settings imported as production imports them (DJANGO_ENV=production).

`make test` runs them in a process of their own with production values; in the
development pass, where settings were imported with DEBUG on, they are skipped.
"""

from __future__ import annotations

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings.PRODUCTION:
        return
    skip = pytest.mark.skip(reason="needs DJANGO_ENV=production (make test runs it so)")
    for item in items:
        if "tests/production/" in str(item.path):
            item.add_marker(skip)
