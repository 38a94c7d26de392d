"""Reverting an import after one of its leads was merged away: the merged lead is kept and
listed with why, not skipped in silence (the default manager hides merged leads)."""

from __future__ import annotations

import pytest

from agreements.models import Channel
from customers.merge import merge_leads, plan_merge, undo_merge
from leads.importing.revert import plan_revert, revert_batch
from leads.models import Lead
from tests.factories import LeadFactory
from tests.leads.test_import_revert import hubspot, imported

pytestmark = pytest.mark.django_db


def test_an_imported_lead_merged_into_another_is_kept_by_the_revert_with_why(ops):
    channel = Channel.objects.get(slug="purchased-list")
    batch = imported(hubspot(range(3)), "list.csv", channel, "Spring list")
    merged = Lead.objects.filter(source_batch=batch).order_by("pk").first()
    survivor = LeadFactory(email="someone@else.example")
    done = merge_leads(plan_merge([merged.pk, survivor.pk], ops, survivor=survivor.pk), ops)

    plan = plan_revert(batch)

    assert merged.pk not in plan.remove
    assert {k.id: k.reason for k in plan.kept}[merged.pk] == (
        f"it was merged into lead {survivor.pk}"
    )
    revert_batch(batch, by=ops)
    assert Lead.with_merged.filter(pk=merged.pk, merged_into=survivor).exists()
    undo_merge(done, ops)
    assert Lead.objects.filter(pk=merged.pk).exists()
