"""`manage.py bench --list`: the sections, in the order a full run measures them."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command


def test_list_names_every_section_in_run_order():
    out = io.StringIO()

    call_command("bench", "--list", stdout=out)

    names = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert names == ["import", "sla", "pages", "reports", "search", "duplicates", "load"]


def test_an_unknown_section_is_refused_before_any_data_is_made():
    with pytest.raises(CommandError, match="Unknown section"):
        call_command("bench", "imports")
