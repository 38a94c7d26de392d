"""A real email backend for the tests: a mail server that can be down, refuse an address or
hang, seen the same by every process (the test, a Celery worker).

It keeps each email it accepts as one JSON line in EMAIL_FILE_PATH/accepted.jsonl. While
the file `down` exists there, it raises SMTPServerDisconnected, as Django's SMTP backend
does when the server goes away; an address listed in `refuse` gets SMTPRecipientsRefused;
while `stall` exists and it has accepted as many emails as the number in it (none: 0),
it writes `stalled` and waits before the next one (a test kills the worker holding it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from smtplib import SMTPRecipientsRefused, SMTPServerDisconnected

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


def mail_folder() -> Path:
    folder = Path(settings.EMAIL_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def accepted_emails() -> list[dict[str, str]]:
    """Every email the backend accepted so far, in order."""
    path = mail_folder() / "accepted.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


class OutageBackend(BaseEmailBackend):
    """Accepts emails into a file unless a flag file says the server is down."""

    def open(self) -> bool:
        self._check_up()
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = mail_folder()
        accepted = 0
        for message in email_messages:
            while _stalls(folder):
                (folder / "stalled").touch()
                time.sleep(0.05)
            self._check_up()
            refused = (
                set((folder / "refuse").read_text().split())
                if (folder / "refuse").exists()
                else set()
            )
            if refused & set(message.to):
                raise SMTPRecipientsRefused({to: (550, b"No such user") for to in message.to})
            line = {
                "message_id": message.extra_headers.get("Message-ID", ""),
                "to": ",".join(message.to),
                "subject": message.subject,
                "body": message.body,
            }
            with (folder / "accepted.jsonl").open("a") as out:
                out.write(json.dumps(line) + "\n")
            accepted += 1
        return accepted

    def _check_up(self) -> None:
        if (mail_folder() / "down").exists():
            raise SMTPServerDisconnected("Connection unexpectedly closed")


def _stalls(folder: Path) -> bool:
    try:
        after = int((folder / "stall").read_text().strip() or 0)
    except FileNotFoundError:
        return False
    return len(accepted_emails()) >= after
