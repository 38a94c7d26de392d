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
from leads.clock import Rules, clear, set_running
from leads.importing.cleaning import CleanRow
from leads.importing.writer import Entry, TouchPoint, take_in_leads
from leads.models import (
    Account,
    Activity,
    Assignment,
    Campaign,
    Deal,
    Feedback,
    Lead,
    RepProfile,
    StageChange,
    Team,
)
from leads.services import reassign

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
SALES_SEED_STAGES = (
    Stage.MQL,
    Stage.WORKING,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.CONVERTED,
    Stage.NURTURE,
)
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
        plans: list[dict[str, Any]] = []
        for i in range(LEAD_COUNT):
            stage = stages[i % len(stages)]
            account = rng.choice(accounts)
            channel_index = rng.randrange(len(channels))
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created_at = now - dt.timedelta(days=rng.randrange(1, 200), minutes=rng.randrange(600))
            touched = stage not in (Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.MQL)
            plans.append(
                {
                    "email": f"{first}.{last}.{i}@{account.domain}".lower(),
                    "values": {
                        "first_name": first,
                        "last_name": last,
                        "title": rng.choice(TITLES),
                        "company": account.name,
                        "country": rng.choice(["DE", "US", "GB", "FR", "NL"]),
                    },
                    "channel": channel_index,
                    "stage": stage,
                    "owned": stage in SALES_SEED_STAGES or rng.random() < 0.3,
                    "rep": rng.choice(reps),
                    "created_at": created_at,
                    "first_touch": created_at + dt.timedelta(hours=rng.randrange(1, 72))
                    if touched
                    else None,
                    "wait": dt.timedelta(hours=rng.randrange(1, 72)),
                    "nurture_days": rng.randrange(7, 90),
                }
            )
        self._take_in(plans, channels, campaigns, now)
        self._give_owners(plans)
        self._backdate(plans, now)
        self._histories(rng, Lead.objects.filter(email__endswith=DEMO_DOMAIN_SUFFIX))
        return len(plans)

    def _take_in(
        self,
        plans: list[dict[str, Any]],
        channels: list[Channel],
        campaigns: list[Campaign],
        now: dt.datetime,
    ) -> None:
        """The demo leads come in by the one way in: routed, clocked, with a campaign touch."""
        for index, channel in enumerate(channels):
            rows = [
                CleanRow(n, plan["email"], {"email": plan["email"], **plan["values"]})
                for n, plan in enumerate(plans)
                if plan["channel"] == index
            ]
            if not rows:
                continue
            campaign = campaigns[index]
            touch = TouchPoint(
                side=Activity.Side.MARKETING.value,
                kind=Activity.Kind.LIST_IMPORT.value,
                subject=f"Appeared in {campaign}"[:200],
                once_key=f"demo-seed:{campaign.pk}",
            )
            entry = Entry.prepare(channel=channel, campaign=campaign, touch=touch, at=now)
            take_in_leads(entry, rows)

    def _give_owners(self, plans: list[dict[str, Any]]) -> None:
        """Hand the demo's worked leads to the demo reps, each move recorded as an Assignment."""
        by_email = {lead.email: lead for lead in self._demo_leads()}
        by_rep: dict[int, tuple[User, list[Lead]]] = {}
        for plan in plans:
            if plan["owned"]:
                by_rep.setdefault(plan["rep"].pk, (plan["rep"], []))[1].append(
                    by_email[plan["email"]]
                )
        for rep, leads in by_rep.values():
            reassign(leads, rep, by=None, rule="Demo seed", reason="Demo data: a demo rep's lead.")

    def _backdate(self, plans: list[dict[str, Any]], now: dt.datetime) -> None:
        """Move the demo leads to their stages and dates, as if they had lived for months."""
        leads = {lead.email: lead for lead in self._demo_leads()}
        rules = Rules.in_force()
        changed = []
        by_stage: dict[str, list[int]] = {}
        for plan in plans:
            lead = leads[plan["email"]]
            stage, created_at = plan["stage"], plan["created_at"]
            by_stage.setdefault(stage, []).append(lead.pk)
            lead.created_at = created_at
            lead.stage_entered_at = created_at + dt.timedelta(days=1)
            lead.assigned_at = created_at if lead.owner_id else None
            lead.first_touch_at = lead.last_touch_at = plan["first_touch"]
            clear(lead)
            if stage == Stage.MQL:
                # Raised their hand in the last three days: some clocks due, some overdue.
                lead.stage_entered_at = max(created_at + dt.timedelta(hours=1), now - plan["wait"])
                clock = rules.start(stage, lead.channel_id, lead.stage_entered_at)
                if clock is not None:
                    set_running(lead, clock)
            if stage == Stage.NURTURE:
                lead.nurture_until = (now + dt.timedelta(days=plan["nurture_days"])).date()
            if stage == Stage.DISQUALIFIED:
                lead.disqualify_reason = "No budget this year"
            changed.append(lead)
        Lead.objects.bulk_update(
            changed,
            [
                "created_at",
                "stage_entered_at",
                "assigned_at",
                "first_touch_at",
                "last_touch_at",
                "sla_status",
                "sla_started_at",
                "sla_due_at",
                "sla_rule",
                "sla_agreement",
                "nurture_until",
                "disqualify_reason",
            ],
            batch_size=500,
        )
        for stage, pks in by_stage.items():  # the stage field is protected on instances
            Lead.objects.filter(pk__in=pks).update(stage=stage)
        for lead in changed:
            Activity.objects.filter(lead=lead, kind=Activity.Kind.LIST_IMPORT).update(
                occurred_at=lead.created_at
            )
            Assignment.objects.filter(lead=lead).update(at=lead.created_at)

    def _histories(self, rng: random.Random, leads: Any) -> None:
        activities, changes, deals, feedback = [], [], [], []
        for lead in leads:
            at = lead.created_at
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
