"""The agreement binds: a signature covers the version's whole content, words included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from agreements import content as signed_content
from agreements import roles, services
from agreements.models import (
    Agreement,
    AgreementError,
    BusinessCalendar,
    Holiday,
    ResponseRule,
    StageDefinition,
    Term,
)
from agreements.queries import touch_kinds_text
from agreements.touches import DEFAULT_TOUCH_KINDS
from notifications.models import Notification
from tests.agreements.factories import (
    AgreementFactory,
    HolidayFactory,
    MarketingCommitmentFactory,
    ResponseRuleFactory,
    TouchGoalFactory,
    signed_and_active,
)
from tests.agreements.test_admin import _inline_management, admin_url
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    agreement = AgreementFactory()
    ResponseRuleFactory(agreement=agreement)
    TouchGoalFactory(agreement=agreement)
    MarketingCommitmentFactory(agreement=agreement)
    HolidayFactory(calendar=agreement.calendar, date=dt.date(2026, 12, 25))
    return agreement


@pytest.fixture
def signed(draft, marketer, manager):
    services.sign(draft, marketer, "marketing")
    services.sign(draft, manager, "sales")
    draft.refresh_from_db()
    assert draft.is_fully_signed
    return draft


@pytest.fixture
def active(signed, ops):
    return services.activate(signed, by=ops)


def _change_rule(agreement):
    rule = agreement.rules.get()
    rule.within_amount = 2
    rule.save()


def _change_commitment(agreement):
    commitment = agreement.commitments.get()
    commitment.mqls += 1
    commitment.save()


def _change_threshold(agreement):
    agreement = Agreement.objects.get(pk=agreement.pk)
    agreement.untouched_days_1 = 20
    agreement.save()


def _narrow_touch_kinds(agreement):
    agreement = Agreement.objects.get(pk=agreement.pk)
    agreement.touch_kinds = ["call", "meeting"]
    agreement.save()


def _change_goal(agreement):
    goal = agreement.touch_goals.get()
    goal.touches = 9
    goal.save()


def _change_calendar_hours(agreement):
    calendar = BusinessCalendar.objects.get(pk=agreement.calendar_id)
    calendar.workday_end = dt.time(16)
    calendar.save()


def _add_holiday(agreement):
    Holiday.objects.create(calendar_id=agreement.calendar_id, date=dt.date(2026, 12, 26), name="x")


def _delete_holiday(agreement):
    Holiday.objects.get(calendar_id=agreement.calendar_id).delete()


def _change_term(agreement):
    term = agreement.terms.get(name="Marketing Qualified Lead")
    term.definition = "A typo fixed, still a change."
    term.save()


def _change_definition(agreement):
    definition = agreement.definitions.get(stage="sql")
    definition.conditions = "Reworded."
    definition.save()


def _delete_rule(agreement):
    agreement.rules.get().delete()


CHANGES = {
    "rule": _change_rule,
    "rule deleted": _delete_rule,
    "commitment": _change_commitment,
    "threshold": _change_threshold,
    "goal": _change_goal,
    "touch kinds": _narrow_touch_kinds,
    "calendar hours": _change_calendar_hours,
    "holiday added": _add_holiday,
    "holiday deleted": _delete_holiday,
    "term": _change_term,
    "stage definition": _change_definition,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_any_change_to_a_signed_draft_clears_both_signatures(signed, change):
    change(signed)
    signed.refresh_from_db()
    assert signed.marketing_signed_by is None and signed.sales_signed_by is None
    assert signed.marketing_signed_digest == signed.sales_signed_digest == ""
    assert signed.signatures_cleared_at is not None
    assert signed.signatures_cleared_because


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_any_change_to_an_active_version_is_refused(active, change):
    before = active.content_digest()
    with pytest.raises(AgreementError, match="active"):
        change(active)
    assert Agreement.objects.get(pk=active.pk).content_digest() == before


def test_saving_a_part_unchanged_keeps_the_signatures(signed):
    signed.rules.get().save()
    signed.refresh_from_db()
    assert signed.is_fully_signed


def test_the_reason_names_what_changed(signed):
    _change_term(signed)
    signed.refresh_from_db()
    assert "Glossary term “Marketing Qualified Lead (MQL)” was changed" in (
        signed.signatures_cleared_because
    )


# --- Through the admin ---------------------------------------------------------------------


def _post_change(client, obj, **values):
    """Post an admin change form as it is, with `values` changed; return the response."""
    url = admin_url(type(obj), "change", obj.pk)
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if hasattr(value, "pk"):
            value = value.pk
        if value is not None and value is not False:
            data[name] = value
    data.update(_inline_management(page))
    data.update(values)
    return client.post(url, data, follow=True)


ADMIN_CHANGES = {
    "rule": lambda a: (a.rules.get(), {"within_amount": 2}),
    "threshold": lambda a: (a, {"untouched_days_1": 20}),
    "calendar hours": lambda a: (a.calendar, {"workday_end": "16:00"}),
    "holiday": lambda a: (a.calendar.holidays.get(), {"name": "Christmas"}),
    "term": lambda a: (a.terms.get(name="Lead"), {"definition": "Reworded in the admin."}),
    "stage definition": lambda a: (
        a.definitions.get(stage="working"),
        {"conditions": "Reworded in the admin."},
    ),
}


@pytest.mark.parametrize("pick", ADMIN_CHANGES.values(), ids=ADMIN_CHANGES.keys())
def test_admin_change_to_a_signed_draft_clears_both_signatures(client, ops, signed, pick):
    client.force_login(ops)
    obj, values = pick(signed)
    response = _post_change(client, obj, **values)
    assert "signatures were removed" in response.content.decode()
    signed.refresh_from_db()
    assert not signed.is_signed_by_anyone


def test_admin_change_to_a_commitment_and_goal_inline_clears_signatures(client, ops, signed):
    client.force_login(ops)
    page = client.get(admin_url(Agreement, "change", signed.pk))
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data.update(_inline_management(page))
    data["calendar"] = signed.calendar_id
    goal_prefix = next(k for k in data if k.endswith("-0-touches")).rsplit("-0-", 1)[0]
    data[f"{goal_prefix}-0-touches"] = 9
    response = client.post(admin_url(Agreement, "change", signed.pk), data, follow=True)
    assert "signatures were removed" in response.content.decode()
    signed.refresh_from_db()
    assert not signed.is_signed_by_anyone
    assert signed.touch_goals.get().touches == 9


@pytest.mark.parametrize(
    "model", [ResponseRule, BusinessCalendar, Holiday, Term, StageDefinition], ids=str
)
def test_admin_shows_an_active_versions_parts_read_only(client, ops, active, model):
    obj = {
        ResponseRule: lambda: active.rules.get(),
        BusinessCalendar: lambda: active.calendar,
        Holiday: lambda: active.calendar.holidays.get(),
        Term: lambda: active.terms.first(),
        StageDefinition: lambda: active.definitions.first(),
    }[model]()
    client.force_login(ops)
    url = admin_url(model, "change", obj.pk)
    html = client.get(url).content.decode()
    assert 'name="_save"' not in html
    assert client.post(url, {}).status_code == 403


# --- Digests ---------------------------------------------------------------------------------


def test_each_signature_stores_the_digest_of_the_content_it_signed(active):
    digest = active.content_digest()
    assert len(digest) == 64
    assert active.marketing_signed_digest == active.sales_signed_digest == digest
    assert active.signatures_verify()


def test_every_kind_of_touch_reads_as_signed_before_ops_could_choose(active):
    # A version that counts every kind (every one signed before the choice existed) has the
    # content it was signed with; narrowing the kinds is part of what a signature covers.
    assert "touch_kinds" not in signed_content.content(active)
    Agreement.objects.filter(pk=active.pk).update(touch_kinds=["call", "email"])
    narrowed = Agreement.objects.get(pk=active.pk)
    assert signed_content.content(narrowed)["touch_kinds"] == ["call", "email"]
    assert not narrowed.signatures_verify()


def test_the_touch_kinds_are_some_of_the_known_ones_in_their_order(draft):
    draft.touch_kinds = ["meeting", "call"]
    draft.full_clean()
    assert draft.touch_kinds == ["call", "meeting"]
    for wrong in ([], ["note"], ["call", "fax"], "call"):
        draft.touch_kinds = wrong
        with pytest.raises(ValidationError, match="at least one kind"):
            draft.full_clean()


def test_no_stored_touch_kinds_reads_as_every_kind_everywhere(active):
    Agreement.objects.filter(pk=active.pk).update(touch_kinds=[])
    stored = Agreement.objects.get(pk=active.pk)
    assert stored.counted_touch_kinds() == list(DEFAULT_TOUCH_KINDS)
    assert stored.counts_as_touch("social") and not stored.counts_as_touch("note")
    assert "touch_kinds" not in signed_content.content(stored)
    assert touch_kinds_text(stored) == (
        "Call, email, meeting, social message, sequence step; a note never counts."
    )


def test_the_playbook_and_a_clone_carry_the_touch_kinds(client, rep, active, ops):
    Agreement.objects.filter(pk=active.pk).update(touch_kinds=["call", "email", "meeting"])
    client.force_login(rep)
    page = client.get("/playbook/").content.decode()
    assert "Call, email, meeting; a note never counts." in page
    clone = services.clone(Agreement.objects.get(pk=active.pk), by=ops)
    assert clone.touch_kinds == ["call", "email", "meeting"]


def test_content_altered_in_the_database_fails_verification(active):
    Term.objects.filter(agreement=active, name="Lead").update(definition="Changed behind")
    assert not Agreement.objects.get(pk=active.pk).signatures_verify()


def test_a_holiday_altered_in_the_database_fails_verification(active):
    Holiday.objects.filter(calendar=active.calendar).update(name="Boxing Day")
    assert not Agreement.objects.get(pk=active.pk).signatures_verify()


def test_a_draft_altered_in_the_database_cannot_be_activated(signed, ops):
    ResponseRule.objects.filter(agreement=signed).update(within_amount=9)
    with pytest.raises(AgreementError, match="not what was signed"):
        services.activate(signed, by=ops)


def test_content_export_carries_the_digest(client, rep, active):
    client.force_login(rep)
    body = client.get(reverse("agreements:content", args=[active.version])).json()
    assert body["sha256"] == active.content_digest()
    assert body["signatures"]["marketing"]["sha256"] == body["sha256"]
    assert {t["name"] for t in body["content"]["terms"]} >= {"Lead", "Marketing Qualified Lead"}


def test_playbook_prints_the_digest(client, rep, active):
    client.force_login(rep)
    html = client.get(reverse("leads:playbook")).content.decode()
    assert active.content_digest() in html
    assert "matches both signatures" in html


# --- Asking for signatures -------------------------------------------------------------------


def test_asking_for_signatures_notifies_exactly_the_marketing_and_sales_leads_once(
    client, ops, marketer, manager, rep, draft
):
    other_marketer = UserFactory(username="marketer-2", role=roles.MARKETING)
    client.force_login(ops)
    url = reverse("agreements:request_signatures", args=[draft.version])
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    told = Notification.objects.filter(kind="agreement")
    assert sorted(told.values_list("user__username", flat=True)) == sorted(
        [marketer.username, manager.username, other_marketer.username]
    )
    assert all(f"to={draft.version}" in n.url for n in told)


def test_only_ops_ask_for_signatures(client, marketer, draft):
    client.force_login(marketer)
    url = reverse("agreements:request_signatures", args=[draft.version])
    assert client.post(url).status_code == 403
    assert not Notification.objects.exists()


def test_activation_tells_both_teams(
    marketer, manager, rep, ops, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signed_and_active(draft, marketer, manager, by=ops)
    told = set(
        Notification.objects.filter(kind="agreement").values_list("user__username", flat=True)
    )
    assert told == {marketer.username, manager.username, rep.username}


def test_a_draft_is_one_click_from_the_playbook(client, ops, active):
    client.force_login(ops)
    response = client.post(reverse("agreements:new_draft", args=[active.version]))
    draft = Agreement.objects.get(version=active.version + 1)
    assert response.url == admin_url(Agreement, "change", draft.pk)
    assert draft.terms.count() == active.terms.count()
    assert draft.calendar_id != active.calendar_id


# --- Calendars that cannot run ---------------------------------------------------------------


def test_calendar_without_working_days_is_refused_in_the_admin(client, ops):
    calendar = BusinessCalendar.objects.create(name="Loose", time_zone="UTC")
    client.force_login(ops)
    response = _post_change(client, calendar, working_days=",")
    assert "needs at least one working day" in response.content.decode()
    assert BusinessCalendar.objects.get(pk=calendar.pk).working_days == "0,1,2,3,4"


def test_calendar_with_day_names_is_understood(client, ops):
    calendar = BusinessCalendar.objects.create(name="Loose", time_zone="UTC")
    client.force_login(ops)
    _post_change(client, calendar, working_days="mon,tue")
    assert BusinessCalendar.objects.get(pk=calendar.pk).working_days == "0,1"


def test_calendar_with_a_bad_day_name_says_which(client, ops):
    calendar = BusinessCalendar.objects.create(name="Loose", time_zone="UTC")
    client.force_login(ops)
    html = _post_change(client, calendar, working_days="mon,funday").content.decode()
    assert "“funday” is not a day" in html


def test_calendar_without_hours_is_refused_in_the_admin(client, ops):
    calendar = BusinessCalendar.objects.create(name="Loose", time_zone="UTC")
    client.force_login(ops)
    html = _post_change(client, calendar, workday_end="09:00").content.decode()
    assert "must end after it starts" in html


def test_a_draft_with_a_broken_calendar_cannot_be_activated(signed, ops):
    BusinessCalendar.objects.filter(pk=signed.calendar_id).update(working_days=",")
    Agreement.objects.filter(pk=signed.pk).update(
        marketing_signed_digest=signed.content_digest(),
        sales_signed_digest=signed.content_digest(),
    )
    with pytest.raises(AgreementError, match="at least one working day"):
        services.activate(signed, by=ops)
