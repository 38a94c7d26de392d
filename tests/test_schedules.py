"""The beat schedules: written on migrate when missing, never overwritten afterwards."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.schedules import CHECK_SLA, SCHEDULES

pytestmark = pytest.mark.django_db


def test_migrate_creates_the_schedules_once_and_keeps_ops_changes():
    check = PeriodicTask.objects.get(name=CHECK_SLA)
    assert check.task == "sla.tasks.check_sla"
    assert (check.interval.every, check.interval.period) == (1, "minutes")
    check.interval.every = 5
    check.interval.save()

    call_command("migrate", verbosity=0)

    for spec in SCHEDULES:
        assert PeriodicTask.objects.filter(name=spec.name, task=spec.task).count() == 1
    assert PeriodicTask.objects.get(name=CHECK_SLA).interval.every == 5
