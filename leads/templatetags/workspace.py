"""Template helpers of the workspaces."""

from __future__ import annotations

from typing import Any

from django import template

from agreements.roles import display_name

register = template.Library()


@register.filter
def person(user: Any, nobody: str = "system") -> str:
    """A user's full name, else their username; `nobody` when there is no user."""
    if user is None:
        return nobody
    return display_name(user)
