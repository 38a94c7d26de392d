"""The lifecycle's stage values and who owns them (the graph itself is in models.Lead)."""

from django.db import models


class Stage(models.TextChoices):
    SUSPECT = "suspect", "Suspect"
    FAN = "fan", "Fan"
    IQL = "iql", "Information Qualified Lead"
    MQL = "mql", "Marketing Qualified Lead"
    WORKING = "working", "Working"
    SQL = "sql", "Sales Qualified"
    OPPORTUNITY = "opportunity", "Opportunity"
    DISQUALIFIED = "disqualified", "Disqualified"
    NURTURE = "nurture", "Needs Nurturing"
    CONVERTED = "converted", "Converted"


MARKETING_STAGES = frozenset({Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.MQL})
SALES_STAGES = frozenset({Stage.WORKING, Stage.SQL, Stage.OPPORTUNITY})
OPEN_STAGES = MARKETING_STAGES | SALES_STAGES | {Stage.NURTURE}
CLOSED_STAGES = frozenset({Stage.DISQUALIFIED, Stage.CONVERTED})
# A running first-touch clock stops here: nobody is expected to touch the lead.
CLOCK_STOPPING_STAGES = CLOSED_STAGES | {Stage.NURTURE}

# Each stage's level in the funnel, as the playbook numbers it (None: outside the funnel).
STAGE_LEVEL = {
    Stage.SUSPECT: 1,
    Stage.FAN: 2,
    Stage.IQL: 3,
    Stage.MQL: 4,
    Stage.WORKING: 5,
    Stage.SQL: 6,
    Stage.OPPORTUNITY: 7,
    Stage.DISQUALIFIED: None,
    Stage.NURTURE: None,
    Stage.CONVERTED: None,
}
