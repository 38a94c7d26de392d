"""Template helpers of the workspaces."""

from __future__ import annotations

from typing import Any

from django import template

from agreements.roles import display_name
from agreements.stages import CLOCK_STOPPING_STAGES
from config.money import money as money_text
from leads import clock
from leads.models import Lead

register = template.Library()


@register.filter
def person(user: Any, nobody: str = "system") -> str:
    """A user's full name, else their username; `nobody` when there is no user."""
    if user is None:
        return nobody
    return display_name(user)


@register.filter
def money(value: Any) -> str:
    """A deal's amount in the site's currency ("25,000 EUR")."""
    return "" if value is None else money_text(value)


@register.filter
def breached_untouched(lead: Any) -> bool:
    """A breached clock still waiting for its first touch (leads.clock.awaits_first_touch),
    on a lead that has not left for a stage where its clock stops (nurture, closed). The
    queue's "SLA breached" bucket holds exactly these leads (leads.queries)."""
    if lead.sla_status != Lead.SLAStatus.BREACHED or lead.stage in CLOCK_STOPPING_STAGES:
        return False
    return clock.awaits_first_touch(lead)
