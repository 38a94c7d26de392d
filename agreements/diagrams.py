"""Mermaid sources for the playbook's diagrams, built from the same data as its tables.

Pure functions: they take stage definitions, transitions, channels and rules
already loaded, and return Mermaid flowchart text (rendered in the browser by the
vendored static/vendor/mermaid).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agreements.stages import CLOSED_STAGES, MARKETING_STAGES, SALES_STAGES, Stage


def lifecycle_transitions() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every edge of the Lead stage graph in code."""
    from leads.models import Lead

    field = Lead._meta.get_field("stage")
    edges = {
        (str(t.source), str(t.target), t.name)
        for t in field.get_all_transitions(Lead)
        if t.source not in ("*", "+") and t.target
    }
    return sorted(edges)


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return '"' + str(text).replace('"', "#quot;").replace("\n", " ") + '"'


def _node_id(prefix: str, value: Any) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def lifecycle_diagram(
    definitions: Sequence[Any],
    transitions: Iterable[tuple[str, str, str]],
    clock_text: Mapping[str, str],
) -> str:
    """The lifecycle as a top-down funnel, grouped by the team that owns each stage.

    The many 'any open stage → Disqualified' edges are drawn as one dotted edge
    from a small note, so the main path stays readable.
    """
    by_stage = {d.stage: d for d in definitions}

    def node(stage: str) -> str:
        definition = by_stage.get(stage)
        name = definition.name if definition else Stage(stage).label
        level = f"{definition.level} · " if definition and definition.level else ""
        text = f"{level}{name}"
        if stage in clock_text:
            text += f"<br/><i>{clock_text[stage]}</i>"
        shape = ("([", "])") if stage in CLOSED_STAGES or stage == Stage.NURTURE else ("[", "]")
        return f"    {stage}{shape[0]}{_label(text)}{shape[1]}"

    lines = ["flowchart TB"]
    groups = (
        ("marketing", "Marketing", [s for s in Stage.values if s in MARKETING_STAGES]),
        ("sales", "Sales", [s for s in Stage.values if s in SALES_STAGES]),
    )
    for group_id, title, stages in groups:
        lines.append(f"  subgraph {group_id}_team[{_label(title)}]")
        lines += [node(stage) for stage in stages]
        lines.append("  end")
    lines += [node(s).replace("    ", "  ", 1) for s in (Stage.NURTURE, Stage.CONVERTED)]
    lines.append(node(Stage.DISQUALIFIED).replace("    ", "  ", 1))
    lines.append(f"  any_open>{_label('any open stage')}]")
    # An invisible link keeps the exits below the funnel (the reopen edge points back up).
    lines.append("  opportunity ~~~ any_open")
    lines.append(f"  any_open -. {_label('disqualify (reason)')} .-> disqualified")
    for source, target, name in transitions:
        if target == Stage.DISQUALIFIED:
            continue
        if name == "start_prospecting":
            lines.append(f"  {source} -. {_label('cold prospecting')} .-> {target}")
        elif name == "start_working" and source == Stage.MQL:
            lines.append(f"  {source} -- {_label('first touch')} --> {target}")
        elif name == "reopen":
            lines.append(f"  {source} -. {_label('reopen')} .-> {target}")
        else:
            lines.append(f"  {source} --> {target}")
    lines += [
        "  classDef marketing fill:#e0f2fe,stroke:#0369a1,color:#0c4a6e",
        "  classDef sales fill:#dcfce7,stroke:#15803d,color:#14532d",
        "  classDef outcome fill:#f5f5f4,stroke:#78716c,color:#292524",
        "  classDef note fill:#fff,stroke:#d6d3d1,color:#78716c",
        f"  class {','.join(s for s in Stage.values if s in MARKETING_STAGES)} marketing",
        f"  class {','.join(s for s in Stage.values if s in SALES_STAGES)} sales",
        "  class nurture,converted,disqualified outcome",
        "  class any_open note",
    ]
    return "\n".join(lines)


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
        lines.append(f"  {_node_id('ch_', row['slug'])}({_label(row['name'])})")
    for stage in sorted({*stages_used, Stage.MQL}, key=order.index):
        lines.append(f"  {_node_id('st_', stage)}[{_label(names[stage])}]")
    lines.append(f"  touch[[{_label('First sales touch → Working')}]]")
    for row in rows:
        source, target = _node_id("ch_", row["slug"]), _node_id("st_", row["entry_stage"])
        if row.get("cold"):
            lines.append(f"  {source} -. {_label('cold prospecting')} .-> {target}")
        elif row.get("edge"):
            lines.append(f"  {source} -- {_label(row['edge'])} --> {target}")
        else:
            lines.append(f"  {source} --> {target}")
    mql = _node_id("st_", Stage.MQL)
    for stage in stages_used:
        if order.index(stage) < order.index(Stage.MQL):
            lines.append(f"  {_node_id('st_', stage)} -- {_label('hand-raise')} --> {mql}")
    if default_followup:
        lines.append(f"  {mql} == {_label(default_followup)} ==> touch")
    else:
        lines.append(f"  {mql} ==> touch")
    if any(row.get("cold") for row in rows) and Stage.IQL in stages_used:
        lines.append(f"  {_node_id('st_', Stage.IQL)} -. {_label('reps may start')} .-> touch")
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
