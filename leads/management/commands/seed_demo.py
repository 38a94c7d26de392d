"""Demo data: one user per role, two sales teams, a few hundred leads with histories.

Idempotent: users are updated in place, leads are created only once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from agreements import roles
from agreements import services as agreement_services
from agreements.models import Agreement, Channel
from agreements.stages import Stage
from leads.models import (
    Account,
    Activity,
    Campaign,
    Deal,
    Feedback,
    Lead,
    RepProfile,
    StageChange,
    Team,
)

DEMO_DOMAIN_SUFFIX = ".demo.example"
LEAD_COUNT = 300

# username, first, last, role, team (for reps/managers), staff
USERS = [
    ("ops", "Olivia", "Ops", roles.OPS, None, True),
    ("marketing", "Maya", "Marketer", roles.MARKETING, None, False),
    ("manager", "Sam", "Manager", roles.SALES_MANAGER, "East", False),
    ("manager2", "Wes", "Westwood", roles.SALES_MANAGER, "West", False),
    ("rep", "Rita", "Rep", roles.SALES_REP, "East", False),
    ("rep2", "Raj", "Patel", roles.SALES_REP, "East", False),
    ("rep3", "Ruth", "Nakamura", roles.SALES_REP, "West", False),
    ("rep4", "Rob", "Okafor", roles.SALES_REP, "West", False),
]

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Eva",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jon",
    "Kemi",
    "Lars",
]
LAST = ["Silva", "Berg", "Dubois", "Shah", "Novak", "Haddad", "Kim", "Weber", "Rossi", "Lee"]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Vandelay",
    "Tyrell",
]
TITLES = [
    "VP Marketing",
    "Head of Sales",
    "CFO",
    "Marketing Manager",
    "RevOps Lead",
    "CEO",
    "Analyst",
]
STAGE_MIX = [
    (Stage.SUSPECT, 40),
    (Stage.FAN, 30),
    (Stage.IQL, 30),
    (Stage.MQL, 50),
    (Stage.WORKING, 50),
    (Stage.SQL, 25),
    (Stage.OPPORTUNITY, 20),
    (Stage.CONVERTED, 15),
    (Stage.DISQUALIFIED, 25),
    (Stage.NURTURE, 15),
]
PATH = [Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.MQL, Stage.WORKING, Stage.SQL, Stage.OPPORTUNITY]


def demo_password(username: str) -> str:
    return f"{username}-accord-2026"


class Command(BaseCommand):
    help = "Load demo users (printed with passwords) and a few hundred demo leads. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = self._users()
            agreement = self._agreement(users)
            created = self._leads(users)
        self.stdout.write(self.style.SUCCESS("Demo logins (username / password / role):"))
        for username, _first, _last, role, team, _staff in USERS:
            where = f", team {team}" if team else ""
            self.stdout.write(f"  {username:<10} {demo_password(username):<24} {role}{where}")
        self.stdout.write(
            f"Demo leads: {created} created this run, {self._demo_leads().count()} in all."
        )
        if agreement is not None:
            self.stdout.write(f"Agreement in force: version {agreement.version}.")

    def _agreement(self, users: dict[str, User]) -> Agreement | None:
        """Sign the oldest draft SLA as the demo marketer and manager, and activate it (once)."""
        current = Agreement.current()
        if current is not None:
            return current
        draft = Agreement.objects.filter(status=Agreement.Status.DRAFT).order_by("version").first()
        if draft is None:
            return None
        if draft.marketing_signed_by_id is None:
            agreement_services.sign(draft, users["marketing"], agreement_services.MARKETING_SIDE)
        if draft.sales_signed_by_id is None:
            agreement_services.sign(draft, users["manager"], agreement_services.SALES_SIDE)
        return agreement_services.activate(draft, by=users["ops"])

    def _demo_leads(self) -> Any:
        return Lead.objects.filter(email__endswith=DEMO_DOMAIN_SUFFIX)

    def _users(self) -> dict[str, User]:
        users: dict[str, User] = {}
        teams: dict[str, Team] = {}
        for username, first, last, role, team_name, staff in USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first, last
            user.email = f"{username}@accord.example"
            user.is_staff = staff
            user.is_active = True
            user.set_password(demo_password(username))
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            users[username] = user
            if role == roles.SALES_MANAGER:
                team, _ = Team.objects.get_or_create(name=team_name)
                team.manager = user
                team.save()
                teams[team_name] = team
        for username, _first, _last, role, team_name, _staff in USERS:
            if role == roles.SALES_REP:
                RepProfile.objects.update_or_create(
                    user=users[username], defaults={"team": teams[team_name]}
                )
        return users

    def _leads(self, users: dict[str, User]) -> int:
        if self._demo_leads().exists():
            return 0
        rng = random.Random(2026)
        now = timezone.now()
        channels = list(Channel.objects.all())
        reps = [users[name] for name in ("rep", "rep2", "rep3", "rep4")]
        campaigns = [
            Campaign.objects.get_or_create(
                name=f"{channel.name} {now.year}",
                defaults={
                    "channel": channel,
                    "cost": Decimal(rng.randrange(500, 20000)),
                    "starts_on": (now - dt.timedelta(days=180)).date(),
                },
            )[0]
            for channel in channels
        ]
        accounts = [
            Account.objects.get_or_create(
                domain=f"{name.lower()}{DEMO_DOMAIN_SUFFIX}", defaults={"name": name}
            )[0]
            for name in COMPANIES
        ]
        stages = [stage for stage, weight in STAGE_MIX for _ in range(weight)]
        leads: list[Lead] = []
        for i in range(LEAD_COUNT):
            stage = stages[i % len(stages)]
            account = rng.choice(accounts)
            channel_index = rng.randrange(len(channels))
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created_at = now - dt.timedelta(days=rng.randrange(1, 200), minutes=rng.randrange(600))
            sales_stage = stage in (
                Stage.MQL,
                Stage.WORKING,
                Stage.SQL,
                Stage.OPPORTUNITY,
                Stage.CONVERTED,
                Stage.NURTURE,
            )
            touched = stage not in (Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.MQL)
            first_touch = created_at + dt.timedelta(hours=rng.randrange(1, 72)) if touched else None
            leads.append(
                Lead(
                    email=f"{first}.{last}.{i}@{account.domain}".lower(),
                    first_name=first,
                    last_name=last,
                    title=rng.choice(TITLES),
                    company=account.name,
                    account=account,
                    country=rng.choice(["DE", "US", "GB", "FR", "NL"]),
                    stage=stage,
                    channel=channels[channel_index],
                    campaign=campaigns[channel_index],
                    owner=rng.choice(reps) if sales_stage or rng.random() < 0.3 else None,
                    created_at=created_at,
                    stage_entered_at=created_at + dt.timedelta(days=1),
                    assigned_at=created_at if sales_stage else None,
                    first_touch_at=first_touch,
                    last_touch_at=first_touch,
                    sla_status=Lead.SLAStatus.PENDING
                    if stage == Stage.MQL
                    else Lead.SLAStatus.NONE,
                    sla_due_at=now + dt.timedelta(hours=rng.randrange(-48, 48))
                    if stage == Stage.MQL
                    else None,
                    nurture_until=(now + dt.timedelta(days=rng.randrange(7, 90))).date()
                    if stage == Stage.NURTURE
                    else None,
                    disqualify_reason="No budget this year" if stage == Stage.DISQUALIFIED else "",
                )
            )
        Lead.objects.bulk_create(leads)
        self._histories(rng, Lead.objects.filter(email__endswith=DEMO_DOMAIN_SUFFIX))
        return len(leads)

    def _histories(self, rng: random.Random, leads: Any) -> None:
        activities, changes, deals, feedback = [], [], [], []
        for lead in leads:
            at = lead.created_at
            activities.append(
                Activity(
                    lead=lead,
                    side="marketing",
                    kind="list_import",
                    occurred_at=at,
                    subject=f"Appeared in {lead.campaign}",
                )
            )
            activities.append(
                Activity(
                    lead=lead,
                    side="customer",
                    kind=rng.choice(["web_visit", "content_download", "webinar"]),
                    occurred_at=at + dt.timedelta(hours=2),
                )
            )
            target = lead.stage
            if target in PATH:
                path = PATH[: PATH.index(target) + 1]
            elif target == Stage.CONVERTED:
                path = PATH  # only a won opportunity converts
            else:
                path = PATH[: rng.randrange(4, 7)]
            for before, after in itertools.pairwise(path):
                at = at + dt.timedelta(hours=rng.randrange(2, 60))
                changes.append(
                    StageChange(
                        lead=lead,
                        from_stage=before,
                        to_stage=after,
                        transition="seed",
                        by=lead.owner,
                        at=at,
                    )
                )
            if target not in PATH:
                changes.append(
                    StageChange(
                        lead=lead,
                        from_stage=path[-1],
                        to_stage=target,
                        transition="seed",
                        by=lead.owner,
                        at=at + dt.timedelta(days=1),
                        note=lead.disqualify_reason,
                    )
                )
            if lead.first_touch_at:
                for n in range(rng.randrange(1, 5)):
                    activities.append(
                        Activity(
                            lead=lead,
                            side="sales",
                            kind=rng.choice(["call", "email", "meeting"]),
                            actor=lead.owner,
                            is_touch=True,
                            occurred_at=lead.first_touch_at + dt.timedelta(days=n * 3),
                            subject="Follow-up",
                        )
                    )
            if target in (Stage.OPPORTUNITY, Stage.CONVERTED):
                deals.append(
                    Deal(
                        lead=lead,
                        account=lead.account,
                        amount=Decimal(rng.randrange(5, 120)) * 1000,
                        status="won" if target == Stage.CONVERTED else "open",
                        opened_by=lead.owner,
                    )
                )
            if target == Stage.DISQUALIFIED:
                feedback.append(
                    Feedback(
                        lead=lead,
                        author=lead.owner,
                        fit="poor",
                        reason=rng.choice(["no_budget", "wrong_persona", "bad_data"]),
                        text="Not a fit for this quarter.",
                    )
                )
        Activity.objects.bulk_create(activities)
        StageChange.objects.bulk_create(changes)
        Deal.objects.bulk_create(deals)
        Feedback.objects.bulk_create(feedback)
