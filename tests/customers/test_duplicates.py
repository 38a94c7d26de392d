"""Finding duplicate leads: a held-back set of duplicate pairs is found with reasons and
scores; colleagues at one company, namesakes and shared switchboards are not."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from customers import duplicates
from customers.duplicates import Person, compare, first_names_agree, scan
from tests.factories import LeadFactory

# Each pair: the two leads' (email, first, last, company, phone) and a word each reason
# must contain. None of these share an address, so the one-lead-per-email rule misses them.
HELD_BACK = {
    "personal and work address": (
        ("john.smith@gmail.com", "John", "Smith", "Acme Inc.", ""),
        ("john.smith@acme.com", "John", "Smith", "ACME", ""),
        ["personal (gmail.com) and work (acme.com)"],
    ),
    "initial vs full first name": (
        ("j.weber@initech.com", "J.", "Weber", "Initech", ""),
        ("jonas.weber@initech.com", "Jonas", "Weber", "Initech", ""),
        ["J. Weber ≈ Jonas Weber at initech.com"],
    ),
    "one-letter typo in the address": (
        ("maria.rossi@globex.com", "Maria", "Rossi", "Globex", ""),
        ("maria.rosi@globex.com", "Maria", "Rosi", "Globex", ""),
        ["email differs by one letter", "name differs by one letter"],
    ),
    "one-letter typo in the first name": (
        ("kenji.sato@umbrella.io", "Kenji", "Sato", "Umbrella", ""),
        ("ksato@umbrella.io", "Kenij", "Sato", "Umbrella", ""),
        ["Kenji Sato ≈ Kenij Sato (name differs by one letter) at umbrella.io"],
    ),
    "same phone": (
        ("amara.okafor@hooli.com", "Amara", "Okafor", "Hooli", "+44 20 7946 0018"),
        ("a.okafor@piedpiper.com", "Amara", "Okafor", "Pied Piper", "020 7946 0018"),
        ["same phone"],
    ),
    "nickname": (
        ("bob.miller@vandelay.com", "Bob", "Miller", "Vandelay", ""),
        ("robert.miller@vandelay.com", "Robert", "Miller", "Vandelay", ""),
        ["nickname"],
    ),
}

NOT_DUPLICATES = [
    # Colleagues at one company: different first names, same domain (and last name).
    ("john.smith@wayne.com", "John", "Smith", "Wayne", "+1 555 0100"),
    ("jane.smith@wayne.com", "Jane", "Smith", "Wayne", "+1 555 0100"),
    ("peter.jones@wayne.com", "Peter", "Jones", "Wayne", "+1 555 0100"),
    ("paula.jones@wayne.com", "Paula", "Jones", "Wayne", ""),
    # Namesakes at two companies, nothing else in common.
    ("ali.khan@foo.com", "Ali", "Khan", "Foo", ""),
    ("ali.khan@bar.com", "Ali", "Khan", "Bar", ""),
]


def lead(email, first, last, company, phone):
    return LeadFactory(email=email, first_name=first, last_name=last, company=company, phone=phone)


def person(email, first, last, company, phone, pk=1):
    return Person.from_row((pk, email, first, last, company, phone, ""))


@pytest.fixture
def held_back(db):
    """The held-back pairs (name → (lead, lead, reasons)) among colleagues and namesakes."""
    pairs = {name: (lead(*a), lead(*b), reasons) for name, (a, b, reasons) in HELD_BACK.items()}
    for row in NOT_DUPLICATES:
        lead(*row)
    return pairs


def test_scan_finds_every_held_back_pair_with_its_reasons(held_back):
    found = {(m.a, m.b): m for m in scan()}
    for name, (a, b, reasons) in held_back.items():
        match = found.get(tuple(sorted((a.pk, b.pk))))
        assert match is not None, f"{name} not found"
        assert duplicates.THRESHOLD <= match.score <= 100, name
        for reason in reasons:
            assert any(reason in r for r in match.reasons), (name, match.reasons)


def test_scan_proposes_no_colleagues_or_namesakes(held_back):
    held = {tuple(sorted((a.pk, b.pk))) for a, b, _ in held_back.values()}
    extra = [m for m in scan() if (m.a, m.b) not in held]
    assert extra == []


def test_scan_skips_a_phone_shared_by_a_switchboard(db):
    for n in range(duplicates.MAX_PHONE_BLOCK + 1):
        lead(f"x{n}@company{n}.com", "Sam", "Lee", f"Company {n}", "+1 555 0199")
    stats = duplicates.ScanStats()
    assert scan(stats=stats) == []
    assert stats.skipped_blocks == 1


def test_dismissed_pair_is_not_proposed(held_back):
    a, b, _ = held_back["same phone"]
    pair = tuple(sorted((a.pk, b.pk)))
    assert pair not in {(m.a, m.b) for m in scan(dismissed={pair})}


def test_scores_rank_surer_pairs_higher():
    same_everything = compare(
        person("john.smith@acme.com", "John", "Smith", "Acme", "555 123 4567", pk=1),
        person("jonh.smith@acme.com", "Jonh", "Smith", "Acme", "555 123 4567", pk=2),
    )
    initial_only = compare(
        person("j.smith@acme.com", "J", "Smith", "Acme", "", pk=1),
        person("john.smith@acme.com", "John", "Smith", "Acme", "", pk=2),
    )
    assert same_everything.score > initial_only.score


@pytest.mark.parametrize(
    "a, b, agree",
    [
        ("john", "john", "same"),
        ("bob", "robert", "nickname"),
        ("bill", "william", "nickname"),
        ("j", "john", "initial"),
        ("jonh", "john", "typo"),
        ("john", "jane", None),
        ("j", "peter", None),
        ("", "peter", "unknown"),
    ],
)
def test_first_names_agree(a, b, agree):
    assert first_names_agree(a, b) == agree


def test_names_are_parsed_folded_and_taken_from_the_address():
    assert (person("x@y.com", "Dr. Zoë", "Dupré Jr.", "", "").first, "") != ("", "")
    parsed = person("x@y.com", "", "Müller, Hans", "", "")
    assert (parsed.first, parsed.last) == ("hans", "muller")
    from_address = person("hana.ali@y.com", "", "", "", "")
    assert (from_address.first, from_address.last) == ("hana", "ali")


def test_candidates_for_one_lead_use_the_account_and_personal_addresses(held_back):
    from leads.models import Account

    a, b, _ = held_back["initial vs full first name"]
    account = Account.objects.create(name="Initech", domain="initech.com")
    for row in (a, b):
        row.account = account
        row.save()
    assert [(m.a, m.b) for m in duplicates.candidates_for(a)] == [tuple(sorted((a.pk, b.pk)))]
    personal, work, _ = held_back["personal and work address"]
    assert [m.b for m in duplicates.candidates_for(work)] == [max(personal.pk, work.pk)]
    assert duplicates.candidates_for(held_back["same phone"][0]) == []


def test_addresses_apart_by_a_digit_or_at_two_companies_are_not_a_typo():
    def p(email, company, pk):
        return person(email, "Ada", "Lovelace", company, "", pk=pk)

    assert compare(p("ada1@firm.com", "Firm", 1), p("ada2@firm.com", "Firm", 2)).reasons == (
        "same name (Ada Lovelace) at firm.com",
    )
    assert compare(p("ada@firm1.com", "Firm 1", 1), p("ada@firm2.com", "Firm 2", 2)) is None
    typo = compare(p("ada@acme.com", "Acme", 1), p("ada@acne.com", "", 2))
    assert "email differs by one letter" in typo.reasons


def test_find_duplicates_json_lists_exactly_the_held_back_pairs_with_scores(held_back):
    out = StringIO()

    call_command("find_duplicates", "--format", "json", stdout=out)

    groups = json.loads(out.getvalue())
    expected = {tuple(sorted((a.pk, b.pk))): {a.email, b.email} for a, b, _ in held_back.values()}
    assert {tuple(g["ids"]): set(g["emails"]) for g in groups} == expected
    for g in groups:
        assert duplicates.THRESHOLD <= g["score"] <= 100 and g["reasons"]


def test_a_lead_matching_two_different_people_makes_two_groups(db):
    initial = lead("j.smith@wayne.com", "J.", "Smith", "Wayne", "")
    john = lead("john.smith@wayne.com", "John", "Smith", "Wayne", "")
    jane = lead("jane.smith@wayne.com", "Jane", "Smith", "Wayne", "")

    groups = duplicates.group(scan())

    assert sorted(g.lead_ids for g in groups) == [[initial.pk, john.pk], [initial.pk, jane.pk]]


def test_leads_that_all_match_each_other_make_one_group(db):
    rows = [
        lead("a.smith@wayne.com", "A.", "Smith", "Wayne", "+1 212 555 0188"),
        lead("anna.smith@wayne.com", "Anna", "Smith", "Wayne", ""),
        lead("anna.smith@gmail.com", "Anna", "Smith", "Wayne", "212-555-0188"),
    ]

    groups = duplicates.group(scan())

    assert [g.lead_ids for g in groups] == [[r.pk for r in rows]]
