"""Demo data: one user per role, two sales teams, a year of a few hundred leads' histories.

Each lead comes in by the one way in at its past time, and its history is replayed
through the services with explicit past times (transitions, touches, assignments,
campaign touch points, disqualifications with feedback and marketing's replies, junk),
so the ledger holds what the reports count. The whole year is replayed in the order it
happened, and at the end of each past day the SLA check breaches the clocks that ran
out and the daily snapshots are taken as the scheduled tasks take them, so Trends has
a year. The command lives in the reports app because it runs the reports' snapshots.
Idempotent: users are updated in place, leads and snapshots are created only once.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agreements import roles
from agreements import services as agreement_services
from agreements.calendar import CalendarSpec, add_duration, business_duration_between
from agreements.models import Agreement, Channel
from agreements.stages import Stage
from content import requests as content_requests
from content import services as content_services
from content.models import Asset, AssetKind
from content.ratings import rate
from leads import services
from leads.clock import Rules, breach_due_clocks
from leads.importing.cleaning import CleanRow
from leads.importing.writer import Entry, TouchPoint, take_in_leads
from leads.models import Account, Activity, Campaign, Feedback, Lead, RepProfile, Team
from reports import pacing
from reports import services as report_services

DEMO_DOMAIN_SUFFIX = ".demo.example"
LEAD_COUNT = 300
# How far back the demo's story and its snapshots go: the snapshots of the last quarter are
# daily, the ones before weekly (a snapshot costs a tenth of a second: a year of daily ones
# would double the demo's time), so Trends draws a year.
YEAR = dt.timedelta(days=365)
DAILY_SNAPSHOT_DAYS = 92

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
    (JUNK := "junk", 6),
]

# The marketing stages in funnel order, and the transition that moves a lead one step on.
FUNNEL = [Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.MQL]
STEP_UP = {Stage.FAN: "mark_fan", Stage.IQL: "qualify_information", Stage.MQL: "hand_raise"}
# How many days before now a lead of each final stage raised its hand (room for its story).
HAND_RAISED_DAYS = {
    Stage.WORKING: (5, 200),
    Stage.SQL: (10, 300),
    Stage.OPPORTUNITY: (15, 320),
    Stage.CONVERTED: (40, 330),
    Stage.DISQUALIFIED: (5, 330),
    Stage.NURTURE: (20, 300),
}
# A share of the worked leads raised their hands in the last weeks: this month's reports
# have leads accepted, disqualified and deals opened, not only new MQLs.
RECENT_SHARE, RECENT_DAYS = 0.3, 45
# Campaigns that touch leads already in Accord (so a deal has touch points from several).
NURTURE_CAMPAIGNS = [
    ("Webinar series", Decimal(9000)),
    ("Customer newsletter", Decimal(2400)),
    ("Trade fair", Decimal(18000)),
]
REPLIES = [
    "Thanks: we are tightening the targeting of this campaign.",
    "Understood. We will drop this segment from next month's lists.",
    "Good to know, we will check the form's data quality.",
]
# How a worked lead's first clock went: met, met by a second rep, missed, missed and moved.
OUTCOMES = ["met"] * 11 + ["met_moved"] * 3 + ["late"] * 3 + ["late_moved"] * 3
DISQUALIFY = [
    ("No budget this year", Feedback.Reason.NO_BUDGET),
    ("Wrong persona: no buying power", Feedback.Reason.WRONG_PERSONA),
    ("Bounced email, wrong phone", Feedback.Reason.BAD_DATA),
    ("Chose a competitor", Feedback.Reason.COMPETITOR),
]
# How many more touches a worked lead gets after its first.
FOLLOW_UPS = [0, 0, 1]
TOUCH_KINDS = [Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.MEETING]
# The SLA check's batch size when the demo lets the clocks that ran out be breached.
BREACH_BATCH = 2000
# The demo's content library: (title, kind, stages it fits, link), published by marketing.
ASSETS = [
    ("Acme cut onboarding time by 40 %", "Case study", [Stage.WORKING, Stage.SQL], "case-acme"),
    ("Accord in ten slides", "Deck", [Stage.MQL, Stage.WORKING], "deck-overview"),
    ("Security and data protection", "Data sheet", [Stage.SQL, Stage.OPPORTUNITY], "security"),
    ("Five signs your leads go cold", "Blog post", [Stage.IQL, Stage.MQL], "blog-cold-leads"),
    ("Pricing and ROI calculator", "Template", [Stage.OPPORTUNITY], "roi-calculator"),
    # Published, never used: the content report's "nobody used in 90 days".
    ("Accord in three minutes", "Video", [Stage.MQL], "video-three-minutes"),
]
USED_ASSETS = 5
# What the demo reps asked marketing for; the first is answered, the others are open.
REQUESTS = [
    "A one-pager for healthcare CFOs on the cost of slow follow-up",
    "A customer story from manufacturing, in German if we have one",
    "A comparison sheet against spreadsheets and shared inboxes",
]


def demo_password(username: str) -> str:
    return f"{username}-accord-2026"


@dataclass
class Step:
    """One thing that happens to a demo lead: a service call at a past time."""

    at: dt.datetime
    action: str  # transition, touch, assign, disqualify
    by: User | None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """One demo lead: its row, where and when it came in, and its history in order."""

    email: str
    values: dict[str, str]
    channel: Channel
    created_at: dt.datetime
    steps: list[Step]


class Story:
    """Each demo lead's history as service calls at past times, in working hours."""

    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        users: dict[str, User],
        channels: list[Channel],
        rules: Rules,
    ) -> None:
        self.rng = rng
        self.now = now
        self.campaign_count = len(NURTURE_CAMPAIGNS)
        self.users = users
        self.channels = channels
        self.rules = rules
        self.spec: CalendarSpec = rules.calendar
        self.reps = [users[name] for name in ("rep", "rep2", "rep3", "rep4")]
        teams = {rep.pk: rep.rep_profile.team for rep in self.reps}
        self.manager_of = {pk: team.manager for pk, team in teams.items()}
        self.teammate = {
            rep.pk: next(o for o in self.reps if o != rep and teams[o.pk] == teams[rep.pk])
            for rep in self.reps
        }

    # --- Time --------------------------------------------------------------------

    def minutes(self, low: int, high: int) -> dt.timedelta:
        """A random number of minutes (low..high)."""
        return dt.timedelta(minutes=self.rng.randrange(low, high))

    def at_work(self, moment: dt.datetime, *, back: bool = False) -> dt.datetime:
        """`moment` if in working hours, else a time in the next (`back`: last) working day."""
        spec = self.spec
        day = moment.astimezone(spec.zone).date()
        step = dt.timedelta(days=-1 if back else 1)
        for n in range(60):
            window = spec.window(day)
            if window is not None:
                opens, closes = window
                latest = closes - dt.timedelta(minutes=30)
                if n == 0 and opens <= moment <= latest:
                    return moment
                if not back and (n > 0 or moment < opens):
                    return opens + self.minutes(0, 180)
                if back and (n > 0 or moment > latest):
                    return latest - self.minutes(0, 180)
            day += step
        return moment

    def between(self, start: dt.datetime, end: dt.datetime, low: float, high: float) -> dt.datetime:
        """A moment a random share (low..high) of the working time from start to end in."""
        spent = business_duration_between(start, end, self.spec) * self.rng.uniform(low, high)
        return add_duration(start, spent, self.spec, business=True)

    def later(self, moment: dt.datetime, low: int, high: int) -> dt.datetime:
        """A working moment some days (low..high) after `moment`."""
        return self.at_work(moment + dt.timedelta(days=self.rng.randrange(low, high)))

    def due(self, channel: Channel, started: dt.datetime) -> dt.datetime:
        """When the clock a hand-raise at `started` starts is due (as the services will say)."""
        clock = self.rules.start(Stage.MQL, channel.pk, started)
        if clock is None:
            return add_duration(started, dt.timedelta(hours=4), self.spec, business=True)
        return clock.due_at

    # --- Histories ---------------------------------------------------------------

    def channel_for(self, stage: str) -> Channel:
        """A channel whose entry stage comes at or before a marketing stage (any for sales)."""
        if stage not in FUNNEL:
            return self.rng.choice(self.channels)
        fits = [c for c in self.channels if FUNNEL.index(c.entry_stage) <= FUNNEL.index(stage)]
        # Mostly a channel entering at that very stage: fewer steps to replay, same story.
        exact = [c for c in fits if c.entry_stage == stage]
        return self.rng.choice(exact if exact and self.rng.random() < 0.6 else fits)

    def climb(self, channel: Channel, target: str, times: list[dt.datetime]) -> list[Step]:
        """Marketing moves a lead from its entry stage up to `target`, a step at each time."""
        start = FUNNEL.index(channel.entry_stage)
        stages = FUNNEL[start + 1 : FUNNEL.index(target) + 1]
        marketing = self.users["marketing"]
        return [
            Step(at, "transition", marketing, {"name": STEP_UP[stage]})
            for stage, at in zip(stages, times, strict=True)
        ]

    def marketing_lead(self, target: str) -> tuple[Channel, dt.datetime, list[Step]]:
        """A lead still in marketing's hands; some already have a rep who never touched it."""
        channel = self.channel_for(target)
        count = FUNNEL.index(target) - FUNNEL.index(channel.entry_stage)
        for extra in range(0, 400, 20):
            created = self.at_work(self.now - dt.timedelta(days=self.rng.randrange(1, 200) + extra))
            times, at = [], created
            for _ in range(count):
                at = at + self.days_and_minutes()
                times.append(at)
            steps = self.climb(channel, target, times)
            if self.rng.random() < 0.3:
                rep = self.rng.choice(self.reps)
                later = at + dt.timedelta(hours=self.rng.randrange(1, 48))
                steps.append(self.assign(self.at_work(later), rep))
            steps.sort(key=lambda s: s.at)
            if not steps or steps[-1].at < self.now:
                return channel, created, steps
        raise RuntimeError("no room for a marketing lead's story")

    def assign(self, at: dt.datetime, rep: User, *, moved: bool = False) -> Step:
        """The rep's manager gives the lead to the rep (from the desk, or from a teammate)."""
        reason = "Rebalancing the team's queues." if moved else "Picked from the lead desk."
        return Step(at, "assign", self.manager_of[rep.pk], {"to": rep, "reason": reason})

    def raised_hand(self, channel: Channel, at: dt.datetime) -> tuple[dt.datetime, list[Step]]:
        """When a lead that raised its hand at `at` came in, and marketing's steps to MQL."""
        if channel.entry_stage == Stage.MQL:
            return at, []
        marketing = self.users["marketing"]
        steps = [Step(at, "transition", marketing, {"name": "hand_raise"})]
        start = FUNNEL.index(channel.entry_stage)
        if start < FUNNEL.index(Stage.IQL) and self.rng.random() < 0.3:
            at = at - self.days_and_minutes()
            steps.insert(0, Step(at, "transition", marketing, {"name": "qualify_information"}))
        return at - self.days_and_minutes(), steps

    def days_and_minutes(self) -> dt.timedelta:
        """A few days between two marketing steps."""
        return dt.timedelta(days=self.rng.randrange(1, 10), minutes=self.rng.randrange(600))

    def new_mql(self) -> tuple[Channel, dt.datetime, list[Step]]:
        """An untouched MQL: most recent (some due, some overdue), some old, some on the desk."""
        channel = self.channel_for(Stage.MQL)
        if self.rng.random() < 0.35:
            raised = self.at_work(self.now - dt.timedelta(days=self.rng.randrange(35, 330)))
        else:
            raised = self.at_work(
                self.now - dt.timedelta(hours=self.rng.randrange(1, 72)), back=True
            )
        created, steps = self.raised_hand(channel, raised)
        if self.rng.random() < 0.55:
            until = min(self.due(channel, raised), self.now)
            steps.append(
                self.assign(self.between(raised, until, 0.0, 0.5), self.rng.choice(self.reps))
            )
        return channel, created, steps

    def worked_lead(self, target: str) -> tuple[Channel, dt.datetime, list[Step]]:
        """A lead sales worked: assigned, touched in time or late, then taken to `target`."""
        channel = self.channel_for(target)
        low, high = HAND_RAISED_DAYS[target]
        if self.rng.random() < RECENT_SHARE:
            high = max(low + 1, min(high, RECENT_DAYS))
        for extra in range(0, 400, 15):
            days = self.rng.randrange(low, high) + extra
            raised = self.at_work(self.now - dt.timedelta(days=days))
            created, steps = self.raised_hand(channel, raised)
            steps += self.sales(channel, raised, target)
            if steps[-1].at < self.now:
                return channel, created, steps + self.campaign_touches(created, steps)
        raise RuntimeError("no room for a worked lead's story")

    def campaign_touches(self, created: dt.datetime, steps: list[Step]) -> list[Step]:
        """Other campaigns reach the lead before sales accepts it (or its story ends): one
        or two touch points, so first, last and linear attribution tell apart."""
        until = next((s.at for s in steps if s.args.get("name") == "accept"), steps[-1].at)
        if until - created < dt.timedelta(hours=2) or self.rng.random() < 0.15:
            return []
        picked = self.rng.sample(range(self.campaign_count), self.rng.choice([1, 2, 2]))
        span = (until - created).total_seconds()
        return [
            Step(
                created + dt.timedelta(seconds=span * self.rng.uniform(0.1, 0.9)),
                "campaign",
                None,
                {"campaign": n},
            )
            for n in picked
        ]

    def junk(self) -> tuple[Channel, dt.datetime, list[Step]]:
        """A bot's sign-up through a form: marketing marks it junk / spam within hours."""
        channel = next((c for c in self.channels if c.entry_stage == Stage.MQL), None)
        channel = channel or self.channel_for(Stage.MQL)
        days = self.rng.choice([self.rng.randrange(2, 20), self.rng.randrange(20, 330)])
        raised = self.at_work(self.now - dt.timedelta(days=days))
        created, steps = self.raised_hand(channel, raised)
        junked = self.at_work(raised + dt.timedelta(hours=self.rng.randrange(1, 5)))
        return channel, created, [*steps, Step(junked, "junk", self.users["marketing"])]

    def sales(self, channel: Channel, raised: dt.datetime, target: str) -> list[Step]:
        """Sales' part of a worked lead's story, from its hand-raise at `raised`."""
        due = self.due(channel, raised)
        rep = self.rng.choice(self.reps)
        outcome = self.rng.choice(OUTCOMES)
        assigned = self.between(raised, due, 0.0, 0.3)
        steps = [self.assign(assigned, rep)]
        if outcome == "met_moved":
            rep = self.teammate[rep.pk]
            assigned = self.between(assigned, due, 0.2, 0.5)
            steps.append(self.assign(assigned, rep, moved=True))
            touched = self.between(assigned, due, 0.2, 0.9)
        elif outcome == "late_moved":
            rep = self.teammate[rep.pk]
            assigned = self.at_work(due + dt.timedelta(hours=self.rng.randrange(2, 30)))
            steps.append(self.assign(assigned, rep, moved=True))
            touched = self.at_work(assigned + dt.timedelta(hours=self.rng.randrange(1, 6)))
        elif outcome == "late":
            touched = self.at_work(due + dt.timedelta(hours=self.rng.randrange(1, 48)))
        else:
            touched = self.between(assigned, due, 0.2, 0.9)
        steps.append(self.touch(touched, rep))
        at = touched
        for _ in range(self.rng.choice(FOLLOW_UPS)):
            at = self.later(at, 2, 6)
            steps.append(self.touch(at, rep))
        steps += self.outcome(channel, rep, at, target)
        return steps

    def touch(self, at: dt.datetime, rep: User) -> Step:
        """The rep logs a call, an email or a meeting."""
        return Step(at, "touch", rep, {"kind": self.rng.choice(TOUCH_KINDS)})

    def outcome(self, channel: Channel, rep: User, at: dt.datetime, target: str) -> list[Step]:
        """The rep takes a worked lead on to where its story ends."""
        steps = []
        accepted = target in (Stage.SQL, Stage.OPPORTUNITY, Stage.CONVERTED) or (
            target in (Stage.DISQUALIFIED, Stage.NURTURE) and self.rng.random() < 0.5
        )
        if accepted:
            at = self.later(at, 1, 6)
            steps.append(Step(at, "transition", rep, {"name": "accept"}))
        # Some accepted leads that end disqualified had a deal first: the deal is lost.
        lost = target == Stage.DISQUALIFIED and accepted and self.rng.random() < 0.5
        if target in (Stage.OPPORTUNITY, Stage.CONVERTED) or lost:
            at = self.later(at, 3, 15)
            amount = Decimal(self.rng.randrange(5, 120)) * 1000
            steps.append(
                Step(at, "transition", rep, {"name": "open_opportunity", "amount": amount})
            )
        if target == Stage.CONVERTED:
            at = self.later(at, 7, 31)
            steps.append(Step(at, "transition", rep, {"name": "win"}))
        if target == Stage.NURTURE:
            at = self.later(at, 1, 8)
            return_on = (self.now + dt.timedelta(days=self.rng.randrange(7, 90))).date()
            steps.append(Step(at, "transition", rep, {"name": "nurture", "return_on": return_on}))
            back = self.later(at, 20, 60)
            if self.rng.random() < 0.4 and back < self.now - dt.timedelta(days=10):
                steps += self.back_from_nurture(channel, rep, back)
        if target == Stage.DISQUALIFIED:
            at = self.later(at, 1, 8)
            reason, feedback = self.rng.choice(DISQUALIFY)
            fit = Feedback.Fit.POOR if feedback != Feedback.Reason.COMPETITOR else Feedback.Fit.GOOD
            args = {"reason": reason, "fit": fit, "feedback_reason": feedback}
            steps.append(
                Step(at, "disqualify", rep, {**args, "text": "Not a fit for this quarter."})
            )
            if self.rng.random() < 0.6:
                reply = self.later(at, 1, 4)
                steps.append(Step(reply, "reply", self.users["marketing"], {"n": len(steps)}))
        return steps

    def back_from_nurture(self, channel: Channel, rep: User, at: dt.datetime) -> list[Step]:
        """The nurtured buyer raises a hand again: an MQL once more, worked by the rep."""
        due = self.due(channel, at)
        touched = self.between(at, due, 0.1, 0.8)
        return [
            Step(at, "transition", self.users["marketing"], {"name": "hand_raise"}),
            self.assign(self.between(at, touched, 0.0, 0.5), rep),
            self.touch(touched, rep),
            Step(self.later(touched, 1, 5), "transition", rep, {"name": "accept"}),
        ]

    def list_days(self) -> list[dt.datetime]:
        """When marketing imported its lists: every four weeks, back past the oldest story."""
        return [
            self.at_work(self.now - dt.timedelta(days=28 * n + 1), back=True) for n in range(30)
        ]

    def plan(self, stage: str) -> tuple[Channel, dt.datetime, list[Step]]:
        """Where a lead that ends in `stage` came in, when, and what happened to it since."""
        if stage == JUNK:
            return self.junk()
        if stage == Stage.MQL:
            return self.new_mql()
        if stage in FUNNEL:
            return self.marketing_lead(stage)
        return self.worked_lead(stage)


@dataclass(order=True)
class Moment:
    """Something that happens in the demo's year, in the order it happened: a take-in
    (0), a step of a lead's story (1) or the end of a day (2) at the same time."""

    at: dt.datetime
    order: int
    n: int
    what: Any = field(compare=False)


class Command(BaseCommand):
    help = (
        "Load demo users (printed with passwords) and a year of demo leads, with daily "
        "report snapshots. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = self._users()
            agreement = self._agreement(users)
            created = self._leads(users)
            self._content(users)
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
        if draft.marketing_signed_by_id is None and draft.content_request_days is None:
            # Marketing's side of the demo SLA: content requests answered in 2 business days.
            draft.content_request_days, draft.content_request_escalate_days = 2, 4
            draft.save()
        if draft.marketing_signed_by_id is None:
            agreement_services.sign(draft, users["marketing"], agreement_services.MARKETING_SIDE)
        if draft.sales_signed_by_id is None:
            agreement_services.sign(draft, users["manager"], agreement_services.SALES_SIDE)
        return agreement_services.activate(draft, by=users["ops"])

    def _content(self, users: dict[str, User]) -> None:
        """A small published library, used on today's touches and shared with open leads
        (some links opened), a few ratings, and content requests for marketing (once)."""
        marketer = users["marketing"]
        if Asset.objects.filter(owner=marketer).exists():
            return
        kinds = {kind.name: kind for kind in AssetKind.objects.all()}
        assets = []
        for title, kind, stages, slug in ASSETS:
            if kind not in kinds:
                continue
            asset = content_services.create_asset(
                by=marketer,
                title=title,
                kind=kinds[kind],
                stages=stages,
                link_url=f"https://www.example.com/resources/{slug}",
            )
            assets.append(content_services.publish(asset, by=marketer))
        if not assets:
            return
        # In the last working hours before now, on leads whose history ended before then.
        with Rules.held() as rules:
            story = Story(random.Random(2026), timezone.now(), users, [], rules)
            # Half an hour before now, or if that is out of hours, late in the last working
            # day: in the first half hour of the day, now minus 30 minutes was before opening.
            at = story.at_work(story.now - dt.timedelta(minutes=30), back=True)
        open_leads = (
            self._demo_leads()
            .filter(stage__in=[Stage.WORKING, Stage.SQL, Stage.OPPORTUNITY], owner__isnull=False)
            .annotate(last_event=Max("events__at"))
            .filter(last_event__lt=at - dt.timedelta(hours=1))
        )
        for i, lead in enumerate(open_leads.select_related("owner").order_by("pk")[:12]):
            asset = assets[i % min(USED_ASSETS, len(assets))]
            content_services.log_touch_with_assets(
                lead,
                by=lead.owner,
                kind=TOUCH_KINDS[i % len(TOUCH_KINDS)],
                subject=f"Sent: {asset.title}",
                assets=[asset],
                at=at,
            )
            link = content_services.share(lead, asset, by=lead.owner, at=at)
            if i % 3 != 2:
                content_services.record_open(
                    link,
                    user_agent="Mozilla/5.0 (demo customer)",
                    ip_hash=f"demo-{i}",
                    at=at + dt.timedelta(minutes=10),
                )
            if i % 2 == 0:
                helped = i % 4 == 0
                reason = "The customer asked good questions" if helped else "Too long for a call"
                rate(lead.owner, lead, link.version, helped=helped, reason=reason, at=at)
        asked = [content_requests.request_content(users["rep"], text, at=at) for text in REQUESTS]
        content_requests.answer(
            asked[0],
            marketer,
            text="Here is our closest match.",
            asset=assets[0],
            at=at + dt.timedelta(minutes=20),
        )

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
        channels = list(Channel.objects.order_by("pk"))
        accounts = [
            Account.objects.get_or_create(
                domain=f"{name.lower()}{DEMO_DOMAIN_SUFFIX}", defaults={"name": name}
            )[0]
            for name in COMPANIES
        ]
        with Rules.held() as rules:
            story = Story(rng, now, users, channels, rules)
            stages = [stage for stage, weight in STAGE_MIX for _ in range(weight)]
            plans = []
            for i in range(LEAD_COUNT):
                account = rng.choice(accounts)
                first, last = rng.choice(FIRST), rng.choice(LAST)
                values = {
                    "first_name": first,
                    "last_name": last,
                    "title": rng.choice(TITLES),
                    "company": account.name,
                    "country": rng.choice(["DE", "US", "GB", "FR", "NL"]),
                }
                channel, created_at, steps = story.plan(stages[i % len(stages)])
                email = f"{first}.{last}.{i}@{account.domain}".lower()
                plans.append(Plan(email, values, channel, created_at, steps))
            starts_on = min(plan.created_at for plan in plans).date() - dt.timedelta(days=28)
            campaigns = self._campaigns(rng, channels, starts_on, now)
            Replay(self, plans, campaigns, story).run()
        return len(plans)

    def _campaigns(
        self, rng: random.Random, channels: list[Channel], starts_on: dt.date, now: dt.datetime
    ) -> dict[Any, Campaign]:
        """Each channel's campaign, from the oldest demo lead on to a quarter from now (its
        cost spreads over those days), and the campaigns that reach leads already in
        Accord (by their number)."""
        ends_on = now.date() + dt.timedelta(days=90)
        campaigns: dict[Any, Campaign] = {
            channel.pk: Campaign.objects.get_or_create(
                name=f"{channel.name} {now.year}",
                defaults={
                    "channel": channel,
                    "cost": Decimal(rng.randrange(500, 20000)),
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                },
            )[0]
            for channel in channels
        }
        sourced = next((c for c in channels if c.is_marketing_sourced), channels[0])
        for n, (name, cost) in enumerate(NURTURE_CAMPAIGNS):
            campaigns[("touch", n)] = Campaign.objects.get_or_create(
                name=name,
                defaults={
                    "channel": sourced,
                    "cost": cost,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                },
            )[0]
        return campaigns


class Replay:
    """The demo's year, replayed in order through the services; the end of a past day runs
    the SLA check and takes the daily snapshots (reports and marketing pacing), every day
    of the last quarter and every week before it."""

    def __init__(
        self, command: Command, plans: list[Plan], campaigns: dict[Any, Campaign], story: Story
    ) -> None:
        self.command = command
        self.plans = plans
        self.campaigns = campaigns
        self.story = story
        self.leads: dict[str, Lead] = {}

    def moments(self) -> list[Moment]:
        """Every take-in, story step and end of day, in the order they happened."""
        moments: list[Moment] = []
        for n, ((channel_pk, at), members) in enumerate(self.take_ins().items()):
            moments.append(Moment(at, 0, n, (channel_pk, members)))
        for plan in self.plans:
            for step in plan.steps:
                moments.append(Moment(step.at, 1, len(moments), (plan, step)))
        now = self.story.now
        day, today = timezone.localdate(now - YEAR), timezone.localdate(now)
        while (end := _day_end(day)) < now:
            ago = (today - day).days
            if ago <= DAILY_SNAPSHOT_DAYS or ago % 7 == 0:
                moments.append(Moment(end, 2, len(moments), None))
            day += dt.timedelta(days=1)
        return sorted(moments)

    def take_ins(self) -> dict[tuple[int, dt.datetime], list[Plan]]:
        """A lead entering at MQL comes alone (a form: its time starts its clock); the
        others come in their channel's list of the month, fewer take-ins to run."""
        lists = self.story.list_days()
        groups: dict[tuple[int, dt.datetime], list[Plan]] = {}
        for plan in self.plans:
            at = plan.created_at
            if plan.channel.entry_stage != Stage.MQL:
                at = max(day for day in lists if day <= at)
            groups.setdefault((plan.channel.pk, at), []).append(plan)
        return groups

    def run(self) -> None:
        for moment in self.moments():
            if moment.order == 0:
                self.take_in(moment.at, *moment.what)
            elif moment.order == 1:
                plan, step = moment.what
                self.happen(self.leads[plan.email], step)
            else:
                self.end_of_day(moment.at)
        # The SLA check, had it run all along, would have breached the clocks that ran out.
        while breach_due_clocks(self.story.now, BREACH_BATCH):
            pass

    def end_of_day(self, at: dt.datetime) -> None:
        """What the scheduled tasks did after a day: the SLA check, then the snapshots
        (the day before `at`'s, as the nightly task stores it)."""
        while breach_due_clocks(at, BREACH_BATCH):
            pass
        report_services.take_snapshot(day=timezone.localdate(at) - dt.timedelta(days=1))
        pacing.snapshot_marketing_pacing(at)

    def take_in(self, at: dt.datetime, channel_pk: int, members: list[Plan]) -> None:
        """The demo leads of one list or form come in by the one way in."""
        campaign = self.campaigns[channel_pk]
        touch = TouchPoint(
            side=Activity.Side.MARKETING.value,
            kind=Activity.Kind.LIST_IMPORT.value,
            subject=f"Appeared in {campaign}"[:200],
            once_key=f"demo-seed:{campaign.pk}",
        )
        entry = Entry.prepare(channel=members[0].channel, campaign=campaign, touch=touch, at=at)
        rows = [
            CleanRow(n, plan.email, {"email": plan.email, **plan.values})
            for n, plan in enumerate(members, start=1)
        ]
        ids = take_in_leads(entry, rows).lead_ids
        found = Lead.objects.in_bulk([ids[plan.email] for plan in members])
        self.leads.update({plan.email: found[ids[plan.email]] for plan in members})

    def touch_point(self, lead: Lead, at: dt.datetime, campaign: Campaign) -> None:
        """Another campaign reaches a lead already in Accord (a webinar, a fair, …)."""
        touch = TouchPoint(
            side=Activity.Side.MARKETING.value,
            kind=Activity.Kind.LIST_IMPORT.value,
            subject=f"Appeared in {campaign}"[:200],
            once_key=f"demo-seed:{campaign.pk}",
        )
        entry = Entry.prepare(channel=campaign.channel, campaign=campaign, touch=touch, at=at)
        take_in_leads(entry, [CleanRow(1, lead.email, {"email": lead.email})])

    def happen(self, lead: Lead, step: Step) -> None:
        """Replay one step of a lead's story through its service, at the step's time."""
        args = step.args
        if step.action == "transition":
            name = args["name"]
            rest = {key: value for key, value in args.items() if key != "name"}
            services.run_transition(lead, name, by=step.by, at=step.at, **rest)
        elif step.action == "touch":
            services.log_touch(lead, by=step.by, kind=args["kind"], subject="Follow-up", at=step.at)
        elif step.action == "disqualify":
            services.disqualify_with_feedback(lead, by=step.by, at=step.at, **args)
        elif step.action == "junk":
            services.mark_junk(lead, by=step.by, at=step.at)
        elif step.action == "reply":
            feedback = Feedback.objects.filter(lead=lead, reply_to=None).latest("created_at")
            text = REPLIES[args["n"] % len(REPLIES)]
            services.reply_to_feedback(feedback, by=step.by, text=text, at=step.at)
        elif step.action == "campaign":
            self.touch_point(lead, step.at, self.campaigns[("touch", args["campaign"])])
            lead.refresh_from_db()
        elif step.action == "assign":
            services.reassign([lead], args["to"], by=step.by, reason=args["reason"], at=step.at)
            # reassign saves its own locked copy: ours is a version behind.
            lead.refresh_from_db()


def _day_end(day: dt.date) -> dt.datetime:
    """When the daily snapshot of a (site-local) day is taken: just after it, 00:05."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 5)))
