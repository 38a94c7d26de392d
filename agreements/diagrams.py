"""Mermaid source for the playbook's channel diagram, built from the same rows as its table.

Pure functions returning Mermaid flowchart text (rendered in the browser by the
vendored static/vendor/mermaid); the lifecycle graph is drawn in leads.diagrams.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agreements.stages import Stage

# Mermaid entity codes (#name; becomes &name;): a label shows these characters as text, so
# a name with HTML in it never becomes an element of the diagram. "#" goes first.
LABEL_ENTITIES = (
    ("#", "#35;"),
    ("&", "#amp;"),
    ("<", "#lt;"),
    (">", "#gt;"),
    ('"', "#quot;"),
    ("`", "#96;"),
    ("\n", " "),
)


def label_text(text: Any) -> str:
    """Text shown as itself in a Mermaid label (no markup, quotes or entities of its own)."""
    value = str(text)
    for char, code in LABEL_ENTITIES:
        value = value.replace(char, code)
    return value


def quote(text: Any) -> str:
    """Text safe inside a quoted Mermaid label."""
    return quote_markup(label_text(text))


def quote_markup(markup: str) -> str:
    """A quoted Mermaid label of markup we wrote, its texts already through label_text."""
    return '"' + markup + '"'


def _node_id(prefix: str, value: Any) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def channel_diagram(rows: Sequence[Mapping[str, Any]], default_followup: str = "") -> str:
    """Channel → entry stage → hand-raise (MQL) → first sales touch, with the times that apply.

    `rows` are the playbook's channel rows (slug, name, entry stage, `edge`: the
    channel's own follow-up time, if it has one; `cold`: cold prospecting).
    `default_followup` is the any-channel time for an MQL.
    """
    order = list(Stage.values)
    stages_used = sorted({row["entry_stage"] for row in rows}, key=order.index)
    names = {row["entry_stage"]: row["entry_stage_name"] for row in rows}
    names.setdefault(Stage.MQL, Stage.MQL.label)
    lines = ["flowchart LR"]
    for row in rows:
        lines.append(f"  {_node_id('ch_', row['slug'])}({quote(row['name'])})")
    for stage in sorted({*stages_used, Stage.MQL}, key=order.index):
        lines.append(f"  {_node_id('st_', stage)}[{quote(names[stage])}]")
    lines.append(f"  touch[[{quote('First sales touch → Working')}]]")
    for row in rows:
        source, target = _node_id("ch_", row["slug"]), _node_id("st_", row["entry_stage"])
        if row.get("cold"):
            lines.append(f"  {source} -. {quote('cold prospecting')} .-> {target}")
        elif row.get("edge"):
            lines.append(f"  {source} -- {quote(row['edge'])} --> {target}")
        else:
            lines.append(f"  {source} --> {target}")
    mql = _node_id("st_", Stage.MQL)
    for stage in stages_used:
        if order.index(stage) < order.index(Stage.MQL):
            lines.append(f"  {_node_id('st_', stage)} -- {quote('hand-raise')} --> {mql}")
    if default_followup:
        lines.append(f"  {mql} == {quote(default_followup)} ==> touch")
    else:
        lines.append(f"  {mql} ==> touch")
    if any(row.get("cold") for row in rows) and Stage.IQL in stages_used:
        lines.append(f"  {_node_id('st_', Stage.IQL)} -. {quote('reps may start')} .-> touch")
    lines += [
        "  classDef channel fill:#fff,stroke:#2563eb,color:#1e3a8a",
        "  classDef stage fill:#e0f2fe,stroke:#0369a1,color:#0c4a6e",
        "  classDef touch fill:#dcfce7,stroke:#15803d,color:#14532d",
        "  class touch touch",
    ]
    if rows:
        lines.append(f"  class {','.join(_node_id('ch_', r['slug']) for r in rows)} channel")
    staged = sorted({*stages_used, Stage.MQL}, key=order.index)
    lines.append(f"  class {','.join(_node_id('st_', s) for s in staged)} stage")
    return "\n".join(lines)
