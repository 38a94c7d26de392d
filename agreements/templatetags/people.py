"""Template filters about users, for every app's templates."""

from __future__ import annotations

from django import template

from agreements.roles import display_name

register = template.Library()

register.filter("display_name", display_name)
