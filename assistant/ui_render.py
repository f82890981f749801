"""The chat UI's pure rendering: an answer, its sentences, table and sources as HTML.

Every function takes the project's result types (Answer, Sentence, Hit) and returns HTML; nothing here
talks to Gradio or the index. Out of scope: the page and its events (see `ui`), the claim check tab
(see `ui_check`).
"""

from __future__ import annotations

import html

from .catalogue import listing_display_name
from .citations import MARKER_RE, parse_markers, with_markers
from .text import render_math
from .untrusted import safe_url, split_links

UNCITED_TITLE = "The model cited no source here and none of the retrieved abstracts supports it"
ATTRIBUTED_TITLE = "The model cited no source here; the citation was added by the support check"
UNSUPPORTED_TITLE = "Not supported by the cited abstract(s): check before relying on it"
CONTRADICTED_TITLE = "A cited abstract says otherwise: see its highlighted sentence"


def link_markers(text: str, turn: int) -> str:
    """Escape text and turn its [n] markers into links to source cards.

    Example: link_markers("X [1].", 0) == 'X <a class="cite" href="#src-0-1">[1]</a>.'
    """
    out, last = [], 0
    for match in MARKER_RE.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        out.append(
            "".join(f'<a class="cite" href="#src-{turn}-{n}">[{n}]</a>' for n in parse_markers(match.group(0))[1])
        )
        last = match.end()
    return "".join(out) + html.escape(text[last:])


def sentence_html(sentence, turn: int) -> str:
    """One answer sentence with linked markers; an unsupported one is marked with ⚠ and a wavy underline."""
    text = sentence.text if MARKER_RE.search(sentence.text) else with_markers(sentence.text, sentence.citations)
    body = link_markers(text, turn)
    if sentence.verdict == "unsupported":
        return f'<span class="unsupported" title="{UNSUPPORTED_TITLE}">⚠ {body}</span>'
    if sentence.verdict == "contradicted":
        return f'<span class="contradicted" title="{CONTRADICTED_TITLE}">✗ {body} <em>(contradicted)</em></span>'
    if sentence.verdict == "finding":
        return f'<strong class="finding">{body}</strong>'
    if sentence.verdict == "uncited":
        return f'<span class="uncited" title="{UNCITED_TITLE}">⚠ {body} <em>(no source)</em></span>'
    if getattr(sentence, "attributed", False):
        return f'<span class="attributed" title="{ATTRIBUTED_TITLE}">{body}</span>'
    return body


def meta_html(answer) -> str:
    """The line under an answer: backend, model, time, then any notes."""
    total = answer.timings_ms.get("total") if answer.timings_ms else None
    parts = [answer.backend or "?", answer.model] + ([f"{total:.0f} ms"] if total is not None else [])
    notes = "".join(f"<br>note: {html.escape(n)}" for n in answer.notes)
    return f'<div class="answer-meta">{" · ".join(html.escape(p) for p in parts if p)}{notes}</div>'


def table_html(table, turn: int) -> str:
    """A comparison as an HTML table: a row per paper, a column per aspect, each cell a quote with its [n] link."""
    columns = [c for c in table.columns if any(c in row.cells for row in table.rows)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["paper", *columns])
    rows = "".join(
        f"<tr><td><b>{html.escape(render_math(row.title))}</b> "
        f"{link_markers(f'[{row.number}]', turn)}</td>"
        + "".join(f"<td>{html.escape(row.cells.get(c, '—'))}</td>" for c in columns)
        + "</tr>"
        for row in table.rows
    )
    return f'<table class="comparison"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def answer_html(answer, turn: int) -> str:
    """A finished answer as chat HTML: linked [n] markers, flagged sentences, abstention, meta line."""
    if answer.abstained:
        body = f'<span class="abstained-badge">{html.escape(answer.text)}</span>' + closest_html(answer)
    elif getattr(answer, "table", None) and answer.backend == "extractive":  # the table is the whole answer
        body = table_html(answer.table, turn)
    elif answer.sentences:
        body = " ".join(sentence_html(s, turn) for s in answer.sentences)
        if getattr(answer, "table", None):  # a generated comparison, with the papers' own sentences beside it
            body += table_html(answer.table, turn)
    else:
        body = link_markers(answer.text, turn)
    return f'<div class="answer{" abstained" if answer.abstained else ""}">{body}</div>{meta_html(answer)}'


def closest_html(answer, limit: int = 3) -> str:
    """The closest papers of an abstention as a short list of titles (not cited, so no numbers)."""
    titles = "".join(f"<li>{html.escape(h.title)}</li>" for h in answer.sources[:limit])
    return f'<div class="closest-papers">Closest papers:<ul class="closest">{titles}</ul></div>' if titles else ""


def highlight(abstract: str, evidence: list[str]) -> str:
    """Escape an abstract and wrap each verbatim evidence sentence in <mark>.

    Example: highlight("A b. C d.", ["C d."]) == "A b. <mark>C d.</mark>"
    """
    text = " ".join(abstract.split())
    spans = []
    for sentence in evidence:
        start = text.find(" ".join(sentence.split()))
        if sentence.strip() and start >= 0:
            spans.append((start, start + len(" ".join(sentence.split()))))
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(f"{html.escape(text[last:start])}<mark>{html.escape(text[start:end])}</mark>")
        last = end
    return "".join(out) + html.escape(text[last:])


def people(meta: dict, limit: int = 3) -> str:
    """Example: people({"authors": ["A", "B", "C", "D"]}) == "A, B, C et al." """
    authors = meta.get("authors") or []
    shown = ", ".join(authors[:limit]) + (" et al." if len(authors) > limit or meta.get("authors_partial") else "")
    if not shown and meta.get("authors_count"):
        shown = f"{meta['authors_count']} authors"
    return "; ".join(p for p in (shown, meta.get("organisation")) if p)


def links_html(meta: dict) -> list[str]:
    """The paper link and code links as anchors (http(s) only; code only on a code host); other links as plain text.

    Example: links_html({"url": "javascript:x", "code_links": ["http://evil.example/login"]})
    == ['<span class="link-text">http://evil.example/login</span>']
    """
    code, other = split_links(meta.get("code_links") or [])
    other += split_links(meta.get("links") or [])[1]
    anchors = [(label, u) for label, u in [("paper", safe_url(meta.get("url")))] + [("code", c) for c in code] if u]
    return [
        f'<a href="{html.escape(u)}" target="_blank" rel="noopener noreferrer">{label}</a>' for label, u in anchors
    ] + [f'<span class="link-text">{html.escape(u)}</span>' for u in other]


def card_html(
    number: int,
    title: str,
    abstract: str,
    meta: dict,
    evidence: list[str],
    turn: int,
    names: dict[str, str] | None = None,
) -> str:
    """One source card: number, title, listing(s) by name, date, people, links, abstract with evidence marked."""
    listings = ", ".join(
        (names or {}).get(name, listing_display_name(name, None)) for name in meta.get("listings") or []
    )
    facts = [listings, meta.get("date") or meta.get("year"), people(meta), meta.get("venue")]
    line = " · ".join([html.escape(str(f)) for f in facts if f] + links_html(meta))
    derived = (
        ' <span class="derived" title="The source file gave no title; this is the opening of the abstract">'
        "(untitled in the source)</span>"
        if meta.get("title_derived")
        else ""
    )
    return (
        f'<div class="src-card" id="src-{turn}-{number}" data-number="{number}">'
        f'<div><b>[{number}] {html.escape(render_math(title))}</b>{derived}</div><div class="meta">{line}</div>'
        f'<div class="abstract">{highlight(render_math(abstract), [render_math(e) for e in evidence])}</div></div>'
    )


def sources_html(answer, turn: int, names: dict[str, str] | None = None) -> str:
    """The cards of one answer's cited papers; for an abstention, the closest papers' titles only."""
    hits = {h.paper_id: h for h in answer.sources}
    if answer.abstained or not answer.citations:
        cards = [closest_html(answer)] if answer.sources else []
        heading = "Closest papers (not cited)" if cards else "No sources"
    else:
        cards = []
        for c in answer.citations:
            hit = hits.get(c.paper_id)
            cards.append(
                card_html(
                    c.number,
                    c.title,
                    hit.abstract if hit else " ".join(c.evidence),
                    hit.metadata if hit else {},
                    c.evidence,
                    turn,
                    names,
                )
            )
        heading = "Cited papers"
    return f'<div class="turn-sources" data-turn="{turn}"><h4>{heading}</h4>{"".join(cards)}</div>'


def sources_panel(turns: list[str]) -> str:
    """The latest answer's cards open, earlier answers' cards collapsed below them."""
    if not turns:
        return '<p class="sources-empty">Sources of the answer appear here.</p>'
    older = "".join(
        f"<details><summary>Sources of answer {i + 1}</summary>{t}</details>"
        for i, t in reversed(list(enumerate(turns[:-1])))
    )
    return turns[-1] + older


def error_html(err: Exception) -> str:
    """An error as one plain line in the chat. Example: "⚠ Could not answer: the endpoint is down" """
    return f'<div class="answer-error">⚠ Could not answer: {html.escape(str(err))}</div>'
