"""The Possible duplicates page, its "Not duplicates" button, the lead page's hint, the
find_duplicates command and the refresh task."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers import duplicates
from customers.models import DuplicateDismissal, DuplicatePair
from customers.tasks import refresh_duplicates
from leads.models import Account, Lead
from tests.factories import LeadFactory
from tests.leads.workspace_helpers import assert_constant_queries

PAGE = "/duplicates/"


def twins(n: int, owner=None, first: str = "Ada", last: str = "Lovelace") -> tuple[Lead, Lead]:
    """Two leads that are one person: an initial and a full first name at one company."""
    domain = f"firm{n}.example"
    a = LeadFactory(email=f"a.{last}@{domain}".lower(), first_name=f"{first[0]}.", last_name=last,
                    company=f"Firm {n}", owner=owner)  # fmt: skip
    b = LeadFactory(email=f"{first}.{last}@{domain}".lower(), first_name=first, last_name=last,
                    company=f"Firm {n}", owner=owner)  # fmt: skip
    return a, b


def test_page_url_is_named(db):
    assert reverse("customers:duplicates") == PAGE


@pytest.mark.parametrize("role", ["ops", "marketer", "manager"])
def test_ops_marketing_and_managers_see_the_page(db, client, role, request):
    a, b = twins(1)
    duplicates.refresh()
    client.force_login(request.getfixturevalue(role))

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-ids="{a.pk},{b.pk}"' in html
    assert "A. Lovelace ≈ Ada Lovelace at firm1.example" in html
    assert f"/merge/?ids={a.pk},{b.pk}" in html
    assert ("Not duplicates" in html) is (role != "manager")


def test_rep_gets_403(client, rep):
    client.force_login(rep)
    assert client.get(PAGE).status_code == 403
    assert client.post(reverse("customers:duplicates_dismiss"), {"ids": "1,2"}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")


def test_manager_sees_only_groups_of_leads_he_may_see(client, manager, other_rep):
    twins(1, owner=other_rep)
    duplicates.refresh()
    client.force_login(manager)

    html = client.get(PAGE).content.decode()

    assert 'data-testid="duplicate-group"' not in html
    assert 'data-testid="no-duplicates"' in html


def test_names_are_escaped(client, ops):
    LeadFactory(email="x.bad@evil.example", first_name="<script>x</script>", last_name="Bad")
    LeadFactory(email="x.bad@evil.example".replace("x.", "xy."),
                first_name="<script>x</script>", last_name="Bad")  # fmt: skip
    assert duplicates.refresh() == 1
    client.force_login(ops)

    html = client.get(PAGE).content.decode()

    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_page_query_count_does_not_grow_with_groups(client, ops, django_assert_num_queries):
    twins(0)
    duplicates.refresh()
    client.force_login(ops)

    def more() -> None:
        for n in range(1, 8):
            twins(n)
        duplicates.refresh()

    response = assert_constant_queries(django_assert_num_queries, more, lambda: client.get(PAGE))
    assert DuplicatePair.objects.values("group").distinct().count() == 8
    assert response.content.decode().count('data-testid="duplicate-group"') == 8


def test_not_duplicates_is_stored_and_the_group_stops_showing(client, marketer):
    a, b = twins(1)
    duplicates.refresh()
    client.force_login(marketer)

    response = client.post(reverse("customers:duplicates_dismiss"), {"ids": f"{a.pk},{b.pk}"})

    assert response.status_code == 302
    dismissal = DuplicateDismissal.objects.get()
    assert (dismissal.lead_a_id, dismissal.lead_b_id) == (a.pk, b.pk)
    assert dismissal.dismissed_by == marketer and dismissal.dismissed_at is not None
    assert f'data-ids="{a.pk},{b.pk}"' not in client.get(PAGE).content.decode()
    duplicates.refresh()
    assert not DuplicatePair.objects.exists()
    assert duplicates.candidates_for(a, duplicates.dismissed_pairs(a)) == []


def test_not_duplicates_needs_two_existing_leads(client, ops):
    a, _ = twins(1)
    client.force_login(ops)

    for ids in (f"{a.pk}", f"{a.pk},999999", "x,y"):
        response = client.post(reverse("customers:duplicates_dismiss"), {"ids": ids}, follow=True)
        assert "Choose two or more existing leads" in response.content.decode()
    assert not DuplicateDismissal.objects.exists()


def test_merged_leads_are_left_out(client, ops):
    a, b = twins(1)
    duplicates.refresh()
    Lead.with_merged.filter(pk=a.pk).update(merged_into=b)
    client.force_login(ops)

    assert 'data-testid="duplicate-group"' not in client.get(PAGE).content.decode()
    assert duplicates.scan() == []


# --- The lead page's hint --------------------------------------------------------------


def test_lead_page_loads_the_hint_lazily(client, ops):
    a, _ = twins(1)
    client.force_login(ops)

    html = client.get(a.get_absolute_url()).content.decode()

    assert f'hx-get="{reverse("customers:duplicate_hint", args=[a.pk])}"' in html


def test_hint_names_the_duplicate_with_a_review_link(client, ops):
    a, b = twins(1)
    duplicates.refresh()
    client.force_login(ops)

    html = client.get(reverse("customers:duplicate_hint", args=[a.pk])).content.decode()

    assert "Possible duplicate:" in html and "ada.lovelace@firm1.example" in html
    assert f"/merge/?ids={a.pk},{b.pk}" in html


def test_hint_finds_a_new_duplicate_before_any_scan(client, ops):
    account = Account.objects.create(name="Firm 1", domain="firm1.example")
    a, b = twins(1)
    Lead.objects.filter(pk__in=[a.pk, b.pk]).update(account=account)
    client.force_login(ops)

    html = client.get(reverse("customers:duplicate_hint", args=[b.pk])).content.decode()

    assert "A. Lovelace ≈ Ada Lovelace at firm1.example" in html


def test_hint_is_empty_without_duplicates(client, ops):
    lead = LeadFactory(email="solo@firm.example", first_name="Solo", last_name="Person")
    client.force_login(ops)

    response = client.get(reverse("customers:duplicate_hint", args=[lead.pk]))

    assert response.status_code == 200 and response.content.decode().strip() == ""


def test_hint_answers_404_for_a_colleagues_lead(client, rep, other_rep):
    a, _ = twins(1, owner=other_rep)
    client.force_login(rep)

    assert client.get(reverse("customers:duplicate_hint", args=[a.pk])).status_code == 404


def test_rep_sees_the_hint_for_her_own_leads_without_a_review_link(client, rep):
    a, b = twins(1, owner=rep)
    duplicates.refresh()
    client.force_login(rep)

    html = client.get(reverse("customers:duplicate_hint", args=[a.pk])).content.decode()

    assert b.email in html and "Review merge" not in html


def test_hint_query_count_does_not_grow(client, ops, django_assert_num_queries):
    account = Account.objects.create(name="Firm 1", domain="firm1.example")
    a, b = twins(1)
    Lead.objects.filter(pk__in=[a.pk, b.pk]).update(account=account)
    duplicates.refresh()
    client.force_login(ops)

    def more() -> None:
        for first in ("Adam", "Adele", "Adrian"):
            LeadFactory(email=f"{first}.l@firm1.example".lower(), first_name=first,
                        last_name="Lovelace", phone="+1 212 555 0101", account=account)  # fmt: skip
        LeadFactory(email="a.lovelace@gmail.com", first_name="Ada", last_name="Lovelace",
                    company="Firm 1")  # fmt: skip
        duplicates.refresh()

    url = reverse("customers:duplicate_hint", args=[a.pk])
    response = assert_constant_queries(django_assert_num_queries, more, lambda: client.get(url))
    assert response.content.decode().count("Possible duplicate:") >= 2


# --- The command and the task ----------------------------------------------------------


def test_find_duplicates_json_lists_groups_with_ids_emails_score_and_reasons(db):
    a, b = twins(1)
    LeadFactory(email="grace.hopper@firm1.example", first_name="Grace", last_name="Hopper")
    out = StringIO()

    call_command("find_duplicates", "--format", "json", stdout=out)

    groups = json.loads(out.getvalue())
    assert len(groups) == 1
    group = groups[0]
    assert group["ids"] == [a.pk, b.pk]
    assert group["emails"] == [a.email, b.email]
    assert duplicates.THRESHOLD <= group["score"] <= 100
    assert group["reasons"] == ["A. Lovelace ≈ Ada Lovelace at firm1.example"]
    assert not DuplicatePair.objects.exists()  # listing stores nothing without --save


def test_find_duplicates_text_table_and_save(db):
    a, _ = twins(1)
    out = StringIO()

    call_command("find_duplicates", "--save", stdout=out)

    text = out.getvalue()
    assert a.email in text and "1 groups (1 pairs)" in text
    assert DuplicatePair.objects.get().group == 1


def test_refresh_task_replaces_the_stored_pairs(db):
    _, b = twins(1)
    assert refresh_duplicates() == 1
    b.first_name = "Bea"
    b.save(update_fields=["first_name"])
    assert refresh_duplicates() == 0
    assert not DuplicatePair.objects.exists()
