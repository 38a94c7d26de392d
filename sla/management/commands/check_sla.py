"""`python manage.py check_sla`: run the SLA check once, exactly as the Celery task does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import deliver_pending_emails
from sla.check import run_check


class Command(BaseCommand):
    help = "Run the SLA check once: warnings, breaches, escalations, then the emails."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-email", action="store_true", help="Write notifications but send no email."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = run_check()
        emailed = 0 if options["no_email"] else deliver_pending_emails()
        self.stdout.write(f"SLA check: {result}; {emailed} emails sent.")
