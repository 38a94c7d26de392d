"""Ops edits every agreements object in the admin; marketing and sales cannot; history is kept."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from agreements import roles
from agreements.models import (
    Agreement,
    BusinessCalendar,
    Channel,
    Holiday,
    MarketingCommitment,
    Persona,
    ResponseRule,
    StageDefinition,
    Term,
    TouchGoal,
)
from tests.agreements.factories import signed_and_active

pytestmark = pytest.mark.django_db

MODELS = [
    StageDefinition,
    Term,
    Channel,
    Persona,
    BusinessCalendar,
    Holiday,
    Agreement,
    ResponseRule,
]


def admin_url(model, action="changelist", *args):
    return reverse(f"admin:agreements_{model._meta.model_name}_{action}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_ops_opens_every_agreements_list_in_the_admin(client, ops, model):
    client.force_login(ops)
    assert client.get(admin_url(model)).status_code == 200


@pytest.mark.parametrize(
    "model",
    [Term, Channel, Persona, BusinessCalendar, Holiday, Agreement, ResponseRule],
    ids=lambda m: m.__name__,
)
def test_ops_opens_the_add_form(client, ops, model):
    client.force_login(ops)
    assert client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("role", [roles.MARKETING, roles.SALES_REP, roles.SALES_MANAGER])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_marketing_and_sales_cannot_reach_the_admin(client, users_by_role, role, model):
    client.force_login(users_by_role[role])
    response = client.get(admin_url(model))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


@pytest.mark.parametrize("role", [roles.MARKETING, roles.SALES_REP, roles.SALES_MANAGER])
def test_marketing_and_sales_may_only_view_agreements(role):
    perms = set(
        Group.objects.get(name=role)
        .permissions.filter(content_type__app_label="agreements")
        .values_list("codename", flat=True)
    )
    assert perms, "they can read the agreements"
    assert all(codename.startswith("view_") for codename in perms)


def test_ops_may_change_every_agreements_model():
    perms = set(
        Group.objects.get(name=roles.OPS)
        .permissions.filter(content_type__app_label="agreements")
        .values_list("codename", flat=True)
    )
    for model in [*MODELS, TouchGoal, MarketingCommitment]:
        assert f"change_{model._meta.model_name}" in perms


def test_staff_marketer_still_cannot_edit(client, marketer):
    marketer.is_staff = True
    marketer.save()
    client.force_login(marketer)
    term = Term.objects.get(name="Lead")
    response = client.post(
        admin_url(Term, "change", term.pk),
        {"name": "Lead", "definition": "Anyone at all.", "owner": "marketing"},
    )
    assert response.status_code == 403
    term.refresh_from_db()
    assert term.definition != "Anyone at all."


def test_ops_edits_a_term_and_it_gets_a_new_version(client, ops):
    term = Term.objects.get(name="Marketing Qualified Lead")
    client.force_login(ops)
    response = client.post(
        admin_url(Term, "change", term.pk),
        {
            "name": term.name,
            "abbreviation": "MQL",
            "definition": "A lead that asked for sales contact.",
            "owner": "marketing",
            "measured_by": term.measured_by,
        },
    )
    assert response.status_code == 302
    term.refresh_from_db()
    assert term.version == 2
    assert term.definition == "A lead that asked for sales contact."


def test_saving_unchanged_words_keeps_the_version():
    term = Term.objects.get(name="Lead")
    term.save()
    term.refresh_from_db()
    assert term.version == 1


def test_term_history_shows_who_changed_what(client, ops):
    term = Term.objects.get(name="Contact")
    client.force_login(ops)
    client.post(
        admin_url(Term, "change", term.pk),
        {
            "name": "Contact",
            "definition": "Any person we can reach.",
            "owner": "marketing",
            "measured_by": "",
        },
    )
    html = client.get(admin_url(Term, "history", term.pk)).content.decode()
    assert ops.username in html
    assert "Any person we can reach." in html
    assert term.history.count() == 2


def test_ops_edits_a_stage_definition_but_not_its_stage_value(client, ops):
    definition = StageDefinition.objects.get(stage="working")
    client.force_login(ops)
    response = client.post(
        admin_url(StageDefinition, "change", definition.pk),
        {
            "stage": "sql",
            "name": "Working",
            "owner": "sales",
            "level": 5,
            "conditions": "Touched by sales at least once.",
            "exit_criteria": definition.exit_criteria,
            "rep_actions": definition.rep_actions,
            "response_time": definition.response_time,
        },
    )
    assert response.status_code == 302
    definition.refresh_from_db()
    assert definition.stage == "working"
    assert definition.conditions == "Touched by sales at least once."
    assert definition.version == 2


def test_stage_definitions_cannot_be_added_twice_or_deleted(client, ops):
    client.force_login(ops)
    assert client.get(admin_url(StageDefinition, "add")).status_code == 403
    definition = StageDefinition.objects.first()
    assert client.get(admin_url(StageDefinition, "delete", definition.pk)).status_code == 403


def test_draft_agreement_is_editable_in_the_admin(client, ops):
    client.force_login(ops)
    html = client.get(admin_url(Agreement, "change", 1)).content.decode()
    assert 'name="untouched_days_1"' in html
    assert 'name="rules-0-within_amount"' in html


@pytest.fixture
def v1(marketer, manager, ops):
    return signed_and_active(Agreement.objects.get(version=1), marketer, manager, by=ops)


def test_active_agreement_is_read_only_in_the_admin(client, ops, v1):
    client.force_login(ops)
    html = client.get(admin_url(Agreement, "change", v1.pk)).content.decode()
    assert 'name="untouched_days_1"' not in html
    assert 'name="rules-0-within_amount"' not in html
    assert "cannot be changed" in html
    assert "Clone it into a new draft" in html


def test_active_agreement_post_does_not_change_it(client, ops, v1):
    client.force_login(ops)
    client.post(admin_url(Agreement, "change", v1.pk), {"untouched_days_1": 5})
    v1.refresh_from_db()
    assert v1.untouched_days_1 == 30


def test_active_rule_is_read_only_in_the_admin(client, ops, v1):
    client.force_login(ops)
    rule = v1.rules.first()
    html = client.get(admin_url(ResponseRule, "change", rule.pk)).content.decode()
    assert 'name="within_amount"' not in html


def test_clone_action_makes_a_draft(client, ops, v1):
    client.force_login(ops)
    response = client.post(
        admin_url(Agreement),
        {"action": "clone_into_draft", "_selected_action": [v1.pk]},
        follow=True,
    )
    assert "was cloned into draft" in response.content.decode()
    draft = Agreement.objects.get(version=2)
    assert draft.status == Agreement.Status.DRAFT
    assert draft.rules.count() == v1.rules.count()


def test_activate_action_refuses_an_unsigned_draft_with_a_message(client, ops):
    client.force_login(ops)
    response = client.post(
        admin_url(Agreement),
        {"action": "activate_version", "_selected_action": [1]},
        follow=True,
    )
    assert "cannot be activated until a Marketing lead and a Sales manager have signed" in (
        response.content.decode()
    )
    assert Agreement.objects.get(version=1).status == Agreement.Status.DRAFT


def test_activate_action_supersedes_the_active_version(client, ops, v1, marketer, manager):
    from agreements import services

    draft = services.clone(v1)
    services.sign(draft, marketer, "marketing")
    services.sign(draft, manager, "sales")
    client.force_login(ops)
    response = client.post(
        admin_url(Agreement),
        {"action": "activate_version", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "Version 2 is now in force; version 1 is superseded." in response.content.decode()
    assert Agreement.current() == draft


def test_editing_a_signed_draft_removes_its_signatures(client, ops, marketer):
    from agreements import services

    draft = Agreement.objects.get(version=1)
    services.sign(draft, marketer, "marketing")
    client.force_login(ops)
    change = client.get(admin_url(Agreement, "change", draft.pk))
    form = change.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(_inline_management(change))
    data["untouched_days_1"] = 20
    data["calendar"] = draft.calendar_id
    response = client.post(admin_url(Agreement, "change", draft.pk), data, follow=True)
    assert "signatures were removed" in response.content.decode()
    draft.refresh_from_db()
    assert draft.untouched_days_1 == 20
    assert draft.marketing_signed_by is None


def _inline_management(response):
    """The current inline rows of an admin change form, as POST data."""
    data = {}
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        prefix = fs.prefix
        data[f"{prefix}-TOTAL_FORMS"] = len(fs.forms)
        data[f"{prefix}-INITIAL_FORMS"] = fs.initial_form_count()
        for i, form in enumerate(fs.forms):
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if hasattr(value, "pk"):
                    value = value.pk
                if value is not None and value is not False:
                    data[f"{prefix}-{i}-{name}"] = value
    return data


def test_agreement_change_page_links_to_what_changed(client, ops, v1):
    from agreements import services

    draft = services.clone(v1)
    client.force_login(ops)
    html = client.get(admin_url(Agreement, "change", draft.pk)).content.decode()
    assert "/playbook/changes/?from=1&amp;to=2" in html


def test_agreement_history_is_visible_in_the_admin(client, ops, v1):
    client.force_login(ops)
    response = client.get(admin_url(Agreement, "history", v1.pk))
    assert response.status_code == 200
    assert v1.history.count() >= 3  # created, signed twice, activated


def test_a_version_added_in_the_admin_starts_from_the_words_in_force(client, ops, v1):
    # Stage definitions cannot be added one by one, so a new version takes them (and the
    # glossary) from the version in force, as a clone does.
    client.force_login(ops)
    add = client.get(admin_url(Agreement, "add"))
    form = add.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    for formset in add.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data.update(version=7, title="Added in the admin", calendar=v1.calendar_id)
    data.update(untouched_days_1=30, untouched_days_2=60, untouched_days_3=90)
    # Every kind of touch counts unless ops untick one: the page ticks them all.
    boxes = re.findall(r'<input type="checkbox" name="touch_kinds"[^>]*>', add.content.decode())
    assert len(boxes) == 5 and all("checked" in box for box in boxes)
    data.update(touch_kinds=list(form["touch_kinds"].initial))
    response = client.post(admin_url(Agreement, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    added = Agreement.objects.get(version=7)
    assert (
        StageDefinition.objects.filter(agreement=added).count()
        == (StageDefinition.objects.filter(agreement=v1).count())
        > 0
    )
    assert Term.objects.filter(agreement=added).count() == Term.objects.filter(agreement=v1).count()
