"""The header's search: people by name, email, company and phone, companies by name or domain;
a rep sees a colleague's lead only as existing and owned by someone."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import sql
from customers.merge import merge_leads, plan_merge
from customers.search import search
from leads.models import PERSON_FIELDS, Lead, LeadSearch, search_text
from tests.factories import AccountFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(rep):
    account = AccountFactory(name="Analytical Engines", domain="engines.example")
    return LeadFactory(
        first_name="Ada",
        last_name="Lovelace",
        email="ada.lovelace@engines.example",
        company="Analytical Engines Ltd",
        phone="+44 (20) 7946-0958",
        account=account,
        owner=rep,
    )


@pytest.fixture
def grace(other_rep):
    return LeadFactory(
        first_name="Grace",
        last_name="Hopper",
        email="grace.hopper@navy.example",
        company="US Navy",
        phone="+1 555 010 9999",
        owner=other_rep,
    )


def found(user, text):
    return [p.lead for p in search(user, text).people]


@pytest.mark.parametrize(
    "text",
    ["Ada", "lovelace", "ada lovelace", "LOVELACE ada", "ada.lovelace@", "engines.example",
     "Analytical", "analytical engines ltd", "7946 0958", "+44 20 7946-0958", "442079460958"],
)  # fmt: skip
def test_people_by_name_email_company_and_phone(marketer, ada, grace, text):
    assert found(marketer, text) == [ada]


def test_phone_digits_match_however_the_number_was_written(marketer, grace):
    assert found(marketer, "(555) 010-9999") == [grace]
    assert found(marketer, "0109999") == [grace]


def test_a_merged_address_finds_the_survivor_and_the_merged_lead_is_gone(marketer, ada):
    twin = LeadFactory(
        first_name="Augusta", last_name="King", email="augusta.king@home.example", company=""
    )
    merge_leads(plan_merge([ada, twin], marketer, survivor=ada.pk), marketer)
    people = search(marketer, "augusta.king@home").people
    assert [(p.lead, p.matched) for p in people] == [(ada, "alias")]
    for text in ("augusta", "king", "lovelace", "home.example"):
        assert twin.pk not in [lead.pk for lead in found(marketer, text)]  # merged away


def test_merged_leads_take_no_candidate_places_and_do_not_count_as_more(marketer, ada):
    """The search's SQL reads current leads only: merged leads used to fill the candidate
    places (crowding out current ones) and made a search say there were more people."""
    twin = LeadFactory(first_name="Augusta", last_name="Ada", email="ada@home.example")
    merge_leads(plan_merge([ada, twin], marketer, survivor=ada.pk), marketer)
    assert sql.lead_ids_containing(["ada"], 10) == [ada.pk]


def test_a_two_letter_term_matches_the_start_of_a_word(marketer, ada, grace):
    assert found(marketer, "lo") == [ada]  # Lovelace
    assert found(marketer, "gr") == [grace]  # Grace, grace.hopper@
    assert found(marketer, "ve") == []  # inside "Lovelace", not a word's start
    assert found(marketer, "ada lo") == [ada]
    assert search(marketer, "an").companies == [ada.account]


def test_companies_by_name_or_domain(marketer, ada):
    assert search(marketer, "analytical").companies == [ada.account]
    assert search(marketer, "ENGINES.EXAMPLE").companies == [ada.account]
    assert search(marketer, "navy").companies == []


def test_like_wildcards_in_the_query_are_plain_characters(marketer, ada, grace):
    assert found(marketer, "a%e") == []
    assert found(marketer, "a_a") == []
    LeadFactory(first_name="Fifty%", last_name="Off_Sale", email="promo@shop.example")
    assert [lead.email for lead in found(marketer, "fifty%")] == ["promo@shop.example"]
    assert [lead.email for lead in found(marketer, "y%_o")] == []
    assert [lead.email for lead in found(marketer, "off_sale")] == ["promo@shop.example"]


def test_exact_matches_come_first_and_the_list_is_limited(marketer):
    for n in range(30):
        LeadFactory(first_name="Sam", last_name=f"Samson{n:02d}", email=f"sam{n}@acme.example")
    exact = LeadFactory(first_name="X", last_name="Y", email="sam@acme.example")
    results = search(marketer, "sam@acme.example")
    assert results.people[0].lead == exact
    results = search(marketer, "sam")
    assert len(results.people) == 20
    assert results.more_people


def test_a_rep_sees_a_colleagues_lead_only_as_existing_and_whose_it_is(client, rep, ada, grace):
    """Acceptance: her own lead in full; a colleague's: the person exists, who owns it, no
    email, phone or link to a page she cannot open."""
    client.force_login(rep)
    page = client.get(reverse("customers:search"), {"q": "example"}).content.decode()
    own = row_of(page, ada.pk)
    assert "ada.lovelace@engines.example" in own
    assert ada.get_absolute_url() in own
    assert 'data-visible="yes"' in own
    other = row_of(page, grace.pk)
    assert 'data-visible="no"' in other
    assert "Grace Hopper" in other
    assert "rep-west" in other  # the owner
    # The phone as stored and its digits ("555" alone was found in a lead id, data-lead="1555").
    for secret in ("grace.hopper", "navy.example", "555 010", "0109999", "US Navy", "/leads/"):
        assert secret not in other
    assert "grace.hopper" not in page
    assert grace.get_absolute_url() not in page
    # And the page she cannot open really is closed to her.
    assert client.get(grace.get_absolute_url()).status_code == 404


def test_a_manager_sees_her_teams_leads_in_full_and_others_only_as_existing(manager, ada, grace):
    people = {p.lead: p.visible for p in search(manager, "example").people}
    assert people == {ada: True, grace: False}


def test_marketing_and_ops_see_everyone_in_full(marketer, ops, ada, grace):
    for user in (marketer, ops):
        assert all(p.visible for p in search(user, "example").people)


def test_the_page_states_too_short_no_results_and_keeps_the_text(client, rep, ada):
    client.force_login(rep)
    url = reverse("customers:search")
    page = client.get(url, {"q": "a"}).content.decode()
    assert 'data-testid="search-too-short"' in page
    assert "at least 2 characters" in page
    page = client.get(url, {"q": "zzqq nobody"}).content.decode()
    assert 'data-testid="search-no-results"' in page
    assert 'value="zzqq nobody"' in page  # the header's box keeps the text
    page = client.get(url).content.decode()
    assert 'data-testid="search-empty-query"' in page
    page = client.get(url, {"q": "|| |"}).content.decode()
    assert 'data-testid="search-no-results"' in page


def test_user_text_is_escaped(client, marketer):
    LeadFactory(first_name="<script>alert(1)</script>", last_name="Evil", email="e@evil.example")
    client.force_login(marketer)
    page = client.get(reverse("customers:search"), {"q": '<script>"x'}).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert 'value="&lt;script&gt;&quot;x"' in page


def test_only_signed_in_users_with_a_role_search(client, ada):
    url = reverse("customers:search")
    assert client.get(url, {"q": "ada"}).status_code == 302
    client.force_login(UserFactory(username="nobody"))
    assert client.get(url, {"q": "ada"}).status_code == 403


def test_the_search_costs_the_same_queries_however_many_match(client, marketer, ada):
    client.force_login(marketer)
    url = reverse("customers:search")
    client.get(url, {"q": "lovelace"})
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "lovelace"})
    for n in range(40):
        LeadFactory(first_name="Ada", last_name=f"Lovelace{n}", email=f"l{n}@engines.example")
    with CaptureQueriesContext(connection) as many:
        client.get(url, {"q": "lovelace"})
    assert len(many) == len(few)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are Postgres's")
@pytest.mark.parametrize(
    ("table", "text", "index"),
    [(sql.LEAD_SEARCH_TABLE, "text", "lead_search_trgm"),
     ("leads_account", sql.ACCOUNT_TEXT.get("postgresql"), "account_search_text")],
)  # fmt: skip
def test_postgres_search_reads_the_trigram_index(table, text, index):
    """The query's expression is the index's (the migration carries its own copy)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT 1 FROM {table} WHERE {text} LIKE %s ESCAPE '\\' LIMIT 5",  # noqa: S608
            [sql.like_contains("lovelace")],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner estimates are Postgres's")
def test_postgres_lets_a_term_most_leads_contain_only_filter():
    """ "Company" in "Company 124" is in every lead: the rarer "124" reads the index, and the
    answer is the same as reading both."""
    for n in range(60):
        LeadFactory(company=f"Company {n}", email=f"p{n}@co{n}.example", phone="")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {sql.LEAD_SEARCH_TABLE}")
    table = sql.LEAD_SEARCH_TABLE
    assert sql.split_terms(table, "text", ["company", "59"]) == (["59"], ["company"])
    assert sql.split_terms(table, "text", ["59"]) == (["59"], [])
    fifty_nine = Lead.objects.get(company="Company 59")
    assert sql.lead_ids_containing(["company", "59"], 10) == [fifty_nine.pk]
    assert sql.lead_ids_containing(["59", "company"], 10) == [fifty_nine.pk]
    assert sql.lead_ids_containing(["company", "zzz9"], 10) == []


def row_of(page: str, lead_id: int) -> str:
    match = re.search(rf'<tr data-lead="{lead_id}".*?</tr>', page, re.S)
    assert match, f"no row for lead {lead_id}"
    return match.group(0)


def test_a_lead_is_found_by_its_fields_as_they_are_now(ada):
    """The search's text kept beside the lead follows an edit of the lead."""
    ada.company = "Babbage & Co"
    ada.phone = "+1 212 555 0199"
    ada.save()
    assert sql.lead_ids_containing(["babbage"], 10) == [ada.pk]
    assert sql.lead_ids_containing(["2125550199"], 10) == [ada.pk]
    assert sql.lead_ids_containing(["analytical"], 10) == []
    assert sql.lead_ids_containing(["79460958"], 10) == []


def test_a_lead_s_stage_owner_or_clock_leaves_its_search_text_alone(ada, other_rep):
    """The search text is rewritten when a name, email, company or phone changes, not on
    each write of the lead (its trigram index is why the SLA check's update was slow)."""
    before = LeadSearch.objects.filter(lead=ada)
    stamp = list(before.values_list("text", flat=True))
    with CaptureQueriesContext(connection) as queries:
        ada.owner = other_rep
        ada.save()
    assert not [q for q in queries if "leads_leadsearch" in q["sql"]]
    assert list(before.values_list("text", flat=True)) == stamp


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are Postgres's")
def test_postgres_has_no_trigram_index_on_the_lead_table():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE indexdef LIKE %s",
            ["%gin_trgm_ops%"],
        )
        found = sorted(cursor.fetchall())
    assert found == [
        ("leads_account", "account_search_text"),
        (sql.LEAD_SEARCH_TABLE, "lead_search_trgm"),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_existing_lead_its_search_text(ada, grace):
    """Leads written before the search text existed get theirs, as the app makes it."""
    executor = MigrationExecutor(connection)
    executor.migrate([("leads", "0039_mql_entries_carry_title_and_stage")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # 0040 and whatever follows it
    assert dict(LeadSearch.objects.values_list("lead_id", "text")) == {
        ada.pk: "ada lovelace|ada.lovelace@engines.example|analytical engines ltd|442079460958",
        grace.pk: search_text(*Lead.objects.values_list(*PERSON_FIELDS).get(pk=grace.pk)),
    }
    assert sql.lead_ids_containing(["lovelace"], 10) == [ada.pk]
