"""Reports take turns: at most REPORTS_AT_ONCE are worked out at once, across processes on
Postgres (advisory locks) and across threads on SQLite; one that waits too long says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.urls import reverse

from config.db import NoTurn, at_most_parallel_workers, in_turns
from reports import views
from reports.tables import REPORTS


class Holder:
    """A thread with a connection of its own that takes a turn and keeps it until released."""

    def __init__(self, name: str, at_once: int) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(name, at_once))
        self.thread.start()
        assert self.held.wait(timeout=10), "the holder never got its turn"

    def _run(self, name: str, at_once: int) -> None:
        try:
            with in_turns(name, at_once, wait=5):
                self.held.set()
                self.release.wait(timeout=30)
        finally:
            connection.close()

    def done(self) -> None:
        self.release.set()
        self.thread.join(timeout=10)


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        holder.done()


def took_a_turn(name: str, at_once: int, wait: float) -> bool:
    try:
        with in_turns(name, at_once, wait=wait):
            return True
    except NoTurn:
        return False


@pytest.mark.django_db(transaction=True)
def test_a_second_block_waits_for_the_turn_then_gives_up(holders):
    holders.append(Holder("one-turn", 1))

    started = time.monotonic()
    assert not took_a_turn("one-turn", 1, wait=0.3)
    waited = time.monotonic() - started

    assert 0.25 <= waited < 5  # it waited its whole wait, not longer
    holders.pop().done()
    assert took_a_turn("one-turn", 1, wait=0.3)  # the turn is free again


@pytest.mark.django_db(transaction=True)
def test_as_many_blocks_as_turns_run_together(holders):
    holders.append(Holder("two-turns", 2))

    assert took_a_turn("two-turns", 2, wait=0.2)  # the second turn is free
    holders.append(Holder("two-turns", 2))
    assert not took_a_turn("two-turns", 2, wait=0.2)  # both taken
    assert took_a_turn("other-name", 1, wait=0.2)  # other names have turns of their own


@pytest.mark.django_db(transaction=True)
def test_no_limit_takes_no_turn(holders):
    holders.append(Holder("unlimited", 1))

    assert took_a_turn("unlimited", 0, wait=0)


@pytest.mark.django_db(transaction=True)
def test_a_report_that_gets_no_turn_says_so_and_loses_nothing(client, manager, settings, holders):
    settings.REPORTS_AT_ONCE, settings.REPORT_WAIT_SECONDS = 1, 0.3
    client.force_login(manager)
    page = reverse("reports:report", args=["sales"])
    export = reverse("reports:export", args=["sales", "csv"])
    holders.append(Holder("reports", 1))

    drill = reverse("reports:drilldown", args=["sales"]) + "?metric=assigned"

    busy = client.get(page, {"start": "2026-03-01", "end": "2026-03-31"})
    busy_export = client.get(export)
    busy_drill = client.get(drill)

    assert busy.status_code == busy_export.status_code == busy_drill.status_code == 503
    assert busy["Retry-After"] == "30"
    html = busy.content.decode()
    assert "did not get its turn in time" in html
    assert 'href="/reports/sales/?start=2026-03-01&amp;end=2026-03-31"' in html  # try again
    holders.pop().done()
    assert client.get(page).status_code == 200
    assert client.get(export).status_code == 200
    assert client.get(drill).status_code == 200


def parallel_workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no parallel workers")
@pytest.mark.django_db(transaction=True)
def test_a_report_transaction_uses_at_most_its_parallel_workers(settings):
    server = parallel_workers()
    with at_most_parallel_workers(0):
        assert parallel_workers() == "0"
    with at_most_parallel_workers(None):  # None: the server's setting
        assert parallel_workers() == server
    assert parallel_workers() == server  # only for that transaction

    # The reports' views work their figures out under the cap.
    settings.REPORTS_AT_ONCE, settings.REPORT_PARALLEL_WORKERS = 1, 0
    with views._in_turn(REPORTS["sales"]):
        assert parallel_workers() == "0"
    assert parallel_workers() == server


@pytest.mark.django_db(transaction=True)
def test_reports_of_small_tables_take_no_turn(client, manager, settings, holders):
    settings.REPORTS_AT_ONCE, settings.REPORT_WAIT_SECONDS = 1, 0.3
    client.force_login(manager)
    holders.append(Holder("reports", 1))

    for key in ("trends", "content"):
        assert client.get(reverse("reports:report", args=[key])).status_code == 200
    assert client.get(reverse("reports:report", args=["delivery"])).status_code == 503
