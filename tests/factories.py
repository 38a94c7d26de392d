"""factory-boy factories for the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from agreements import roles
from agreements.models import Channel, Persona
from agreements.stages import Stage
from leads.models import Account, Activity, Campaign, Feedback, Lead, RepProfile, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@accord.example")
    password = factory.PostGenerationMethodCall("set_password", "pw-accord-test")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    manager = factory.SubFactory(UserFactory, role=roles.SALES_MANAGER)


class RepFactory(UserFactory):
    """A sales rep with a profile in a team."""

    @factory.post_generation
    def team(self, create: bool, extracted: Team | None, **kwargs: object) -> None:
        self.groups.add(Group.objects.get(name=roles.SALES_REP))
        RepProfile.objects.create(user=self, team=extracted or TeamFactory())


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())
    entry_stage = Stage.SUSPECT
    is_marketing_sourced = True


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = factory.SubFactory(ChannelFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    stage = Stage.SUSPECT
    channel = factory.SubFactory(ChannelFactory)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    side = Activity.Side.SALES
    kind = Activity.Kind.CALL


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona

    name = factory.Sequence(lambda n: f"Persona {n}")


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    lead = factory.SubFactory(LeadFactory, stage="disqualified")
    fit = Feedback.Fit.POOR
    reason = Feedback.Reason.WRONG_PERSONA
    text = "Not the buyer."
