"""Companies: leads join one by their company domain (free-mail never), and a page per
company shows its people, their one timeline, deals, pipeline, reps and campaigns."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements import roles
from leads.models import Account, Activity, Deal, Lead
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CampaignFactory,
    LeadFactory,
    RepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CSV = """email,first name,last name,company,website
ada@engines.example,Ada,Lovelace,Analytical Engines,
charles@engines.example,Charles,Babbage,Analytical Engines,
grace@gmail.com,Grace,Hopper,Analytical Engines,
linus@hotmail.com,Linus,Berg,Berg Consulting,https://www.engines.example/about
ken@yahoo.com,Ken,Sato,Sato Labs,www.gmail.com
"""


def test_leads_join_their_company_by_domain_and_free_mail_never(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    call_command("import_leads", str(path), "--channel", "purchased-list", "--format", "json")
    by_email = {lead.email: lead for lead in Lead.objects.select_related("account")}
    engines = Account.objects.get(domain="engines.example")
    assert engines.name == "Analytical Engines"
    assert by_email["ada@engines.example"].account == engines
    assert by_email["charles@engines.example"].account == engines
    assert by_email["linus@hotmail.com"].account == engines  # by the website's domain
    assert by_email["grace@gmail.com"].account is None
    assert by_email["ken@yahoo.com"].account is None  # a free-mail "website" neither
    assert not Account.objects.filter(domain__in=["gmail.com", "hotmail.com", "yahoo.com"])


@pytest.fixture
def company(rep, other_rep, marketer):
    """Analytical Engines: Ada (the rep's, with a touch, a campaign and a won deal), Charles
    (a colleague's in another team, with a private note and an open deal), Mary (nobody's)."""
    account = AccountFactory(name="Analytical Engines", domain="engines.example")
    campaign = CampaignFactory(name="Difference Webinar")
    ada = LeadFactory(
        first_name="Ada", last_name="Lovelace", email="ada@engines.example", phone="+44 1",
        account=account, owner=rep, stage="working",
    )  # fmt: skip
    charles = LeadFactory(
        first_name="Charles", last_name="Babbage", email="charles@engines.example",
        phone="+44 2", account=account, owner=other_rep, stage="opportunity",
    )  # fmt: skip
    mary = LeadFactory(
        first_name="Mary", last_name="Somerville", email="mary@engines.example", account=account
    )
    ActivityFactory(lead=ada, actor=rep, subject="Intro call", is_touch=True)
    ActivityFactory(
        lead=ada, side=Activity.Side.MARKETING, kind=Activity.Kind.WEBINAR, campaign=campaign
    )
    ActivityFactory(lead=charles, actor=other_rep, subject="Secret pricing", is_touch=True)
    Deal.objects.create(lead=ada, account=account, amount=Decimal("25000"), status="won")
    Deal.objects.create(lead=charles, account=account, amount=Decimal("990000"))
    return {"account": account, "ada": ada, "charles": charles, "mary": mary}


def company_page(client, user, account, **params) -> str:
    client.force_login(user)
    response = client.get(reverse("customers:company", args=[account.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_company_page_shows_people_timeline_deals_pipeline_reps_and_campaigns(
    client, marketer, company
):
    page = company_page(client, marketer, company["account"])
    assert "Analytical Engines" in page
    for who in ("ada", "charles", "mary"):
        row = row_of(page, company[who].pk)
        assert company[who].get_absolute_url() in row
    assert "Working" in row_of(page, company["ada"].pk)
    assert "rep-west" in row_of(page, company["charles"].pk)
    assert "the lead desk" in row_of(page, company["mary"].pk)
    assert "Intro call" in page and "Secret pricing" in page  # one timeline for everyone
    assert 'data-testid="pipeline-open">990,000 EUR' in page
    assert 'data-testid="pipeline-won">25,000 EUR' in page
    assert "Difference Webinar" in page
    reps = section(page, "company-reps")
    assert "rep" in reps and "rep-west" in reps


def test_a_rep_sees_colleagues_people_only_as_existing_and_whose_they_are(client, rep, company):
    page = company_page(client, rep, company["account"])
    charles = row_of(page, company["charles"].pk)
    assert 'data-visible="no"' in charles
    assert "Charles Babbage" in charles and "rep-west" in charles
    assert company["charles"].get_absolute_url() not in page
    for secret in ("charles@engines.example", "Secret pricing", "990,000", "Opportunity"):
        assert secret not in page
    assert "Intro call" in page  # her own lead's events are there
    assert 'data-testid="pipeline-won">25,000 EUR' in page
    assert 'data-testid="pipeline-open">0 EUR' in page
    assert 'data-testid="hidden-note"' in page
    assert "rep-west" in section(page, "company-reps")  # who owns whom is no secret


def test_every_role_may_open_a_company_page_and_nobody_else(client, users_by_role, company):
    url = reverse("customers:company", args=[company["account"].pk])
    for user in users_by_role.values():
        client.force_login(user)
        assert client.get(url).status_code == 200
    client.force_login(UserFactory(username="no-role"))
    assert client.get(url).status_code == 403
    assert client.get(reverse("customers:company", args=[99999])).status_code in (403, 404)
    client.force_login(users_by_role[roles.OPS])
    assert client.get(reverse("customers:company", args=[99999])).status_code == 404


def test_the_page_costs_the_same_queries_however_many_people(client, rep, team, company):
    account = company["account"]
    client.force_login(rep)
    url = reverse("customers:company", args=[account.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    colleague = RepFactory(username="colleague", team=team)
    for n in range(30):
        lead = LeadFactory(account=account, owner=rep if n % 2 else colleague, stage="working")
        ActivityFactory(lead=lead, actor=rep, is_touch=True, campaign=CampaignFactory())
        Deal.objects.create(lead=lead, account=account, amount=Decimal(100 + n))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_people_and_the_timeline_are_paginated(client, marketer):
    account = AccountFactory()
    leads = [LeadFactory(account=account, last_name=f"Person{n:02d}") for n in range(30)]
    for lead in leads:
        for k in range(3):
            ActivityFactory(lead=lead, subject=f"event {lead.last_name}-{k}")
    first = company_page(client, marketer, account)
    assert first.count('<tr data-lead="') == 25
    assert "Page 1 of 2" in first
    second = company_page(client, marketer, account, page=2)
    assert second.count('<tr data-lead="') == 5
    assert first.count('<li class="tl-') == 50
    assert 'rel="next"' in section_by_id(first, "timeline")
    older = company_page(client, marketer, account, events=2)
    assert older.count('<li class="tl-') == 40
    assert company_page(client, marketer, account, events="junk").count('<li class="tl-') == 50


def test_user_text_on_the_company_page_is_escaped(client, marketer):
    account = AccountFactory(name="<b>Bold</b> & Co")
    lead = LeadFactory(account=account, first_name="<img src=x onerror=alert(1)>")
    ActivityFactory(lead=lead, subject="<script>x()</script>", body="<i>hi</i>")
    page = company_page(client, marketer, account)
    for raw in ("<b>Bold</b>", "<img src=x", "<script>x()", "<i>hi</i>"):
        assert raw not in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page


def test_the_lead_page_links_to_its_company(client, marketer, company):
    client.force_login(marketer)
    page = client.get(company["ada"].get_absolute_url()).content.decode()
    assert reverse("customers:company", args=[company["account"].pk]) in page


def test_the_company_list_finds_by_name_or_domain(client, marketer, company):
    AccountFactory(name="Other Works", domain="other.example")
    client.force_login(marketer)
    url = reverse("customers:companies")
    page = client.get(url, {"q": "engines"}).content.decode()
    assert "Analytical Engines" in page and "Other Works" not in page
    assert re.search(r'<td class="num">3</td>', page)  # its people
    page = client.get(url, {"q": "OTHER.example"}).content.decode()
    assert "Other Works" in page and "Analytical Engines" not in page
    assert "No company matches" in client.get(url, {"q": "zzz"}).content.decode()


def row_of(page: str, lead_id: int) -> str:
    match = re.search(rf'<tr data-lead="{lead_id}".*?</tr>', page, re.S)
    assert match, f"no row for lead {lead_id}"
    return match.group(0)


def section(page: str, testid: str) -> str:
    match = re.search(rf'<section[^>]*data-testid="{testid}".*?</section>', page, re.S)
    assert match, testid
    return match.group(0)


def section_by_id(page: str, element_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{element_id}".*?</section>', page, re.S)
    assert match, element_id
    return match.group(0)


def test_the_migration_gives_leads_without_a_company_theirs_by_domain():
    migration = importlib.import_module("customers.migrations.0004_accounts_by_domain")
    engines = AccountFactory(name="Analytical Engines", domain="engines.example")
    elsewhere = AccountFactory(name="Elsewhere", domain="elsewhere.example")
    ada = LeadFactory(email="ada@engines.example", account=None)
    kept = LeadFactory(email="kept@engines.example", account=elsewhere)
    new = LeadFactory(email="bob@newco.example", company="NewCo GmbH", account=None)
    site = LeadFactory(email="linus@gmail.com", website="https://engines.example/", account=None)
    free = LeadFactory(email="grace@gmail.com", website="gmail.com", account=None)
    migration.fill_accounts(django_apps, None)
    accounts = dict(Lead.objects.values_list("pk", "account__domain"))
    assert accounts[ada.pk] == accounts[site.pk] == "engines.example"
    assert accounts[kept.pk] == "elsewhere.example"
    assert accounts[new.pk] == "newco.example"
    assert Account.objects.get(domain="newco.example").name == "NewCo GmbH"
    assert accounts[free.pk] is None
    assert Account.objects.count() == 3
    assert engines.lead_set.count() == 2
