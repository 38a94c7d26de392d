"""Amounts as people read them, in the site's currency (settings.ACCORD_CURRENCY): one
format for the lead page, the reports and their exports."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings

CENT = Decimal("0.01")


def currency() -> str:
    """The site's currency code (EUR unless ACCORD_CURRENCY says otherwise)."""
    return getattr(settings, "ACCORD_CURRENCY", "EUR")


def money(value: Any) -> str:
    """An amount in the site's currency: "25,000 EUR", "12.35 EUR"."""
    amount = Decimal(str(value))
    if amount == amount.to_integral_value():
        return f"{amount:,.0f} {currency()}"
    return f"{amount.quantize(CENT, ROUND_HALF_UP):,.2f} {currency()}"
