"""Two people changing the same lead at once: the second is told to reload, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from leads import services
from leads.models import Activity, Lead, LeadError, StageChange, StaleLead
from tests.factories import LeadFactory

STALE_MESSAGE = "changed by someone else"


def two_copies(lead: Lead) -> tuple[Lead, Lead]:
    return Lead.objects.get(pk=lead.pk), Lead.objects.get(pk=lead.pk)


def at_once(work: Callable[[Lead], None], leads: Sequence[Lead], timeout: float = 60) -> None:
    """Run `work` on each lead in a thread of its own, all at once, and wait for them."""
    threads = [threading.Thread(target=work, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


def test_stale_copy_cannot_run_a_transition(rep):
    first, second = two_copies(LeadFactory(stage="working", owner=rep))

    services.run_transition(first, "accept", by=rep, note="Budget confirmed")
    with pytest.raises(StaleLead, match="Reload"):
        services.run_transition(second, "nurture", by=rep, return_on="2999-01-01")

    saved = Lead.objects.get(pk=first.pk)
    assert (saved.stage, saved.version, saved.nurture_until) == ("sql", 2, None)
    assert list(StageChange.objects.filter(lead=saved).values_list("to_stage", "note")) == [
        ("sql", "Budget confirmed")
    ]


def test_touch_on_an_older_copy_is_appended_to_the_newer_lead(rep):
    first, second = two_copies(LeadFactory(stage="working", owner=rep, title="CFO"))

    services.run_transition(first, "accept", by=rep)
    touch = services.log_touch(second, by=rep, kind="call")

    saved = Lead.objects.get(pk=first.pk)
    assert (saved.stage, saved.title, saved.version) == ("sql", "CFO", 3)
    assert saved.first_touch_at == touch.occurred_at


def test_sales_touch_on_a_lead_closed_meanwhile_is_refused(rep, marketer):
    first, second = two_copies(LeadFactory(stage="mql", owner=rep))

    services.run_transition(first, "disqualify", by=marketer, reason="Duplicate")
    with pytest.raises(LeadError, match="closed"):
        services.log_touch(second, by=rep, kind="call")

    saved = Lead.objects.get(pk=first.pk)
    assert (saved.stage, saved.first_touch_at) == ("disqualified", None)
    assert not Activity.objects.filter(lead=saved).exists()


def test_stale_lead_is_a_lead_error_with_a_clear_message():
    error = StaleLead()
    assert isinstance(error, LeadError)
    assert STALE_MESSAGE in str(error)
    assert "nothing was saved" in str(error)


def test_caller_copy_keeps_working_after_a_service_call(rep):
    lead = LeadFactory(stage="working", owner=rep)
    services.run_transition(lead, "accept", by=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="100")
    assert Lead.objects.get(pk=lead.pk).version == 3


def test_failed_save_does_not_make_the_copy_stale(rep):
    """A save refused by the database leaves the version as loaded, so a retry works."""
    taken = LeadFactory(stage="mql", owner=rep)
    lead = Lead.objects.get(pk=LeadFactory(stage="mql", owner=rep).pk)
    lead.email = taken.email
    with pytest.raises(IntegrityError), transaction.atomic():
        lead.save()
    assert lead.version == 1
    lead.email = "free@example.com"
    lead.save()
    assert Lead.objects.get(pk=lead.pk).version == 2


# --- A stale form on the lead page ----------------------------------------------


def test_stale_transition_form_is_refused_with_a_clear_message(client, rep):
    lead = LeadFactory(stage="working", owner=rep)
    loaded_version = lead.version
    services.run_transition(lead, "accept", by=rep, note="by the other tab")
    client.force_login(rep)

    response = client.post(
        reverse("leads:transition", args=[lead.pk]),
        {"name": "nurture", "version": loaded_version, "return_on": "2999-01-01"},
    )

    assert response.status_code == 409
    assert STALE_MESSAGE in response.content.decode()
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.version, saved.nurture_until) == ("sql", 2, None)
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_touch_form_from_before_a_nurture_move_is_logged(client, rep, marketer):
    lead = LeadFactory(stage="mql", owner=rep)
    loaded_version = lead.version
    services.run_transition(lead, "nurture", by=marketer, return_on="2999-01-01")
    client.force_login(rep)

    response = client.post(
        reverse("leads:touch", args=[lead.pk]),
        {"kind": "call", "subject": "Intro", "version": loaded_version},
    )

    assert response.status_code == 302
    saved = Lead.objects.get(pk=lead.pk)
    assert saved.stage == "working"
    assert Activity.objects.get(lead=lead, is_touch=True).subject == "Intro"


# --- Two real threads ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_people_racing_the_same_transition_only_one_wins(rep):
    lead = LeadFactory(stage="working", owner=rep)
    copies = two_copies(lead)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(copy: Lead) -> None:
        try:
            start.wait(timeout=10)
            services.run_transition(copy, "accept", by=rep)
            outcomes.append("done")
        except StaleLead:
            outcomes.append("stale")
        except LeadError as exc:
            outcomes.append(f"refused: {exc}")
        finally:
            connection.close()

    at_once(accept, copies, timeout=30)

    assert sorted(outcomes) == ["done", "stale"]
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.version) == ("sql", 2)
    assert StageChange.objects.filter(lead=lead).count() == 1


@pytest.mark.django_db(transaction=True)
def test_threads_refreshing_leads_at_once_never_trip_the_stage_protection():
    # A threaded server or worker (runserver, the worker's thread pool, gunicorn's
    # threads) refreshes leads in several threads at once. django-fsm-2 turns the stage
    # field's protection off and on around a refresh, on the field object every thread
    # shares: one thread re-protecting it under another's refresh made that refresh fail
    # with "Direct stage modification is not allowed" (a 500 on a touch under load).
    leads = [LeadFactory(stage="working") for _ in range(4)]
    start = threading.Barrier(len(leads))
    failures: list[str] = []
    refreshed: list[str] = []

    def refresh_again_and_again(lead: Lead) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(300):
                lead.refresh_from_db()
            refreshed.append(lead.stage)
        except Exception as exc:  # any failure in a thread is the finding
            failures.append(repr(exc))
        finally:
            connection.close()

    at_once(refresh_again_and_again, leads)

    assert failures == []
    assert refreshed == ["working"] * len(leads)
    # The protection still holds afterwards: a stage changes only through a transition.
    with pytest.raises(AttributeError, match="modification is not allowed"):
        leads[0].stage = "sql"
