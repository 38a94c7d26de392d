"""Mermaid source for the playbook's lifecycle diagram, drawn from the stage graph on Lead.

Rendered in the browser by the vendored static/vendor/mermaid, like the channel
diagram of agreements.diagrams.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agreements.diagrams import label_text, quote, quote_markup
from agreements.stages import CLOSED_STAGES, MARKETING_STAGES, SALES_STAGES, Stage

from .models import Lead


def lifecycle_transitions() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every edge of the Lead stage graph in code."""
    field = Lead._meta.get_field("stage")
    edges = {
        (str(t.source), str(t.target), t.name)
        for t in field.get_all_transitions(Lead)
        if t.source not in ("*", "+") and t.target
    }
    return sorted(edges)


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
        markup = label_text(f"{level}{name}")
        if stage in clock_text:
            markup += f"<br/><i>{label_text(clock_text[stage])}</i>"
        shape = ("([", "])") if stage in CLOSED_STAGES or stage == Stage.NURTURE else ("[", "]")
        return f"    {stage}{shape[0]}{quote_markup(markup)}{shape[1]}"

    lines = ["flowchart TB"]
    groups = (
        ("marketing", "Marketing", [s for s in Stage.values if s in MARKETING_STAGES]),
        ("sales", "Sales", [s for s in Stage.values if s in SALES_STAGES]),
    )
    for group_id, title, stages in groups:
        lines.append(f"  subgraph {group_id}_team[{quote(title)}]")
        lines += [node(stage) for stage in stages]
        lines.append("  end")
    lines += [node(s).replace("    ", "  ", 1) for s in (Stage.NURTURE, Stage.CONVERTED)]
    lines.append(node(Stage.DISQUALIFIED).replace("    ", "  ", 1))
    lines.append(f"  any_open>{quote('any open stage')}]")
    # An invisible link keeps the exits below the funnel (the reopen edge points back up).
    lines.append("  opportunity ~~~ any_open")
    lines.append(f"  any_open -. {quote('disqualify (reason)')} .-> disqualified")
    for source, target, name in transitions:
        if target == Stage.DISQUALIFIED:
            continue
        if name == "start_prospecting":
            lines.append(f"  {source} -. {quote('cold prospecting')} .-> {target}")
        elif name == "start_working" and source == Stage.MQL:
            lines.append(f"  {source} -- {quote('first touch')} --> {target}")
        elif name == "reopen":
            lines.append(f"  {source} -. {quote('reopen')} .-> {target}")
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
