"""Helpers shared by the workspace view tests."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def lead_ids_in_order(html: str) -> list[int]:
    """The lead ids of a rendered lead table, top to bottom."""
    return [int(m) for m in re.findall(r'<tr data-lead="(\d+)"', html)]


def assert_constant_queries(django_assert_num_queries, make_more: Callable[[], None], get):
    """Count the queries of `get()`, add data with `make_more()`, and assert the same count."""
    with CaptureQueriesContext(connection) as small:
        response = get()
    assert response.status_code == 200
    make_more()
    with django_assert_num_queries(len(small.captured_queries)):
        response = get()
    assert response.status_code == 200
    return response
