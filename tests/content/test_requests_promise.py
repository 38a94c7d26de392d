"""Marketing's promise on content requests is a term of the agreement: signed with it (in
the digest), shown on the playbook and the changes page, copied into a new draft, and a
change to it needs new signatures."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from agreements import services
from agreements.content import content
from agreements.models import Agreement, AgreementError
from tests.agreements.factories import AgreementFactory, signed_and_active

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(marketer, manager):
    draft = AgreementFactory(content_request_days=2, content_request_escalate_days=3)
    services.sign(draft, marketer, "marketing")
    services.sign(draft, manager, "sales")
    draft.refresh_from_db()
    return draft


def test_the_promise_is_part_of_the_signed_content(signed):
    assert content(signed)["content_requests"] == {
        "within_business_days": 2,
        "warn_at_percent": 75,
        "escalate_after_business_days": 3,
    }


def test_a_version_without_the_promise_reads_as_it_was_signed_before(db):
    plain = AgreementFactory()

    assert "content_requests" not in content(plain)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("content_request_days", 3),
        ("content_request_warn_at_percent", 50),
        ("content_request_escalate_days", 5),
    ],
)
def test_changing_the_promise_of_a_signed_draft_clears_both_signatures(signed, field, value):
    setattr(signed, field, value)
    signed.save()

    signed.refresh_from_db()
    assert not signed.is_signed_by_anyone
    assert "content requests" in signed.signatures_cleared_because


def test_the_promise_of_a_version_in_force_cannot_change(signed, ops):
    active = services.activate(signed, by=ops)
    active.content_request_days = 10

    with pytest.raises(AgreementError):
        active.save()


def test_a_new_draft_keeps_the_promise(signed, ops):
    active = services.activate(signed, by=ops)

    draft = services.clone(active, by=ops)

    assert (draft.content_request_days, draft.content_request_escalate_days) == (2, 3)


def test_an_escalation_sooner_than_the_promise_is_refused(db):
    draft = AgreementFactory(content_request_days=3, content_request_escalate_days=2)

    with pytest.raises(ValidationError, match="Escalate no sooner"):
        draft.full_clean()


def test_the_playbook_states_the_promise(client, rep, signed, ops):
    services.activate(signed, by=ops)
    client.force_login(rep)

    html = client.get(reverse("leads:playbook")).content.decode()

    assert "Content requests from sales are answered within 2 business days" in html


def test_the_changes_page_shows_a_new_promise(client, marketer, manager, ops):
    first = signed_and_active(AgreementFactory(), marketer, manager, by=ops)
    draft = services.clone(first, by=ops)
    Agreement.objects.filter(pk=draft.pk).update(content_request_days=4)
    client.force_login(marketer)

    html = client.get(reverse("agreements:changes"), {"to": draft.version}).content.decode()

    assert "Content requests" in html
    assert "answered within 4 business days" in html


def test_the_admin_edits_the_promise_of_a_draft(client, ops, db):
    draft = AgreementFactory()
    client.force_login(ops)

    html = client.get(reverse("admin:agreements_agreement_change", args=[draft.pk])).content
    assert b"content_request_days" in html
