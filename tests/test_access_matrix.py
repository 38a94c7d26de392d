"""Every URL × every role (and anonymous): login, role and row checks answer as expected.

The table below has one row per (URL name, which object, method). When an app adds
a named URL, `test_every_named_url_is_in_the_matrix` fails until the URL gets rows:
say what each role should get, in a line (`expect(403, marketing=200)`); a URL with
its own objects passes `kwargs=lambda world: {...}` (and `data=` for a POST).

Statuses: 200 page, 302 done-and-redirected, "login" a 302 to the login page,
401 no API token, 403 wrong role, 404 a row the user may not see, 405 wrong method.
A GET row's `data` is sent as its query string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from agreements import roles
from agreements.models import Agreement
from agreements.stages import Stage
from content import requests as content_requests
from content.models import Asset, SharedLink
from content.services import log_touch_with_assets
from customers.merge import merge_leads, plan_merge
from customers.models import Merge
from leads.models import Feedback, Lead
from tests.content.library_factories import AssetFactory, AssetKindFactory, link_for
from tests.factories import AccountFactory, FeedbackFactory, LeadFactory, RepFactory

# The apps whose every named URL must be in the matrix.
NAMESPACES = ("leads", "agreements", "reports", "customers", "content", "api")

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
    # Which object: "-" (none), "own" (the rep's), "other" (another team's), or a word
    # for the object's state ("draft", "revoked").
    target: str
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


# --- customers, content and api: their objects, made on first use in each test


def _once(world: Any, key: str, make: Callable[[], Any]) -> Any:
    """One object per test for `key`: the row's kwargs and data callables share it."""
    if key not in world.made:
        world.made[key] = make()
    return world.made[key]


def _owner(world: Any, target: str) -> Any:
    return world.rep if target == "own" else world.other_rep


def _lead_of(world: Any, target: str) -> Lead:
    return world.own_lead if target == "own" else world.other_lead


def _lead(target: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"lead_id": _lead_of(world, target).pk}


def _pair(world: Any, target: str) -> list[Lead]:
    """Two more leads of the rep (own) or of the other team's rep (other), to merge."""
    return _once(
        world,
        f"pair-{target}",
        lambda: [LeadFactory(owner=_owner(world, target), stage=Stage.MQL) for _ in range(2)],
    )


def _merge_ids(target: str, *, confirm: bool = False) -> Callable[[Any], dict[str, Any]]:
    """The merge page's ids (GET: the plan), and with `confirm` the versions seen (POST)."""

    def data(world: Any) -> dict[str, Any]:
        leads = _pair(world, target)
        answer: dict[str, Any] = {"ids": ",".join(str(lead.pk) for lead in leads)}
        if confirm:
            answer["action"] = "merge"
            answer.update({f"version_{lead.pk}": lead.version for lead in leads})
        return answer

    return data


def _merge(target: str) -> Callable[[Any], dict[str, Any]]:
    """A merge Ops made of two leads of the rep (own) or of the other team (other)."""

    def make(world: Any) -> Merge:
        ops = world.users[OPS]
        return merge_leads(plan_merge(_pair(world, target), ops), ops)

    return lambda world: {"merge_id": _once(world, f"merge-{target}", lambda: make(world)).pk}


def _dismiss(world: Any) -> dict[str, Any]:
    return {"ids": f"{world.own_lead.pk},{world.other_lead.pk}"}


def _search(world: Any) -> dict[str, Any]:
    return {"q": world.own_lead.email}


def _company(world: Any) -> dict[str, Any]:
    """A company with a lead of the rep and one of the other team's rep."""
    account = AccountFactory()
    LeadFactory(owner=world.rep, account=account, stage=Stage.MQL)
    LeadFactory(owner=world.other_rep, account=account, stage=Stage.MQL)
    return {"account_id": account.pk}


def _asset_of(world: Any, status: str = Asset.Status.PUBLISHED) -> Asset:
    return _once(world, f"asset-{status}", lambda: AssetFactory(status=status))


def _asset(status: str = Asset.Status.PUBLISHED) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"asset_id": _asset_of(world, status).pk}


def _version_file(status: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"asset_id": _asset_of(world, status).pk, "number": 1}


def _new_asset(world: Any) -> dict[str, Any]:
    return {
        "title": "Matrix deck",
        "kind": AssetKindFactory().pk,
        "link_url": "https://example.com/matrix-deck",
    }


def _edit_asset(world: Any) -> dict[str, Any]:
    return {"title": "Matrix deck, second edition", "kind": _asset_of(world).kind_id}


def _replace_asset(world: Any) -> dict[str, Any]:
    return {"link_url": "https://example.com/matrix-deck-2", "note": "New figures"}


def _share(target: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"lead_id": _lead_of(world, target).pk, "asset_id": _asset_of(world).pk}


def _touch_with_asset(world: Any) -> dict[str, Any]:
    return {"kind": "call", "subject": "Matrix call", "assets": [_asset_of(world).pk]}


def _link_of(world: Any, target: str) -> SharedLink:
    return _once(
        world,
        f"link-{target}",
        lambda: link_for(_lead_of(world, target), _asset_of(world), _owner(world, target)),
    )


def _link(target: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {"link_id": _link_of(world, target).pk}


def _token(revoked: bool = False) -> Callable[[Any], dict[str, Any]]:
    def kwargs(world: Any) -> dict[str, Any]:
        link = _link_of(world, "own")
        if revoked:
            SharedLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
        return {"token": link.token}

    return kwargs


def _rating(world: Any) -> dict[str, Any]:
    """The rep and their manager each used the asset on the rep's lead: they may rate it."""
    asset = _asset_of(world)
    for user in (world.rep, world.users[MGR]):
        log_touch_with_assets(
            world.own_lead, by=user, kind="call", subject="Matrix call", assets=[asset]
        )
    return {"version": asset.current_version_id, "helped": "yes", "reason": "The CFO read it."}


def _content_request(target: str) -> Callable[[Any], dict[str, Any]]:
    def make(world: Any) -> Any:
        return content_requests.request_content(_owner(world, target), "A deck for healthcare CFOs")

    return lambda world: {"pk": _once(world, f"request-{target}", lambda: make(world)).pk}


def _ask(target: str) -> Callable[[Any], dict[str, Any]]:
    return lambda world: {
        "text": "A deck for healthcare CFOs",
        "lead": _lead_of(world, target).pk,
    }


def _answer(world: Any) -> dict[str, Any]:
    return {"text": "The CFO deck is in the library."}


API_NO_TOKEN = expect(401, anonymous=401)
SALES = {"rep": 302, "manager": 302}
MARKETING_SIDE = {"ops": 302, "marketing": 302}


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
    # --- customers: duplicates (ops and marketing review; managers read their leads' groups)
    Row("customers:duplicates", "-", "get", expect(200, rep=403)),
    Row("customers:duplicates_dismiss", "-", "get", ALL_405),
    Row("customers:duplicates_dismiss", "-", "post", expect(403, **MARKETING_SIDE), _dismiss),
    Row("customers:duplicate_hint", "own", "get", EVERYONE, kwargs=_lead("own")),
    Row(
        "customers:duplicate_hint",
        "other",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_lead("other"),
    ),
    # --- customers: merge with undo (not reps; a manager merges the leads he may see)
    Row("customers:merge_plan", "own", "get", expect(200, rep=403), _merge_ids("own")),
    # Ids of leads the user may not see are refused like ids that do not exist (400).
    Row(
        "customers:merge_plan",
        "other",
        "get",
        expect(200, rep=403, manager=400),
        _merge_ids("other"),
    ),
    Row(
        "customers:merge_plan", "own", "post", expect(302, rep=403), _merge_ids("own", confirm=True)
    ),
    Row(
        "customers:merge_plan",
        "other",
        "post",
        expect(302, rep=403, manager=400),
        _merge_ids("other", confirm=True),
    ),
    Row("customers:merge_list", "-", "get", expect(200, rep=403)),
    Row("customers:merge_detail", "own", "get", expect(200, rep=403), kwargs=_merge("own")),
    Row(
        "customers:merge_detail",
        "other",
        "get",
        expect(200, rep=403, manager=404),
        kwargs=_merge("other"),
    ),
    Row("customers:merge_undo", "own", "get", expect(200, rep=403), kwargs=_merge("own")),
    Row(
        "customers:merge_undo",
        "other",
        "get",
        expect(200, rep=403, manager=404),
        kwargs=_merge("other"),
    ),
    Row("customers:merge_undo", "own", "post", expect(302, rep=403), kwargs=_merge("own")),
    Row(
        "customers:merge_undo",
        "other",
        "post",
        expect(302, rep=403, manager=404),
        kwargs=_merge("other"),
    ),
    Row("customers:merge_hint", "own", "get", EVERYONE, kwargs=_lead("own")),
    Row(
        "customers:merge_hint",
        "other",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_lead("other"),
    ),
    # --- customers: search and companies (everyone; a colleague's lead shows only its owner)
    Row("customers:search", "-", "get", EVERYONE, _search),
    Row("customers:companies", "-", "get", EVERYONE),
    Row("customers:company", "-", "get", EVERYONE, kwargs=_company),
    # --- content: the library (marketing and ops change it; sales sees published assets)
    Row("content:library", "-", "get", EVERYONE),
    Row("content:asset_new", "-", "get", expect(403, ops=200, marketing=200)),
    Row("content:asset_new", "-", "post", expect(403, **MARKETING_SIDE), _new_asset),
    Row("content:asset", "-", "get", EVERYONE, kwargs=_asset()),
    Row(
        "content:asset",
        "draft",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_asset(Asset.Status.DRAFT),
    ),
    Row("content:asset_edit", "-", "get", expect(403, ops=200, marketing=200), kwargs=_asset()),
    Row(
        "content:asset_edit",
        "-",
        "post",
        expect(403, **MARKETING_SIDE),
        _edit_asset,
        kwargs=_asset(),
    ),
    Row("content:asset_replace", "-", "get", expect(403, ops=200, marketing=200), kwargs=_asset()),
    Row(
        "content:asset_replace",
        "-",
        "post",
        expect(403, **MARKETING_SIDE),
        _replace_asset,
        kwargs=_asset(),
    ),
    Row("content:asset_publish", "draft", "get", ALL_405, kwargs=_asset(Asset.Status.DRAFT)),
    Row(
        "content:asset_publish",
        "draft",
        "post",
        expect(403, **MARKETING_SIDE),
        kwargs=_asset(Asset.Status.DRAFT),
    ),
    Row("content:asset_retire", "-", "get", ALL_405, kwargs=_asset()),
    Row("content:asset_retire", "-", "post", expect(403, **MARKETING_SIDE), kwargs=_asset()),
    # A version's link (a redirect to it) or file, for those who may see the asset.
    Row(
        "content:version_file",
        "-",
        "get",
        expect(302),
        kwargs=_version_file(Asset.Status.PUBLISHED),
    ),
    Row(
        "content:version_file",
        "draft",
        "get",
        expect(302, rep=404, manager=404),
        kwargs=_version_file(Asset.Status.DRAFT),
    ),
    # --- content on the lead page (the lead's rep and manager share and log touches)
    Row("content:lead_panel", "own", "get", EVERYONE, kwargs=_lead("own")),
    Row(
        "content:lead_panel",
        "other",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_lead("other"),
    ),
    Row("content:lead_picker", "own", "get", EVERYONE, kwargs=_lead("own")),
    Row(
        "content:lead_picker",
        "other",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_lead("other"),
    ),
    Row("content:lead_touch", "own", "get", ALL_405, kwargs=_lead("own")),
    Row(
        "content:lead_touch",
        "own",
        "post",
        expect(403, **SALES),
        _touch_with_asset,
        kwargs=_lead("own"),
    ),
    Row(
        "content:lead_touch",
        "other",
        "post",
        expect(403, rep=404, manager=404),
        _touch_with_asset,
        kwargs=_lead("other"),
    ),
    Row("content:lead_share", "own", "get", ALL_405, kwargs=_share("own")),
    Row("content:lead_share", "own", "post", expect(403, **SALES), kwargs=_share("own")),
    Row(
        "content:lead_share",
        "other",
        "post",
        expect(403, rep=404, manager=404),
        kwargs=_share("other"),
    ),
    # Only published assets are shared.
    Row(
        "content:lead_share",
        "draft",
        "post",
        expect(404),
        kwargs=lambda world: {
            "lead_id": world.own_lead.pk,
            "asset_id": _asset_of(world, Asset.Status.DRAFT).pk,
        },
    ),
    Row("content:link_revoke", "own", "get", ALL_405, kwargs=_link("own")),
    Row("content:link_revoke", "own", "post", expect(302), kwargs=_link("own")),
    Row(
        "content:link_revoke",
        "other",
        "post",
        expect(302, rep=404, manager=404),
        kwargs=_link("other"),
    ),
    # The tracked link: no login; a revoked one is 404 for everyone.
    Row("content:open", "-", "get", expect(302, anonymous=302), kwargs=_token()),
    Row("content:open", "revoked", "get", expect(404, anonymous=404), kwargs=_token(True)),
    # --- content: ratings (the reps and managers who used an asset) and requests
    Row("content:lead_feedback", "own", "get", EVERYONE, kwargs=_lead("own")),
    Row(
        "content:lead_feedback",
        "other",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_lead("other"),
    ),
    Row("content:rate", "own", "get", expect(403, rep=405, manager=405), kwargs=_lead("own")),
    Row("content:rate", "own", "post", expect(403, **SALES), _rating, kwargs=_lead("own")),
    Row(
        "content:rate",
        "other",
        "post",
        expect(403, rep=404, manager=404),
        _rating,
        kwargs=_lead("other"),
    ),
    Row("content:requests", "-", "get", EVERYONE),
    Row("content:request_new", "-", "get", expect(403, rep=200, manager=200)),
    Row("content:request_new", "own", "post", expect(403, **SALES), _ask("own")),
    Row("content:request_new", "other", "post", expect(403, rep=404, manager=404), _ask("other")),
    Row("content:request_detail", "own", "get", EVERYONE, kwargs=_content_request("own")),
    Row(
        "content:request_detail",
        "other",
        "get",
        expect(200, rep=404, manager=404),
        kwargs=_content_request("other"),
    ),
    Row(
        "content:request_answer",
        "own",
        "get",
        expect(403, ops=405, marketing=405),
        kwargs=_content_request("own"),
    ),
    Row(
        "content:request_answer",
        "own",
        "post",
        expect(403, **MARKETING_SIDE),
        _answer,
        kwargs=_content_request("own"),
    ),
    Row(
        "content:request_take",
        "own",
        "get",
        expect(403, ops=405, marketing=405),
        kwargs=_content_request("own"),
    ),
    Row(
        "content:request_take",
        "own",
        "post",
        expect(403, **MARKETING_SIDE),
        kwargs=_content_request("own"),
    ),
    # --- api: a token, not a session, opens /api/v1/ (signed in without one: 401)
    Row("api:leads", "-", "get", API_NO_TOKEN),
    Row("api:leads", "-", "post", API_NO_TOKEN),
    Row("api:lead", "own", "get", API_NO_TOKEN, kwargs=_lead("own")),
    Row("api:activities", "-", "post", API_NO_TOKEN),
    Row("api:merges", "-", "post", API_NO_TOKEN, _merge_ids("own", confirm=True)),
    Row("api:merge_undo", "own", "post", API_NO_TOKEN, kwargs=_merge("own")),
    Row("api:suppression", "-", "get", API_NO_TOKEN),
    # The schema and its docs are for everyone signed in to Accord.
    Row("api:schema", "-", "get", expect(200, anonymous=403)),
    Row("api:docs", "-", "get", expect(200)),
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
        self.made: dict[str, Any] = {}  # objects of the rows' callables (_once)

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
    data = world.data(row)
    response = client.post(url, data) if row.method == "post" else client.get(url, data)
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
