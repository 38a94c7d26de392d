"""Real browser: Marketing uploads a list, checks the preview, confirms, watches it run.

The Celery task runs in a background thread standing in for the worker (the
broker is bypassed, the task function and database are real), slowed down so
the page's htmx polling shows the progress climbing to 100%.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from leads import tasks
from leads.importing import writer
from tests.conftest import PASSWORD
from tests.factories import ChannelFactory
from tests.leads import import_files as files

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(monkeypatch, settings, tmp_path):
    """run_import.delay() starts the real task in a thread, one slow row per transaction."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(writer, "CHUNK", 1)
    real_chunk = writer.take_in_leads

    def slow_chunk(context, rows):
        time.sleep(0.4)
        return real_chunk(context, rows)

    monkeypatch.setattr(writer, "take_in_leads", slow_chunk)
    threads: list[threading.Thread] = []

    def delay(batch_id):
        def work():
            try:
                tasks.run_import(batch_id)
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(tasks.run_import, "delay", delay)
    yield
    for thread in threads:
        thread.join(timeout=30)


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_marketing_uploads_previews_confirms_and_downloads_rejected_rows(
    page, live_server, marketer, worker
):
    ChannelFactory(slug="purchased-list", name="Purchased list")
    data, _ = files.messy_file("apollo")
    sign_in(page, live_server.url, marketer.username)
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("List file").set_input_files(
        {"name": "apollo-q1.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_label("Channel").select_option(label="Purchased list")
    page.get_by_label("Campaign").fill("Q1 Apollo list")
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Preview of apollo-q1.csv")).to_be_visible()
    expect(page.get_by_test_id("count-create")).to_have_text("5")
    expect(page.get_by_test_id("count-rejected")).to_have_text("4")
    rejected = page.get_by_test_id("rejected-rows")
    expect(rejected).to_contain_text("Email is missing.")
    expect(rejected).to_contain_text("Duplicate of row 3")
    expect(rejected).to_contain_text("too long")

    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("heading", name="Import of apollo-q1.csv")).to_be_visible()
    progress = page.get_by_test_id("progress-percent")
    expect(progress).not_to_have_text("100%")  # still running: the page polls
    expect(progress).to_have_text("100%", timeout=20_000)
    expect(page.get_by_test_id("result-counts")).to_contain_text("5created", timeout=10_000)

    with page.expect_download() as download_info:
        page.get_by_test_id("download-errors").click()
    download = download_info.value
    assert download.suggested_filename == "apollo-q1-rejected-rows.csv"
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "Email is missing." in content
    assert "not a valid address" in content
