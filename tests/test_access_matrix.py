"""Every URL × every role (and anonymous): login, role and row checks answer as expected.

The table below has one row per (URL name, which object, method). When an app adds
a named URL, `test_every_named_url_is_in_the_matrix` fails until the URL gets rows:
say what each role should get, in a line (`expect(403, marketing=200)`); a URL with
its own objects passes `kwargs=lambda world: {...}` (and `data=` for a POST).

Statuses: 200 page, 302 done-and-redirected, "login" a 302 to the login page,
403 wrong role, 404 a row the user may not see, 405 wrong method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agreements import roles
from agreements.models import Agreement
from agreements.stages import Stage
from leads.models import Feedback
from tests.factories import FeedbackFactory, LeadFactory, RepFactory

# The apps whose every named URL must be in the matrix.
NAMESPACES = ("leads", "agreements", "reports")

ANON, OPS, MKT, MGR, REP = "anonymous", "ops", "marketing", "manager", "rep"
WHO = (ANON, OPS, MKT, MGR, REP)
LOGIN = "login"


def expect(default: Any = 403, anonymous: Any = LOGIN, **by_role: Any) -> dict[str, Any]:
    """Expected status per role: `default` for the roles not named."""
    return {ANON: anonymous, **{who: by_role.get(who, default) for who in WHO[1:]}}


EVERYONE = expect(200)
ALL_405 = expect(405, anonymous=405)


@dataclass(frozen=True)
class Row:
    name: str
    target: str  # which object: "-" (none), "own" (the rep's), "other" (another team's)
    method: str
    expected: dict[str, Any]
    data: Callable[[Any], dict[str, Any]] | None = None
    # The URL's kwargs from the World, for URLs World.url does not know (e.g. your own objects).
    kwargs: Callable[[Any], dict[str, Any]] | None = None


def _touch(world: Any) -> dict[str, Any]:
    return {"kind": "call", "subject": "Matrix call"}


def _start_working(world: Any) -> dict[str, Any]:
    return {"name": "start_working", "version": world.own_lead.version}


def _reassign(world: Any) -> dict[str, Any]:
    return {"to_user": world.teammate.pk, "reason": "matrix"}


def _reply(world: Any) -> dict[str, Any]:
    return {"text": "Thanks"}


def _sign(world: Any) -> dict[str, Any]:
    return {"side": "marketing"}


def _junk(world: Any) -> dict[str, Any]:
    return {"stage": Stage.MQL}


def _version(world: Any) -> dict[str, Any]:
    return {"version": world.draft.version}


def _batch(world: Any) -> dict[str, Any]:
    from leads.importing.batches import create_batch

    batch, _ = create_batch(
        b"email,first_name\nmatrix@example.com,Max\n",
        "matrix.csv",
        channel=world.own_lead.channel,
        by=world.users[MKT],
    )
    return {"batch_id": batch.pk}


def _report(key: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"key": key}


def _export(key: str, fmt: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"key": key, "fmt": fmt}


def _channel(world: Any) -> dict[str, Any]:
    return {"channel_slug": world.own_lead.channel.slug}


MATRIX: list[Row] = [
    # --- leads: homes and queues
    Row("leads:home", "-", "get", expect(302)),
    Row("leads:queue", "-", "get", expect(403, rep=200, manager=200)),
    Row("leads:team", "-", "get", expect(403, manager=200)),
    Row("leads:team_rep", "own", "get", expect(403, manager=200)),
    Row("leads:team_rep", "other", "get", expect(403, manager=404)),
    Row("leads:desk", "-", "get", expect(403, manager=200)),
    Row("leads:reassign", "-", "get", ALL_405),
    Row("leads:reassign", "own", "post", expect(403, manager=302), _reassign),
    Row("leads:reassign", "other", "post", expect(403, manager=404), _reassign),
    # --- leads: marketing and ops
    Row("leads:marketing", "-", "get", expect(403, marketing=200, ops=200)),
    Row("leads:imports", "-", "get", expect(403, marketing=200, ops=200)),
    Row("leads:ops", "-", "get", expect(403, ops=200)),
    Row("leads:feedback_reply", "own", "get", ALL_405),
    Row("leads:feedback_reply", "own", "post", expect(302), _reply),
    Row("leads:feedback_reply", "other", "post", expect(302, rep=404, manager=404), _reply),
    # --- leads: list imports (marketing and ops) and the token-authenticated intake API
    Row("leads:import_detail", "-", "get", expect(403, marketing=302, ops=302), kwargs=_batch),
    Row("leads:import_mapping", "-", "get", expect(403, marketing=200, ops=200), kwargs=_batch),
    Row("leads:import_preview", "-", "get", expect(403, marketing=200, ops=200), kwargs=_batch),
    Row("leads:import_progress", "-", "get", expect(403, marketing=200, ops=200), kwargs=_batch),
    Row("leads:import_errors", "-", "get", expect(403, marketing=200, ops=200), kwargs=_batch),
    Row("leads:import_confirm", "-", "get", ALL_405, kwargs=_batch),
    Row("leads:import_confirm", "-", "post", expect(403, marketing=302, ops=302), kwargs=_batch),
    # The plan page; a batch still being uploaded sends people back to it.
    Row("leads:import_revert", "-", "get", expect(403, marketing=302, ops=302), kwargs=_batch),
    Row("leads:import_revert", "-", "post", expect(403, marketing=302, ops=302), kwargs=_batch),
    Row("leads:import_retry", "-", "get", ALL_405, kwargs=_batch),
    Row("leads:import_retry", "-", "post", expect(403, marketing=302, ops=302), kwargs=_batch),
    Row("leads:intake", "-", "get", ALL_405, kwargs=_channel),
    Row("leads:intake", "-", "post", expect(401, anonymous=401), kwargs=_channel),
    # --- leads: the lead page and its actions
    Row("leads:detail", "own", "get", EVERYONE),
    Row("leads:detail", "other", "get", expect(200, rep=404, manager=404)),
    Row("leads:touch", "own", "get", ALL_405),
    Row("leads:touch", "own", "post", expect(403, rep=302, manager=302), _touch),
    Row("leads:touch", "other", "post", expect(403, rep=404, manager=404), _touch),
    Row("leads:transition", "own", "get", ALL_405),
    Row("leads:transition", "own", "post", expect(403, rep=302, manager=302), _start_working),
    Row("leads:transition", "other", "post", expect(403, rep=404, manager=404), _start_working),
    Row("leads:junk", "own", "get", ALL_405),
    Row("leads:junk", "own", "post", expect(302), _junk),
    Row("leads:junk", "other", "post", expect(302, rep=404, manager=404), _junk),
    # --- agreements
    Row("leads:playbook", "-", "get", EVERYONE),
    Row("agreements:changes", "-", "get", EVERYONE),
    Row("agreements:sign", "-", "get", expect(405)),
    Row("agreements:sign", "-", "post", expect(302), _sign),
    Row("agreements:new_draft", "-", "get", expect(405), kwargs=_version),
    Row("agreements:new_draft", "-", "post", expect(403, ops=302), kwargs=_version),
    Row("agreements:request_signatures", "-", "get", expect(405), kwargs=_version),
    Row("agreements:request_signatures", "-", "post", expect(403, ops=302), kwargs=_version),
    Row("agreements:content", "-", "get", EVERYONE, kwargs=_version),
    # --- reports
    Row("reports:index", "-", "get", EVERYONE),
    Row("reports:report", "-", "get", expect(200, marketing=403), kwargs=_report("sales")),
    Row("reports:report", "-", "get", expect(200, rep=403), kwargs=_report("delivery")),
    Row(
        "reports:report", "-", "get", expect(200, rep=403, marketing=403), kwargs=_report("trends")
    ),
    Row("reports:report", "-", "get", expect(404, anonymous=LOGIN), kwargs=_report("nope")),
    Row("reports:export", "-", "get", expect(200, marketing=403), kwargs=_export("sales", "csv")),
    Row("reports:export", "-", "get", expect(200, rep=403), kwargs=_export("pipeline", "xlsx")),
    Row(
        "reports:export",
        "-",
        "get",
        expect(404, anonymous=LOGIN, marketing=403),
        kwargs=_export("sales", "pdf"),
    ),
    Row("reports:drilldown", "-", "get", expect(200, marketing=403), kwargs=_report("sales")),
    Row("reports:drilldown", "-", "get", expect(200, rep=403), kwargs=_report("delivery")),
    Row("reports:report", "-", "get", expect(200, rep=403), kwargs=_report("content")),
    Row("reports:drilldown", "-", "get", expect(200, rep=403), kwargs=_report("content")),
]


class World:
    """A rep and a teammate in one team, a rep in another team, their leads and feedback."""

    def __init__(self, users: dict[str, Any], rep: Any, other_rep: Any) -> None:
        self.users = users
        self.rep = rep
        self.other_rep = other_rep
        self.teammate = RepFactory(username="teammate", team=rep.rep_profile.team)
        self.own_lead = LeadFactory(owner=rep, stage=Stage.MQL)
        self.other_lead = LeadFactory(owner=other_rep, stage=Stage.MQL)
        self.own_feedback = FeedbackFactory(lead=self.own_lead, author=rep)
        self.other_feedback = FeedbackFactory(lead=self.other_lead, author=other_rep)
        self.draft = Agreement.objects.create(version=990, status=Agreement.Status.DRAFT)

    def url(self, row: Row) -> str:
        name = row.name
        own = row.target != "other"
        lead = self.own_lead if own else self.other_lead
        feedback: Feedback = self.own_feedback if own else self.other_feedback
        kwargs: dict[str, Any] = {}
        if row.kwargs is not None:
            kwargs = row.kwargs(self)
        elif name in ("leads:detail", "leads:touch", "leads:transition", "leads:junk"):
            kwargs = {"lead_id": lead.pk}
        elif name == "leads:team_rep":
            kwargs = {"user_id": (self.rep if own else self.other_rep).pk}
        elif name == "leads:feedback_reply":
            kwargs = {"feedback_id": feedback.pk}
        elif name == "agreements:sign":
            kwargs = {"version": self.draft.version}
        return reverse(name, kwargs=kwargs)

    def data(self, row: Row) -> dict[str, Any]:
        data = row.data(self) if row.data else {}
        if row.name == "leads:reassign":
            data["leads"] = [(self.own_lead if row.target != "other" else self.other_lead).pk]
        return data


@pytest.fixture
def world(users_by_role, rep, other_rep) -> World:
    by_who = {
        OPS: users_by_role[roles.OPS],
        MKT: users_by_role[roles.MARKETING],
        MGR: users_by_role[roles.SALES_MANAGER],
        REP: users_by_role[roles.SALES_REP],
    }
    return World(by_who, rep, other_rep)


def _named_urls(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            names |= _named_urls(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name and namespace in NAMESPACES:
            names.add(f"{namespace}:{pattern.name}")
    return names


def test_every_named_url_is_in_the_matrix():
    missing = _named_urls(get_resolver()) - {row.name for row in MATRIX}
    assert not missing, f"Add rows to MATRIX for: {sorted(missing)}"


def test_every_matrix_row_is_a_real_url():
    stale = {row.name for row in MATRIX} - _named_urls(get_resolver())
    assert not stale, f"Remove rows from MATRIX for: {sorted(stale)}"


CASES = [(row, who) for row in MATRIX for who in WHO]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "who"), CASES, ids=[f"{r.name}-{r.target}-{r.method}-{w}" for r, w in CASES]
)
def test_access(client: Client, world: World, row: Row, who: str):
    url = world.url(row)
    if who != ANON:
        client.force_login(world.users[who])
    response = client.post(url, world.data(row)) if row.method == "post" else client.get(url)
    wanted = row.expected[who]
    if wanted == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == wanted
        if wanted == 302:
            assert not response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_posts_need_a_csrf_token(rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    url = reverse("leads:touch", args=[lead.pk])

    refused = client.post(url, {"kind": "call", "subject": "Intro"})
    page = client.get(lead.get_absolute_url())
    token = page.context["csrf_token"]
    accepted = client.post(
        url, {"kind": "call", "subject": "Intro", "csrfmiddlewaretoken": str(token)}
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
