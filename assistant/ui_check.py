"""The UI's claim check: a claim in, the papers that support it and those that contradict it side by side.

Thin like the rest of the UI: it calls `Assistant.check` and renders the `ClaimCheck` it returns, each
paper's rationale highlighted in its abstract. Out of scope: the check itself (see `api`, `entailment`).
"""

from __future__ import annotations

import html

import gradio as gr

from .errors import USER_ERRORS
from .ui_render import highlight

COLUMNS = (("supports", "Supporting"), ("contradicts", "Contradicting"))


def verdict_card(verdict, abstract: str) -> str:
    """One paper of a claim check: title, id, label and score, the abstract with its rationale marked."""
    return (
        f'<div class="src-card check-{verdict.label}"><div><strong>{html.escape(verdict.title)}</strong> '
        f'<span class="meta">{html.escape(verdict.paper_id)} · {verdict.label.replace("_", " ")} '
        f"({verdict.score:.2f})</span></div>"
        f'<div class="abstract">{highlight(abstract, verdict.evidence)}</div></div>'
    )


def check_html(check, abstracts: dict[str, str]) -> str:
    """The summary, then supporting and contradicting papers in two columns, then those that do not speak to it."""
    columns = []
    for label, heading in COLUMNS:
        cards = [verdict_card(v, abstracts.get(v.paper_id, "")) for v in check.papers if v.label == label]
        body = "".join(cards) or '<p class="meta">none</p>'
        columns.append(f'<div class="check-column"><h4>{heading} ({len(cards)})</h4>{body}</div>')
    silent = [v for v in check.papers if v.label == "not_enough_info"]
    rest = "".join(
        f"<li>{html.escape(v.title)} <span class='meta'>{html.escape(v.paper_id)}</span></li>" for v in silent
    )
    return (
        f'<p class="check-summary"><strong>{html.escape(check.claim)}</strong>: {html.escape(check.summary)}</p>'
        f'<div class="check-columns">{"".join(columns)}</div>'
        + (
            f"<details><summary>Not enough information ({len(silent)})</summary><ul>{rest}</ul></details>"
            if silent
            else ""
        )
    )


def checker(assistant):
    """The Check tab's handler: (claim, k) -> HTML; a user error becomes a line of text, not a traceback."""

    def check(claim: str, k: float):
        try:
            result = assistant.check(claim, k=int(k))
        except (ValueError, *USER_ERRORS) as err:
            return f'<div class="answer-error">⚠ {html.escape(str(err))}</div>'
        abstracts = {v.paper_id: assistant.paper(v.paper_id).abstract for v in result.papers}
        return check_html(result, abstracts)

    return check


def check_tab(assistant) -> None:
    """The Check tab: a claim, how many papers to check, and the verdicts side by side."""
    with gr.Tab("Check a claim", elem_id="tab-check"):
        with gr.Row():
            claim = gr.Textbox(
                elem_id="claim", placeholder="A claim to check against the papers…", show_label=False, scale=5
            )
            k = gr.Slider(1, 20, value=5, step=1, label="Papers checked", elem_id="claim-k", scale=1)
        button = gr.Button("Check", variant="primary", elem_id="check-button")
        result = gr.HTML("", elem_id="check-result")
        handler = checker(assistant)
        button.click(handler, [claim, k], result, api_name="check", concurrency_id="ask")
        claim.submit(handler, [claim, k], result, concurrency_id="ask")
