"""What counts as a sales touch: the kinds an agreement version may choose from."""

from __future__ import annotations

# DESIGN's "Sales touch": the activities a rep logs that count as one — first touch, the
# SLA clock, touch goals, "untouched" — chosen per agreement version (a note never counts).
TOUCH_KINDS = (
    ("call", "Call"),
    ("email", "Email"),
    ("meeting", "Meeting"),
    ("social", "Social message"),
    ("sequence_step", "Sequence step"),
)
DEFAULT_TOUCH_KINDS = tuple(kind for kind, _ in TOUCH_KINDS)
TOUCH_LABELS = dict(TOUCH_KINDS)


# Named by agreements.migrations.0008 (the field's default): keep its name and place.
def default_touch_kinds() -> list[str]:
    """Every kind of touch counts unless ops say otherwise."""
    return list(DEFAULT_TOUCH_KINDS)
