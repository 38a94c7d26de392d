"""The playbook's Mermaid sources show every name as text: HTML, quotes, entity codes and
backticks in a stage or channel name never become markup in the diagram."""

from __future__ import annotations

from types import SimpleNamespace

from agreements.diagrams import channel_diagram, label_text
from leads.diagrams import lifecycle_diagram, lifecycle_transitions


def node_line(source: str, node: str) -> str:
    return next(line for line in source.splitlines() if line.strip().startswith(node + "["))


def test_label_text_turns_markup_into_mermaid_entity_codes():
    assert label_text('<b>"A" & `B` #1;</b>\nnext') == (
        "#lt;b#gt;#quot;A#quot; #amp; #96;B#96; #35;1;#lt;/b#gt; next"
    )


def test_lifecycle_stage_names_and_clock_texts_are_text():
    definitions = [
        SimpleNamespace(stage="mql", name='<img src=x onerror="alert(1)">MQL', level="<u>L2</u>")
    ]
    clock = {"mql": '<a href="javascript:alert(1)">4 h</a>'}

    source = lifecycle_diagram(definitions, lifecycle_transitions(), clock)

    line = node_line(source, "mql")
    assert line == (
        '    mql["#lt;u#gt;L2#lt;/u#gt; · #lt;img src=x onerror=#quot;alert(1)#quot;#gt;MQL'
        '<br/><i>#lt;a href=#quot;javascript:alert(1)#quot;#gt;4 h#lt;/a#gt;</i>"]'
    )
    for markup in ("<img", "<a ", "<u>", 'onerror="'):
        assert markup not in source


def test_channel_names_entry_stages_and_times_are_text():
    rows = [
        {
            "slug": "demo-request",
            "name": '<b id="x">Demo</b> "request"',
            "entry_stage": "mql",
            "entry_stage_name": "<i>MQL</i>",
            "edge": "<script>alert(1)</script>2 h",
        }
    ]
    source = channel_diagram(rows, default_followup="<s>4 h</s>")
    assert (
        'ch_demo_request("#lt;b id=#quot;x#quot;#gt;Demo#lt;/b#gt; #quot;request#quot;")' in source
    )
    for markup in ("<b", "<i>", "<script", "<s>"):
        assert markup not in source
    assert "#lt;script#gt;alert(1)#lt;/script#gt;2 h" in source
