"""The simulated users of `manage.py bench load`: a Locust file, run by Locust in its own process.

It is not imported by the app (it speaks HTTP only, never Django). `benchmark/load.py` writes
a JSON configuration (accounts, the password, report keys, think times, file paths) and
names it in ACCORD_LOAD_CONFIG. Each simulated user signs in once through the real login
form with its own account, then works like a person:

- a rep opens their queue (sometimes one urgency bucket), opens a lead from it, and logs a
  touch on it through the lead page's htmx form (CSRF token, HX-Request header), after
  reading it for a moment;
- a manager opens the team page, the reports menu and their reports.

The measured window starts when every user has signed in (a login costs a password hash,
and 50 at once are a morning's wave, not the working day) and lasts the configured number
of seconds. Every request that starts inside it is recorded with its start time, latency
and outcome; after the window no new work starts, requests still running are waited for,
and the records are written to the results file for benchmark/load.py to summarise.

The bench server is plain HTTP on the loopback; each request carries
`X-Forwarded-Proto: https`, as the TLS proxy in front of production does, so the app
runs with its production settings (secure cookies, HSTS, the CSRF origin check for
HTTPS), and the users keep those secure cookies as a browser does on a loopback address.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment
from requests.adapters import HTTPAdapter

CONFIG: dict[str, Any] = json.loads(Path(os.environ["ACCORD_LOAD_CONFIG"]).read_text())
LEAD_LINK = re.compile(r'href="/leads/(\d+)/"')
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')
SECURE_FLAG = re.compile(r";\s*secure\s*(?=;|$)", re.IGNORECASE)
DRAIN_SECONDS = 30  # how long requests still running at the window's end are waited for

# One process, one gevent thread: plain module state is safe.
state: dict[str, Any] = {
    "ready": 0,  # users that finished signing in (or failed to)
    "window_start": None,
    "window_end": None,
    "in_flight": 0,
    "written": False,
}
records: list[list[Any]] = []  # [start, name, milliseconds, ok, error]
logins: list[list[Any]] = []
next_account = {"rep": 0, "manager": 0}
environment: Environment | None = None


class LoopbackAdapter(HTTPAdapter):
    """Keeps the app's Secure cookies over the bench's plain HTTP, as browsers do for a
    loopback address: the Secure flag is dropped from each Set-Cookie before the session's
    cookie jar (which would otherwise never send them back over http://) reads it."""

    def build_response(self, req: Any, resp: Any) -> Any:
        headers = getattr(getattr(resp, "_original_response", None), "msg", None)
        cookies = headers.get_all("Set-Cookie") if headers is not None else None
        if cookies:
            del headers["Set-Cookie"]
            for cookie in cookies:
                headers["Set-Cookie"] = SECURE_FLAG.sub("", cookie)
        return super().build_response(req, resp)


@events.init.add_listener
def remember_environment(environment: Environment, **kwargs: Any) -> None:
    globals()["environment"] = environment


@events.request.add_listener
def record(
    name: str,
    response_time: float,
    exception: BaseException | None,
    start_time: float | None = None,
    **kwargs: Any,
) -> None:
    started = start_time if start_time is not None else time.time() - response_time / 1000
    row = [started, name, response_time, exception is None, _error_text(exception)]
    (logins if name.startswith("login") else records).append(row)


@events.quitting.add_listener
def write_on_quit(environment: Environment, **kwargs: Any) -> None:
    write_results(unfinished=state["in_flight"])


def _error_text(exception: BaseException | None) -> str:
    return "" if exception is None else f"{type(exception).__name__}: {exception}"[:300]


def write_results(unfinished: int) -> None:
    """The window and every request in it, for benchmark/load.py (written once)."""
    if state["written"]:
        return
    state["written"] = True
    Path(CONFIG["results_path"]).write_text(
        json.dumps(
            {
                "window_start": state["window_start"],
                "window_end": state["window_end"],
                "ready": state["ready"],
                "unfinished": unfinished,
                "records": records,
                "logins": logins,
            }
        )
    )


def user_ready() -> None:
    """Count a signed-in user; the last one opens the measured window."""
    state["ready"] += 1
    if state["ready"] == CONFIG["users"] and state["window_start"] is None:
        start = time.time()
        state["window_start"] = start
        state["window_end"] = start + CONFIG["duration"]
        Path(CONFIG["marker_path"]).write_text(json.dumps({"window_start": start}))
        gevent.spawn(close_window)


def close_window() -> None:
    """After the window: wait for the requests still running, write the records, stop."""
    gevent.sleep(CONFIG["duration"])
    deadline = time.time() + DRAIN_SECONDS
    while state["in_flight"] and time.time() < deadline:
        gevent.sleep(0.1)
    write_results(unfinished=state["in_flight"])
    if environment is not None and environment.runner is not None:
        environment.runner.quit()


def work(function: Callable[[Any], None]) -> Callable[[Any], None]:
    """A task that starts only inside the window and is counted while it runs."""

    def run(user: Any) -> None:
        end = state["window_end"]
        if end is not None and time.time() >= end:
            gevent.sleep(DRAIN_SECONDS * 4)  # the window is over: idle until stopped
            return
        state["in_flight"] += 1
        try:
            function(user)
        finally:
            state["in_flight"] -= 1

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run


class Person(HttpUser):
    """A signed-in user of one role, with their own account."""

    abstract = True
    role = ""

    def on_start(self) -> None:
        accounts = CONFIG["accounts"][self.role]
        self.username = accounts[next_account[self.role] % len(accounts)]
        next_account[self.role] += 1
        self.origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        self.client.mount("http://", LoopbackAdapter())
        self.client.headers.update(
            {"X-Forwarded-Proto": "https", "User-Agent": "accord-bench-load (Locust)"}
        )
        try:
            self.sign_in()
        finally:
            user_ready()

    def sign_in(self) -> None:
        """The login form: GET it for the CSRF cookie, POST the username and password."""
        self.client.get("/accounts/login/", name="login form")
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": CONFIG["password"],
                "csrfmiddlewaretoken": self.csrf_token(),
                "next": "",
            },
            headers={"Origin": self.origin, "Referer": self.origin + "/accounts/login/"},
            name="login",
            catch_response=True,
        ) as response:
            if response.ok and "/accounts/login/" in response.url:
                response.failure(f"{self.username} was not signed in")

    def csrf_token(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def page(self, url: str, name: str, must_contain: str = "", htmx: bool = False) -> str:
        """GET a page as the signed-in user; a login page or a missing marker is a failure."""
        headers = {"HX-Request": "true", "HX-Current-URL": self.origin + url} if htmx else {}
        with self.client.get(url, name=name, headers=headers, catch_response=True) as response:
            if not response.ok:
                return ""
            if "/accounts/login/" in response.url:
                response.failure("signed out: the page answered with the login form")
                return ""
            if must_contain and must_contain not in response.text:
                response.failure(f"the page lacks {must_contain!r}")
                return ""
            return response.text

    def think(self) -> None:
        gevent.sleep(random.uniform(*CONFIG["read_seconds"]))


class Rep(Person):
    """A sales rep working their queue: open it, open a lead, log a touch."""

    role = "rep"
    weight = 1
    wait_time = between(*CONFIG["think_seconds"]["rep"])

    def on_start(self) -> None:
        self.leads: list[int] = []
        super().on_start()

    @task(3)
    @work
    def open_queue(self) -> None:
        """The queue's first page, or now and then one urgency bucket of it (htmx)."""
        if random.random() < 0.25:
            bucket = random.choice(CONFIG["buckets"])
            html = self.page(f"/queue/?bucket={bucket}", "/queue/?bucket=[key]", htmx=True)
        else:
            html = self.page("/queue/", "/queue/", must_contain="<table")
        found = [int(i) for i in LEAD_LINK.findall(html)]
        if found:
            self.leads = found

    @task(4)
    @work
    def work_a_lead(self) -> None:
        """Open a lead from the queue, read it, and (mostly) log what was done."""
        if not self.leads:
            self.open_queue_page_once()
            if not self.leads:
                return
        lead = random.choice(self.leads)
        html = self.page(f"/leads/{lead}/", "/leads/[id]/", must_contain='id="lead-panel"')
        version = VERSION_FIELD.search(html)
        if version is None or random.random() > CONFIG["touch_share"]:
            return
        self.think()
        self.log_touch(lead, version.group(1))

    def open_queue_page_once(self) -> None:
        html = self.page("/queue/", "/queue/", must_contain="<table")
        self.leads = [int(i) for i in LEAD_LINK.findall(html)]

    def log_touch(self, lead: int, version: str) -> None:
        """POST the lead page's touch form as htmx does; the answer is the fresh panel."""
        url = f"/leads/{lead}/touch/"
        with self.client.post(
            url,
            data={
                "csrfmiddlewaretoken": self.csrf_token(),
                "version": version,
                "kind": random.choice(CONFIG["touch_kinds"]),
                "subject": "Call about their evaluation",
                "body": "Spoke with them; follow-up booked. <b>not markup</b> & notes",
            },
            headers={
                "HX-Request": "true",
                "HX-Current-URL": f"{self.origin}/leads/{lead}/",
                "X-CSRFToken": self.csrf_token(),
                "Origin": self.origin,
                "Referer": f"{self.origin}/leads/{lead}/",
            },
            name="/leads/[id]/touch/",
            catch_response=True,
        ) as response:
            if response.ok and 'id="lead-panel"' not in response.text:
                response.failure("the touch did not answer with the lead panel")


class Manager(Person):
    """A sales manager: the team page, the reports menu and the reports."""

    role = "manager"
    fixed_count = CONFIG["managers"]
    wait_time = between(*CONFIG["think_seconds"]["manager"])

    @task(2)
    @work
    def team_page(self) -> None:
        self.page("/team/", "/team/", must_contain="<table")

    @task(1)
    @work
    def reports_menu(self) -> None:
        self.page("/reports/", "/reports/")

    @task(4)
    @work
    def open_report(self) -> None:
        key = random.choice(CONFIG["report_keys"])
        self.page(f"/reports/{key}/", f"/reports/{key}/")
