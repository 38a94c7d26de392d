"""The playbook page, the "what changed" view and signing a draft from the playbook."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from agreements import services
from agreements.models import Agreement, Channel, StageDefinition, Term
from agreements.stages import Stage
from tests.agreements.factories import ResponseRuleFactory, signed_and_active
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

PLAYBOOK = "/playbook/"


@pytest.fixture
def v1(marketer, manager, ops):
    return signed_and_active(Agreement.objects.get(version=1), marketer, manager, by=ops)


def page(client, user, url=PLAYBOOK):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(PLAYBOOK)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["Ops", "Marketing", "Sales rep", "Sales manager"])
def test_every_role_can_read_the_playbook(client, users_by_role, v1, role):
    html = page(client, users_by_role[role])
    assert "Marketing–Sales service-level agreement" in html


def test_playbook_shows_all_ten_stages_with_their_words(client, rep, v1):
    html = page(client, rep)
    for definition in StageDefinition.objects.all():
        assert f'data-stage="{definition.stage}"' in html
        assert definition.name in html
    assert html.count('data-stage="') == len(Stage.values) == 10
    assert "verified email and a demographic fit" in html.lower()


def test_playbook_shows_the_glossary(client, rep, v1):
    html = page(client, rep)
    for name in ("Contact", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead"):
        assert f"<dt>{name}" in html
    assert "Marketing Contribution" in html
    assert "How we measure it" in html


def test_playbook_shows_channels_with_their_follow_up_times(client, rep, v1):
    html = page(client, rep)
    for channel in Channel.objects.filter(is_active=True):
        assert f'data-channel="{channel.slug}"' in html
    assert "First touch within <strong>1 business hour</strong>" in html
    assert "an MQL: first touch within <strong>24 hours</strong> (around the clock)" in html


def test_inactive_channels_are_left_out(client, rep, v1):
    ChannelFactory(slug="fax", name="Fax campaign", is_active=False)
    assert 'data-channel="fax"' not in page(client, rep)


def test_playbook_shows_both_sides_commitments(client, rep, v1):
    html = page(client, rep)
    assert "What sales commits to" in html and "What marketing commits to" in html
    assert "<strong>6 touches</strong> within 14 days" in html
    assert "Minimum acceptance rate" in html
    assert "250,000" in html
    assert "Lead scoring is <strong>off</strong>" in html


def test_playbook_shows_untouched_thresholds_version_and_signatories(
    client, rep, v1, marketer, manager
):
    html = page(client, rep)
    assert "<strong>30</strong>, <strong>60</strong> and <strong>90 days</strong>" in html
    assert "Version 1 · Active" in html
    assert marketer.username in html and manager.username in html
    assert "in force since" in html


def test_playbook_includes_the_diagram_sources_and_vendored_mermaid(client, rep, v1):
    html = page(client, rep)
    assert 'id="lifecycle-diagram"' in html and 'id="channel-diagram"' in html
    assert "flowchart TB" in html and "flowchart LR" in html
    assert "/static/vendor/mermaid/mermaid.min.js" in html
    assert "<script>" not in html  # no inline JavaScript


def test_lifecycle_diagram_follows_the_graph_in_code(client, rep, v1):
    html = page(client, rep)
    assert "iql -. &quot;cold prospecting&quot; .-&gt; working" in html
    assert "opportunity --&gt; converted" in html


def test_edited_stage_definition_shows_on_the_playbook_once_in_force(
    client, rep, v1, marketer, manager, ops
):
    draft = services.clone(v1)
    definition = draft.definitions.get(stage="sql")
    definition.conditions = "Accepted by sales after a discovery call."
    definition.save()
    assert "Accepted by sales after a discovery call." not in page(client, rep)
    assert "Accepted by sales after a discovery call." in page(client, rep, f"{PLAYBOOK}?version=2")
    signed_and_active(draft, marketer, manager, by=ops)
    html = page(client, rep)
    assert "Accepted by sales after a discovery call." in html
    assert "Definition v2" in html


def test_playbook_before_any_activation_shows_the_draft(client, rep):
    html = page(client, rep)
    assert "Version 1 · Draft" in html
    assert "a draft" in html


def test_old_version_can_be_read(client, rep, v1, marketer, manager, ops):
    signed_and_active(services.clone(v1), marketer, manager, by=ops)
    html = page(client, rep, f"{PLAYBOOK}?version=1")
    assert "Version 1 · Superseded" in html
    assert "an old version" in html


def test_unknown_version_is_not_found(client, rep, v1):
    client.force_login(rep)
    assert client.get(f"{PLAYBOOK}?version=99").status_code == 404
    assert client.get(f"{PLAYBOOK}?version=abc").status_code == 404


def _playbook_queries(client, user, django_assert_num_queries, expected):
    client.force_login(user)
    with django_assert_num_queries(expected):
        assert client.get(PLAYBOOK).status_code == 200


def test_playbook_query_count_does_not_grow_with_content(
    client, rep, v1, marketer, manager, ops, django_assert_num_queries
):
    client.force_login(rep)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get(PLAYBOOK)
    draft = services.clone(v1)
    for n in range(5):
        channel = ChannelFactory(slug=f"extra-{n}", entry_stage="mql")
        ResponseRuleFactory(agreement=draft, channel=channel, within_amount=n + 1)
        Term.objects.create(name=f"Extra term {n}", definition="More words.")
    signed_and_active(draft, marketer, manager, by=ops)
    _playbook_queries(client, rep, django_assert_num_queries, len(before))


def test_playbook_content_is_read_in_nine_queries(v1, django_assert_num_queries):
    # agreement, its rules, touch goals and commitments, the version list,
    # stage definitions, terms, channels, holidays
    from agreements import queries

    with django_assert_num_queries(9):
        content = queries.playbook()
        assert len(content["definitions"]) == 10


# --- Signing from the playbook ---------------------------------------------------------------


def test_marketer_signs_a_draft_on_the_playbook(client, marketer):
    client.force_login(marketer)
    html = client.get(f"{PLAYBOOK}?version=1").content.decode()
    assert "Sign for marketing" in html and "Sign for sales" not in html
    response = client.post(reverse("agreements:sign", args=[1]), {"side": "marketing"})
    assert response.status_code == 302
    assert Agreement.objects.get(version=1).marketing_signed_by == marketer


def test_rep_sees_no_sign_button_and_cannot_sign(client, rep):
    client.force_login(rep)
    assert "Sign for" not in client.get(f"{PLAYBOOK}?version=1").content.decode()
    response = client.post(reverse("agreements:sign", args=[1]), {"side": "sales"}, follow=True)
    assert "must be signed by a Sales manager" in response.content.decode()
    assert Agreement.objects.get(version=1).sales_signed_by is None


def test_active_version_has_no_sign_button(client, manager, v1):
    assert "Sign for sales" not in page(client, manager)


# --- What changed ----------------------------------------------------------------------------


@pytest.fixture
def v2(v1):
    draft = services.clone(v1)
    demo = draft.rules.get(channel__slug="demo-request")
    demo.within_amount = 30
    demo.within_unit = "minutes"
    demo.save()
    draft.rules.get(channel__slug="referral").delete()
    ResponseRuleFactory(agreement=draft, channel=Channel.objects.get(slug="webinar"))
    month = draft.commitments.get(period="month")
    month.mqls = 150
    month.save()
    draft.untouched_days_1 = 21
    draft.lead_scoring_enabled = True
    draft.save()
    goal = draft.touch_goals.get()
    goal.touches = 8
    goal.save()
    return draft


def changes_page(client, user, query):
    return page(client, user, f"/playbook/changes/?{query}")


CHANGE_ROW = re.compile(
    r'<tr class="diff-row" data-testid="change">\s*<th scope="row">(.*?)</th>\s*'
    r'<td class="old"[^>]*>(.*?)</td>\s*<td class="new"[^>]*>(.*?)</td>',
    re.S,
)


def change_rows(html: str) -> dict[str, tuple[str, str]]:
    """What changed, as text: {what: (old wording, new wording)}."""

    def text(fragment: str) -> str:
        return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()

    return {text(w): (text(o), text(n)) for w, o, n in CHANGE_ROW.findall(html)}


def test_what_changed_lists_rule_differences(client, rep, v2):
    rows = change_rows(changes_page(client, rep, "from=1&to=2"))
    old, new = rows["Marketing Qualified Leads from Demo request"]
    assert "within 1 business hour" in old and "within 30 business minutes" in new
    assert rows["Marketing Qualified Leads from Referral"][1] == "(removed)"
    assert rows["Marketing Qualified Leads from Webinar"][0] == "(not there)"


def test_what_changed_marks_the_changed_words(client, rep, v2):
    html = changes_page(client, rep, "from=1&to=2")
    assert "<del>1</del>" in html and "<ins>30</ins>" in html


def test_what_changed_lists_commitments_thresholds_scoring_and_goals(client, rep, v2):
    rows = change_rows(changes_page(client, rep, "from=1&to=2"))
    assert "120 MQLs" in rows["Every month"][0] and "150 MQLs" in rows["Every month"][1]
    assert rows["Untouched after"] == ("30/60/90 days", "21/60/90 days")
    assert "Lead scoring is on" in rows["Lead scoring"][1]
    assert rows["Every lead"][1].startswith("8 touches within 14 days")


def test_what_changed_lists_calendar_differences(client, rep, v1):
    draft = services.clone(v1)
    calendar = draft.calendar
    calendar.time_zone = "America/New_York"
    calendar.save()
    rows = change_rows(changes_page(client, rep, "from=1&to=2"))
    assert rows["Time zone"] == ("Europe/Berlin", "America/New_York")


def test_what_changed_lists_terms_and_stage_definitions(client, rep, v1):
    draft = services.clone(v1)
    term = draft.terms.get(name="Marketing Qualified Lead")
    term.definition = "A lead that asked for sales <b>twice</b>."
    term.save()
    definition = draft.definitions.get(stage="sql")
    definition.exit_criteria = "A deal is opened."
    definition.save()
    html = changes_page(client, rep, "from=1&to=2")
    rows = change_rows(html)
    assert rows["Marketing Qualified Lead: definition"][1] == (
        "A lead that asked for sales <b>twice</b>."
    )
    assert "&lt;b&gt;" in html and "<b>twice" not in html
    assert rows["Sales Qualified: exit criteria"][1] == "A deal is opened."


def test_what_changed_defaults_to_the_previous_version(client, rep, v2):
    html = changes_page(client, rep, "to=2")
    assert "from version 1 to version 2" in html


def test_signed_side_has_no_button_and_the_draft_shows_what_changed(client, marketer, manager, v2):
    services.sign(v2, marketer, "marketing")
    client.force_login(marketer)
    html = client.get(f"{PLAYBOOK}?version=2").content.decode()
    assert "Sign for marketing" not in html
    assert 'id="what-changed"' in html and "<ins>30</ins>" in html
    client.force_login(manager)
    assert "Sign for sales" in client.get(f"{PLAYBOOK}?version=2").content.decode()


def test_identical_versions_say_so(client, rep, v1):
    services.clone(v1)
    html = changes_page(client, rep, "from=1&to=2")
    assert 'data-testid="no-changes"' in html


def test_playbook_links_to_what_changed(client, rep, v2, marketer, manager, ops):
    signed_and_active(v2, marketer, manager, by=ops)
    assert "/playbook/changes/?from=1&amp;to=2" in page(client, rep)
