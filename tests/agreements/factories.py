"""Factories for agreement versions, their rules and calendars (import them from here)."""

from __future__ import annotations

import datetime as dt

import factory

from agreements import services
from agreements.models import (
    Agreement,
    BusinessCalendar,
    Holiday,
    MarketingCommitment,
    ResponseRule,
    TouchGoal,
)
from agreements.stages import Stage


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    time_zone = "Europe/Berlin"
    workday_start = dt.time(9)
    workday_end = dt.time(17)
    working_days = "0,1,2,3,4"


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    date = dt.date(2026, 12, 25)
    name = "Christmas Day"


class AgreementFactory(factory.django.DjangoModelFactory):
    """A draft version (numbered after the highest one) with a Berlin office calendar."""

    class Meta:
        model = Agreement

    version = factory.LazyFunction(Agreement.next_version)
    calendar = factory.SubFactory(BusinessCalendarFactory)

    @factory.post_generation
    def words(self, create: bool, extracted: object, **kwargs: object) -> None:
        """The glossary and stage definitions of the version in force (or the newest)."""
        if create and not self.terms.exists():
            source = (
                Agreement.objects.exclude(pk=self.pk).filter(status="active").first()
                or Agreement.objects.exclude(pk=self.pk).order_by("-version").first()
            )
            services.copy_words(source, self)


class ResponseRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseRule

    agreement = factory.SubFactory(AgreementFactory)
    channel = None
    stage = Stage.MQL
    within_amount = 4
    within_unit = ResponseRule.Unit.HOURS
    business_time = True
    escalate_after_amount = 8
    escalate_after_unit = ResponseRule.Unit.HOURS


class TouchGoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TouchGoal

    agreement = factory.SubFactory(AgreementFactory)
    touches = 6
    within_days = 14


class MarketingCommitmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketingCommitment

    agreement = factory.SubFactory(AgreementFactory)
    period = MarketingCommitment.Period.MONTH
    new_leads = 400
    mqls = 120
    sales_accepted = 60
    pipeline_amount = 250000
    min_acceptance_rate = 50


def signed_and_active(agreement: Agreement, marketer, manager, by=None) -> Agreement:
    """Sign a draft for both sides and activate it (the usual way a version gets in force)."""
    services.sign(agreement, marketer, services.MARKETING_SIDE)
    services.sign(agreement, manager, services.SALES_SIDE)
    return services.activate(agreement, by=by)
