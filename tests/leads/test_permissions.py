"""Who may run each lifecycle action, as DESIGN.md says, on the server and in the views.

Marketing-owned moves: Marketing and Ops. Sales-owned moves: the lead's rep and the
manager of the owner's team. Out of nurture (owned by both) either side; reopen only a
manager (of the owner's team) or Ops. Marketing never moves a lead out of a sales stage.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agreements import roles
from leads import services
from leads.models import Activity, Lead, LeadError, StageChange
from tests.factories import ChannelFactory, LeadFactory, UserFactory

ACTORS = (
    "ops",
    "marketing",
    "own_rep",
    "other_rep",
    "owner_manager",
    "other_manager",
    "no_role",
    "anonymous",
)
MARKETING_SIDE = {"ops", "marketing"}
SALES_SIDE = {"own_rep", "owner_manager"}

# (action, the stage the lead is in, who may run it) — from DESIGN.md.
CASES = [
    ("mark_fan", "suspect", MARKETING_SIDE),
    ("qualify_information", "suspect", MARKETING_SIDE),
    ("qualify_information", "fan", MARKETING_SIDE),
    ("hand_raise", "iql", MARKETING_SIDE),
    ("hand_raise", "nurture", MARKETING_SIDE),
    ("start_working", "mql", SALES_SIDE),
    ("start_working", "nurture", SALES_SIDE),
    ("start_prospecting", "iql", SALES_SIDE),
    ("accept", "working", SALES_SIDE),
    ("open_opportunity", "sql", SALES_SIDE),
    ("win", "opportunity", SALES_SIDE),
    ("disqualify", "suspect", MARKETING_SIDE | SALES_SIDE),
    ("disqualify", "mql", MARKETING_SIDE | SALES_SIDE),
    ("disqualify", "working", SALES_SIDE),
    ("disqualify", "opportunity", SALES_SIDE),
    ("disqualify", "nurture", MARKETING_SIDE | SALES_SIDE),
    ("nurture", "mql", MARKETING_SIDE | SALES_SIDE),
    ("nurture", "working", SALES_SIDE),
    ("nurture", "opportunity", SALES_SIDE),
    ("reopen", "disqualified", {"ops", "owner_manager"}),
]
MATRIX = [
    (name, stage, actor, actor in allowed) for name, stage, allowed in CASES for actor in ACTORS
]


def arguments_for(name: str) -> dict[str, object]:
    if name == "disqualify":
        return {"reason": "Wrong persona"}
    if name == "nurture":
        return {"return_on": timezone.localdate() + dt.timedelta(days=30)}
    if name == "open_opportunity":
        return {"amount": "5000"}
    return {}


@pytest.fixture
def actors(ops, marketer, rep, manager, other_rep):
    return {
        "ops": ops,
        "marketing": marketer,
        "own_rep": rep,
        "other_rep": other_rep,
        "owner_manager": manager,
        "other_manager": other_rep.rep_profile.team.manager,
        "no_role": UserFactory(username="nobody"),
        "anonymous": AnonymousUser(),
    }


@pytest.fixture
def cold_channel(db):
    return ChannelFactory(slug="cold-perm", allows_cold_prospecting=True)


@pytest.mark.parametrize(
    ("name", "stage", "actor", "allowed"),
    MATRIX,
    ids=[f"{n}-from-{s}-by-{a}" for n, s, a, _ in MATRIX],
)
def test_role_may_or_may_not_run_the_action(name, stage, actor, allowed, actors, cold_channel):
    lead = LeadFactory(stage=stage, owner=actors["own_rep"], channel=cold_channel)
    user = actors[actor]
    offered = dict(services.available_transitions(lead, user))

    if allowed:
        services.run_transition(lead, name, by=user, **arguments_for(name))
        assert Lead.objects.get(pk=lead.pk).stage != stage
        assert StageChange.objects.get(lead=lead).by == user
        assert name in offered
    else:
        with pytest.raises(LeadError, match="not allowed to run"):
            services.run_transition(lead, name, by=user, **arguments_for(name))
        saved = Lead.objects.get(pk=lead.pk)
        assert (saved.stage, saved.version) == (stage, 1)
        assert not StageChange.objects.filter(lead=lead).exists()
        assert name not in offered


def test_superuser_may_run_every_move(db, cold_channel):
    root = UserFactory(username="root", is_superuser=True)
    lead = LeadFactory(stage="mql", channel=cold_channel)
    for name in ("start_working", "accept"):
        services.run_transition(lead, name, by=root)
    assert Lead.objects.get(pk=lead.pk).stage == "sql"


def test_any_manager_may_work_a_lead_on_the_desk(other_rep):
    """The lead desk holds leads nobody owns yet; managers act on them, reps do not."""
    other_manager = other_rep.rep_profile.team.manager
    lead = LeadFactory(stage="mql", owner=None)
    with pytest.raises(LeadError, match="not allowed"):
        services.run_transition(lead, "start_working", by=other_rep)
    services.run_transition(lead, "start_working", by=other_manager)
    assert Lead.objects.get(pk=lead.pk).stage == "working"


# --- Touches ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "side"),
    [
        ("own_rep", "sales"),
        ("owner_manager", "sales"),
        ("ops", "marketing"),
        ("marketing", "marketing"),
        ("other_rep", None),
        ("other_manager", None),
        ("no_role", None),
    ],
)
def test_who_may_log_a_touch_and_on_which_side(actor, side, actors):
    lead = LeadFactory(stage="mql", owner=actors["own_rep"])
    user = actors[actor]
    if side is None:
        with pytest.raises(LeadError, match="not allowed"):
            services.log_touch(lead, by=user, kind="call")
        assert not Activity.objects.filter(lead=lead).exists()
        assert Lead.objects.get(pk=lead.pk).stage == "mql"
    else:
        activity = services.log_touch(lead, by=user, kind="call")
        assert activity.side == side
        expected_stage = "working" if side == "sales" else "mql"
        assert Lead.objects.get(pk=lead.pk).stage == expected_stage


# --- The views ----------------------------------------------------------------


def offered_on_page(client: Client, lead: Lead) -> set[str]:
    """The lifecycle actions the lead page offers the signed-in user."""
    response = client.get(lead.get_absolute_url())
    assert response.status_code == 200
    return {action["name"] for action in response.context["actions"]}


def test_rep_cannot_open_another_reps_lead(client, rep, other_rep):
    lead = LeadFactory(stage="mql", owner=other_rep)
    client.force_login(rep)
    response = client.get(lead.get_absolute_url())
    assert response.status_code == 404
    # Not a dead end, and the same words as for an id that is no lead at all.
    missing = client.get(reverse("leads:detail", args=[lead.pk + 1000]))
    assert missing.status_code == 404
    for page in (response, missing):
        html = page.content.decode()
        assert "may have been given to a rep of another team" in html
        assert 'href="/notifications/"' in html
    assert lead.email not in response.content.decode()


def test_manager_cannot_open_another_teams_lead(client, rep, other_rep):
    lead = LeadFactory(stage="mql", owner=rep)
    client.force_login(other_rep.rep_profile.team.manager)
    assert client.get(lead.get_absolute_url()).status_code == 404


def test_user_without_a_role_cannot_open_a_lead(client, rep):
    lead = LeadFactory(stage="mql", owner=rep)
    client.force_login(UserFactory(username="nobody"))
    assert client.get(lead.get_absolute_url()).status_code == 404


def test_anonymous_is_sent_to_login(client, rep):
    lead = LeadFactory(stage="mql", owner=rep)
    response = client.get(lead.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_posting_a_transition_to_another_reps_lead_answers_404(client, rep, other_rep):
    lead = LeadFactory(stage="working", owner=other_rep)
    client.force_login(rep)
    response = client.post(
        reverse("leads:transition", args=[lead.pk]), {"name": "accept", "version": lead.version}
    )
    assert response.status_code == 404
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.version) == ("working", 1)


def test_posting_a_touch_to_another_reps_lead_answers_404(client, rep, other_rep):
    lead = LeadFactory(stage="mql", owner=other_rep)
    client.force_login(rep)
    response = client.post(
        reverse("leads:touch", args=[lead.pk]), {"kind": "call", "version": lead.version}
    )
    assert response.status_code == 404
    assert not Activity.objects.filter(lead=lead).exists()
    assert Lead.objects.get(pk=lead.pk).stage == "mql"


def test_rep_runs_a_transition_from_the_lead_page(client, rep):
    lead = LeadFactory(stage="working", owner=rep)
    client.force_login(rep)
    response = client.post(
        reverse("leads:transition", args=[lead.pk]),
        {"name": "accept", "version": lead.version, "note": "Budget confirmed"},
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == "sql"
    assert StageChange.objects.get(lead=lead).note == "Budget confirmed"


def test_marketing_cannot_run_a_sales_transition_from_the_lead_page(client, marketer, rep):
    lead = LeadFactory(stage="working", owner=rep)
    client.force_login(marketer)
    response = client.post(
        reverse("leads:transition", args=[lead.pk]), {"name": "accept", "version": lead.version}
    )
    assert response.status_code in (400, 403)
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.version) == ("working", 1)


def test_lead_page_offers_only_the_moves_the_user_may_run(client, marketer, rep):
    lead = LeadFactory(stage="mql", owner=rep)
    client.force_login(marketer)
    assert offered_on_page(client, lead) == {"disqualify", "nurture"}
    client.force_login(rep)
    assert offered_on_page(client, lead) == {"start_working", "disqualify", "nurture"}


def test_post_without_csrf_token_is_refused(rep):
    lead = LeadFactory(stage="working", owner=rep)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(
        reverse("leads:transition", args=[lead.pk]), {"name": "accept", "version": lead.version}
    )
    assert response.status_code == 403
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.version) == ("working", 1)


def test_touch_without_csrf_token_is_refused(rep):
    lead = LeadFactory(stage="mql", owner=rep)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(
        reverse("leads:touch", args=[lead.pk]), {"kind": "call", "version": lead.version}
    )
    assert response.status_code == 403
    assert not Activity.objects.filter(lead=lead).exists()


def test_transition_pages_refuse_get(client, rep):
    lead = LeadFactory(stage="working", owner=rep)
    client.force_login(rep)
    assert client.get(reverse("leads:transition", args=[lead.pk])).status_code == 405


def test_roles_module_names_the_four_groups():
    assert set(roles.ROLES) == {"Ops", "Marketing", "Sales rep", "Sales manager"}


def test_a_channel_that_forbids_cold_prospecting_is_said_not_refused_as_a_role(client, rep):
    # The rep may start prospecting (her role); the lead's channel does not allow it (a
    # condition), e.g. from a page opened before ops changed the channel. The answer says
    # why (422), not "you are not allowed" (403).
    lead = LeadFactory(
        owner=rep, stage="iql", channel=ChannelFactory(allows_cold_prospecting=False)
    )
    client.force_login(rep)
    response = client.post(
        reverse("leads:transition", args=[lead.pk]),
        {"name": "start_prospecting", "version": lead.version, "stage": lead.stage},
    )
    assert response.status_code == 422
    assert "does not allow cold prospecting" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == "iql"


def test_may_run_is_the_role_alone(rep, marketer):
    lead = LeadFactory(
        owner=rep, stage="iql", channel=ChannelFactory(allows_cold_prospecting=False)
    )
    assert services.may_run(lead, "start_prospecting", rep)
    assert not services.may_run(lead, "start_prospecting", marketer)
    assert not services.may_run(lead, "accept", rep)  # not from IQL
