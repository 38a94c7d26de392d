"""`manage.py import_leads`: the browser's import for scripts."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agreements.models import Channel
from leads.models import Campaign, ImportBatch, Lead
from tests.leads import import_files as files


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def apollo_file(tmp_path):
    data, _ = files.messy_file("apollo")
    path = tmp_path / "apollo.csv"
    path.write_bytes(data)
    return path


def run(*args: str) -> dict:
    out = StringIO()
    call_command("import_leads", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_json_output_has_the_counts_and_row_errors(apollo_file):
    result = run(str(apollo_file), "--channel", "purchased-list", "--campaign", "Q1 Apollo")
    assert (result["created"], result["updated"], result["unchanged"], result["skipped"]) == (
        5,
        0,
        0,
        4,
    )
    assert [e["row"] for e in result["errors"]] == [7, 8, 9, 10]
    assert result["errors"][0]["reason"] == "Email is missing."
    assert Lead.objects.filter(campaign__name="Q1 Apollo").count() == 5
    assert ImportBatch.objects.get().created == 5


@pytest.mark.django_db
def test_dry_run_writes_nothing(apollo_file):
    result = run(str(apollo_file), "--channel", "purchased-list", "--dry-run", "--campaign", "X")
    assert (result["created"], result["skipped"], result["dry_run"]) == (5, 4, True)
    assert not Lead.objects.exists()
    assert not ImportBatch.objects.exists()
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_an_unreadable_file_exits_non_zero(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_leads", str(path), "--channel", "purchased-list", stdout=out)
    assert excinfo.value.returncode == 2
    assert "binary" in str(excinfo.value)


@pytest.mark.django_db
def test_text_output_lists_rejected_rows(apollo_file):
    out = StringIO()
    call_command("import_leads", str(apollo_file), "--channel", "purchased-list", stdout=out)
    text = out.getvalue()
    assert "5 created, 0 updated, 0 unchanged, 4 rejected" in text
    assert "row 7 [Email]: Email is missing." in text


def write(tmp_path, data: bytes, name: str = "list.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


KEPT_WITH_WARNINGS = (
    "email,first name,title,registration date,country\n"
    f"a@x.example,Ann,Chief {'x' * 4997},,\n"
    "b@x.example,Bob,CEO,31/02/2025,Untied States\n"
).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_json_output_lists_the_rows_kept_with_a_warning(tmp_path, dry_run):
    path = write(tmp_path, KEPT_WITH_WARNINGS)
    result = run(path, "--channel", "purchased-list", *(["--dry-run"] if dry_run else []))
    assert (result["created"], result["skipped"]) == (2, 0)
    assert [(w["row"], w["column"]) for w in result["warnings"]] == [
        (2, "title"),
        (3, "registration date"),
        (3, "country"),
    ]
    assert "cut to its first" in result["warnings"][0]["reason"]
    assert "not a date we can read" in result["warnings"][1]["reason"]
    assert "“Untied States” is not one we know" in result["warnings"][2]["reason"]
    assert result["file_warnings"] == []


@pytest.mark.django_db
def test_text_output_lists_the_rows_kept_with_a_warning(tmp_path):
    out = StringIO()
    path = write(tmp_path, KEPT_WITH_WARNINGS)
    call_command("import_leads", path, "--channel", "purchased-list", stdout=out)
    text = out.getvalue()
    assert "Kept with a warning:" in text
    assert "row 2 [title]: Job title was cut to its first" in text
    assert "row 3 [country]: Country “Untied States” is not one we know; left empty." in text


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_column_the_import_does_not_know_is_refused_naming_it(tmp_path, dry_run):
    path = write(tmp_path, b"email,frist name,company\na@x.example,Ann,X\n")
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_leads", path, "--channel", "purchased-list", "--format", "json",
            *(["--dry-run"] if dry_run else []), stdout=out,
        )  # fmt: skip
    assert excinfo.value.returncode == 2
    assert "“frist name”" in str(excinfo.value)
    assert "--ignore-unknown-columns" in json.loads(out.getvalue())["error"]
    assert not Lead.objects.exists()
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_ignore_unknown_columns_imports_without_them_and_says_which(tmp_path):
    path = write(tmp_path, b"email,frist name,company\na@x.example,Ann,X\n")
    result = run(path, "--channel", "purchased-list", "--ignore-unknown-columns")
    assert result["created"] == 1
    assert result["file_warnings"] == ["Columns not recognised, so not imported: “frist name”."]
    assert Lead.objects.get().first_name == ""


@pytest.mark.django_db
def test_a_vendors_export_with_columns_we_do_not_import_is_not_refused(apollo_file):
    result = run(str(apollo_file), "--channel", "purchased-list")
    assert result["created"] == 5


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_closed_channel_is_refused_as_the_page_does(tmp_path, dry_run):
    Channel.objects.filter(slug="purchased-list").update(is_active=False)
    path = write(tmp_path, b"email\na@x.example\n")
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_leads", path, "--channel", "purchased-list",
            *(["--dry-run"] if dry_run else []), stdout=StringIO(),
        )  # fmt: skip
    assert excinfo.value.returncode == 2
    assert "Closed (it takes no leads now): “purchased-list”" in str(excinfo.value)
    assert not Lead.objects.exists()
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_headers_with_underscores_are_known_and_not_refused(tmp_path):
    path = write(tmp_path, b"email,first_name,company\na@x.example,Ann,X\nb@x.example,,\n")
    result = run(path, "--channel", "purchased-list")
    assert (result["created"], result["file_warnings"]) == (2, [])
    assert Lead.objects.get(email="a@x.example").first_name == "Ann"
