"""Agreement versions: signing, activation (supersede in one transaction), cloning, read-only."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from agreements import roles, services
from agreements.models import Agreement, AgreementError, MarketingCommitment, ResponseRule
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    ResponseRuleFactory,
    TouchGoalFactory,
    signed_and_active,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    agreement = AgreementFactory()
    ResponseRuleFactory(agreement=agreement)
    TouchGoalFactory(agreement=agreement)
    MarketingCommitmentFactory(agreement=agreement)
    return agreement


@pytest.fixture
def active(draft, marketer, manager, ops):
    return signed_and_active(draft, marketer, manager, by=ops)


def test_seeded_v1_is_a_draft_with_rules():
    seeded = Agreement.objects.get(version=1)
    assert seeded.status == Agreement.Status.DRAFT
    assert seeded.rules.filter(channel__isnull=True, stage="mql").exists()
    assert seeded.commitments.count() == 2
    assert seeded.touch_goals.count() == 1


def test_marketing_user_signs_the_marketing_side(draft, marketer):
    services.sign(draft, marketer, "marketing")
    draft.refresh_from_db()
    assert draft.marketing_signed_by == marketer
    assert draft.marketing_signed_at is not None


def test_sales_manager_signs_the_sales_side(draft, manager):
    services.sign(draft, manager, "sales")
    draft.refresh_from_db()
    assert draft.sales_signed_by == manager


def test_rep_cannot_sign_for_sales(draft, rep):
    with pytest.raises(AgreementError, match="Sales manager"):
        services.sign(draft, rep, "sales")


def test_marketer_cannot_sign_for_sales(draft, marketer):
    with pytest.raises(AgreementError, match="Sales manager"):
        services.sign(draft, marketer, "sales")


def test_ops_cannot_sign_for_marketing(draft, ops):
    with pytest.raises(AgreementError, match="Marketing lead"):
        services.sign(draft, ops, "marketing")


def test_one_person_cannot_sign_both_sides(draft):
    both = UserFactory(username="both", role=roles.MARKETING)
    both.groups.add(*both.groups.model.objects.filter(name=roles.SALES_MANAGER))
    services.sign(draft, both, "marketing")
    both = type(both).objects.get(pk=both.pk)
    with pytest.raises(AgreementError, match="both"):
        services.sign(draft, both, "sales")


def test_unsigned_draft_cannot_be_activated(draft, ops):
    with pytest.raises(AgreementError, match="cannot be activated until"):
        services.activate(draft, by=ops)
    draft.refresh_from_db()
    assert draft.status == Agreement.Status.DRAFT


def test_draft_signed_by_one_side_cannot_be_activated(draft, marketer, ops):
    services.sign(draft, marketer, "marketing")
    with pytest.raises(AgreementError, match="a Sales manager has signed"):
        services.activate(draft, by=ops)


def test_only_ops_activates(draft, marketer, manager):
    services.sign(draft, marketer, "marketing")
    services.sign(draft, manager, "sales")
    with pytest.raises(AgreementError, match="Only Ops"):
        services.activate(draft, by=manager)


def test_activation_puts_the_version_in_force(active, ops):
    active.refresh_from_db()
    assert active.status == Agreement.Status.ACTIVE
    assert active.effective_from is not None
    assert active.activated_by == ops
    assert Agreement.current() == active


def test_activation_supersedes_the_previous_version(active, marketer, manager, ops):
    newer = services.clone(active)
    signed_and_active(newer, marketer, manager, by=ops)
    active.refresh_from_db()
    newer.refresh_from_db()
    assert active.status == Agreement.Status.SUPERSEDED
    assert newer.status == Agreement.Status.ACTIVE
    assert active.superseded_at == newer.effective_from
    assert Agreement.objects.filter(status="active").count() == 1


def test_failed_activation_leaves_the_old_version_in_force(
    active, marketer, manager, ops, monkeypatch
):
    newer = services.clone(active)
    services.sign(newer, marketer, "marketing")
    services.sign(newer, manager, "sales")
    original_save = Agreement.save

    def failing_save(self, *args, **kwargs):
        if self.pk == newer.pk and self.status == Agreement.Status.ACTIVE:
            raise IntegrityError("disk full")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Agreement, "save", failing_save)
    with pytest.raises(IntegrityError):
        services.activate(newer, by=ops)
    active.refresh_from_db()
    newer.refresh_from_db()
    assert active.status == Agreement.Status.ACTIVE
    assert active.superseded_at is None
    assert newer.status == Agreement.Status.DRAFT


def test_two_active_versions_are_impossible(active):
    other = AgreementFactory()
    other.status = Agreement.Status.ACTIVE
    with pytest.raises(IntegrityError):
        other.save()


def test_active_version_cannot_be_edited(active):
    active.untouched_days_1 = 10
    with pytest.raises(AgreementError, match="cannot be changed"):
        active.save()


def test_active_version_rules_cannot_be_edited(active):
    rule = active.rules.get()
    rule.within_amount = 99
    with pytest.raises(AgreementError, match="cannot be changed"):
        rule.save()


def test_active_version_cannot_get_new_rules(active):
    with pytest.raises(AgreementError):
        ResponseRule.objects.create(agreement=active, stage="iql", within_amount=1)


def test_active_version_commitments_cannot_be_deleted(active):
    with pytest.raises(AgreementError):
        active.commitments.get().delete()


def test_active_version_cannot_be_deleted(active):
    with pytest.raises(AgreementError, match="only drafts"):
        active.delete()


def test_superseded_version_cannot_be_edited(active, marketer, manager, ops):
    signed_and_active(services.clone(active), marketer, manager, by=ops)
    active.refresh_from_db()
    active.title = "Rewriting history"
    with pytest.raises(AgreementError, match="superseded"):
        active.save()


def test_active_version_cannot_be_signed_again(active, marketer):
    with pytest.raises(AgreementError, match="only a draft"):
        services.sign(active, marketer, "marketing")


def test_clone_makes_a_new_unsigned_draft_with_copies(active):
    draft = services.clone(active)
    assert draft.version == Agreement.next_version() - 1 > active.version
    assert draft.status == Agreement.Status.DRAFT
    assert draft.marketing_signed_by is None and draft.sales_signed_by is None
    assert draft.effective_from is None
    assert draft.calendar_id != active.calendar_id
    assert draft.calendar.spec() == active.calendar.spec()
    assert draft.terms.count() == active.terms.count() > 0
    assert draft.definitions.count() == active.definitions.count() == 10
    assert draft.rules.count() == active.rules.count() == 1
    assert draft.rules.get().pk != active.rules.get().pk
    assert draft.touch_goals.count() == 1
    assert MarketingCommitment.objects.filter(agreement=draft).count() == 1


def test_editing_the_clone_leaves_the_active_version_alone(active):
    draft = services.clone(active)
    rule = draft.rules.get()
    rule.within_amount = 1
    rule.save()
    assert active.rules.get().within_amount == 4


def test_clearing_signatures_after_an_edit(draft, marketer):
    services.sign(draft, marketer, "marketing")
    draft.refresh_from_db()
    draft.title = "Another title"
    draft.save()
    draft.refresh_from_db()
    assert draft.marketing_signed_by is None
    assert "terms of version" in draft.signatures_cleared_because


def test_version_numbers_are_given_automatically():
    first = Agreement.objects.create()
    second = Agreement.objects.create()
    assert second.version == first.version + 1
