"""The chat UI (Gradio): a chat with cited, streamed answers, a sources panel, the corpus, ingest.

The UI is thin: it calls the same `Assistant` methods as a Python user (`ask_stream`, `papers`,
`ingest`) and renders what they return; the rendering functions are pure (answer -> HTML).
Out of scope: answering, retrieval and support checking (see `answer`, `retrieve`, `verify`).
"""

from __future__ import annotations

import html
import logging
from typing import Any

import gradio as gr

from .api import filters_from
from .catalogue import listing_display_name
from .citations import MARKER_RE, parse_markers, with_markers
from .config import BACKENDS
from .errors import USER_ERRORS, AssistantError
from .formats.detect import SUFFIXES as INGEST_SUFFIXES
from .text import render_math
from .tools import ASK_CONCURRENCY  # questions answered at once; well above llm.max_concurrent, see build_app
from .ui_style import CSS, HEAD
from .untrusted import safe_url, split_links

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ALL = "All"
EXAMPLES = [
    "How does Stable-SPAM stabilise 4-bit training?",
    "Which papers study mixture-of-experts efficiency?",
    "What is DANCE?",
]
PAPER_COLUMNS = ["id", "title", "listings", "date", "authors / organisation", "derived title"]
UNCITED_TITLE = "The model cited no source here and none of the retrieved abstracts supports it"
ATTRIBUTED_TITLE = "The model cited no source here; the citation was added by the support check"
UNSUPPORTED_TITLE = "Not supported by the cited abstract(s): check before relying on it"


# ---- pure rendering -----------------------------------------------------------------------------
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
    elif getattr(answer, "table", None):
        body = table_html(answer.table, turn)
    elif answer.sentences:
        body = " ".join(sentence_html(s, turn) for s in answer.sentences)
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
    shown = ", ".join(authors[:limit]) + (" et al." if len(authors) > limit else "")
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


def listing_names(papers) -> dict[str, str]:
    """Display name of every listing file. Example: {"000_5.txt": "Tianlong Chen's author page"}"""
    return {s.listing: listing_display_name(s.listing, s.listing_title) for p in papers for s in p.sources}


def paper_rows(papers, query: str = "") -> list[list]:
    """Rows of the corpus table, keeping papers whose title, abstract, authors or listings contain every word of `query`."""
    rows = []
    for p in papers:
        row = [
            p.paper_id,
            p.title,
            ", ".join(listing_display_name(s.listing, s.listing_title) for s in p.sources),
            p.date or (str(p.year) if p.year else ""),
            people({"authors": p.authors, "authors_count": p.authors_count, "organisation": p.organisation}),
            "yes" if p.title_derived else "",
        ]
        haystack = " ".join(row + [p.abstract, *p.authors, *p.listings]).lower()
        if all(word in haystack for word in query.lower().split()):
            rows.append(row)
    return rows


def dropdown_filters(listing: str | None, year: str | None) -> dict | None:
    """The filters the Listing and Year dropdowns choose. Example: dropdown_filters("All", "2024") == {"year": 2024}"""
    return filters_from(
        listing=None if listing in (None, "", ALL) else listing, year=None if year in (None, "", ALL) else year
    )


def check_access(host: str, auth: str | None) -> tuple[str, str] | None:
    """The (user, password) pair from "user:password"; refuses a non-loopback host without one."""
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise AssistantError("auth must look like USER:PASSWORD (both non-empty)")
        credentials = (user, password)
    if host not in LOOPBACK and credentials is None:
        raise AssistantError(
            f"refusing to serve the UI on {host} without a password: pass --auth USER:PASSWORD "
            f"(or set ASSISTANT_UI_AUTH), or bind to 127.0.0.1"
        )
    return credentials


# ---- the app ------------------------------------------------------------------------------------
def ingest_summary_html(summary) -> str:
    """The ingest summary: counts, then the skipped/repaired records and merged copies (first few)."""
    head, *details = str(summary).split("\n")
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in details)
    return (
        f'<div class="ingest-summary">Ingested: {html.escape(head)}' + (f"<ul>{items}</ul>" if items else "") + "</div>"
    )


def corpus_choices(papers) -> tuple[list, list[str]]:
    """Listing choices (readable name, file name) and year choices for the filter dropdowns."""
    names = listing_names(papers)
    listings = [(names[name], name) for name in sorted(names)]
    years = sorted({str(p.year) for p in papers if p.year}, reverse=True)
    return [ALL] + listings, [ALL] + years


def export_paths(answer) -> tuple[str, str | None]:
    """Write an answer's Markdown and BibTeX exports to a fresh temporary folder; BibTeX only when it cites papers."""
    import tempfile
    from pathlib import Path

    from .export import to_bibtex, to_markdown

    folder = Path(tempfile.mkdtemp(prefix="assistant-export-"))
    markdown = folder / "answer.md"
    markdown.write_text(to_markdown(answer), encoding="utf-8")
    bibtex = to_bibtex(answer)
    if not bibtex:
        return str(markdown), None
    (folder / "references.bib").write_text(bibtex, encoding="utf-8")
    return str(markdown), str(folder / "references.bib")


def count_text(papers) -> str:
    """Example: count_text([p1, p2]) == "**2 papers** in the index" """
    return f"**{len(papers)} papers** in the index"


def responder(assistant):
    """The chat handler: streams an answer into the chat, then shows it with its sources."""

    def respond(message, chat, history, turns, listing, year, backend, model, k, strict):
        if not message or not message.strip():
            yield gr.skip(), chat, history, turns, gr.skip(), gr.skip()
            return
        chat = chat + [{"role": "user", "content": html.escape(message)}, {"role": "assistant", "content": "…"}]
        yield "", chat, history, turns, gr.skip(), gr.skip()
        partial, answer = "", None
        try:
            for item in assistant.ask_stream(
                message,
                history=list(history),
                filters=dropdown_filters(listing, year),
                k=int(k),
                strict=bool(strict),
                backend=backend,
                model=model or None,
            ):
                if isinstance(item, str):
                    partial += item
                    chat[-1] = {"role": "assistant", "content": html.escape(partial)}
                    yield gr.skip(), chat, history, turns, gr.skip(), gr.skip()
                else:
                    answer = item
        except Exception as err:
            if not isinstance(err, USER_ERRORS):  # an internal bug: its traceback goes to the log, not the page
                log.exception("answering failed")
                err = RuntimeError(f"internal error ({type(err).__name__}); the server log has the details")
            chat[-1] = {"role": "assistant", "content": error_html(err)}
            yield gr.skip(), chat, history, turns, gr.skip(), None
            return
        assert answer is not None, "ask_stream ends with the Answer"
        turn = len(turns)
        chat[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
        history = history + [{"role": "user", "content": message}, {"role": "assistant", "content": answer.text}]
        turns = turns + [sources_html(answer, turn, listing_names(assistant.papers()))]
        yield gr.skip(), chat, history, turns, sources_panel(turns), answer

    return respond


def corpus_handlers(assistant):
    """The Corpus and Ingest tabs' handlers: (search_papers, refresh, ingest)."""

    def search_papers(query):
        return paper_rows(assistant.papers(), query or "")

    def refresh(query):
        current = assistant.papers()
        listing_choices, year_choices = corpus_choices(current)
        return (
            paper_rows(current, query or ""),
            count_text(current),
            gr.update(choices=listing_choices),
            gr.update(choices=year_choices),
        )

    def ingest(files, query, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - how Gradio asks for a progress bar
        if not files:
            return ('<div class="ingest-error">Choose one or more files first.</div>',) + refresh(query)
        progress(0, desc="Reading and indexing…")
        try:
            summary = assistant.ingest([str(f) for f in files])
        except USER_ERRORS as err:
            return (
                f'<div class="ingest-error">⚠ Not ingested, the index is unchanged: {html.escape(str(err))}</div>',
            ) + refresh(query)
        return (ingest_summary_html(summary),) + refresh(query)

    return search_papers, refresh, ingest


def pick_example(selected: gr.SelectData):
    return selected.value["text"]


def export_files(answer):
    """The last answer as Markdown and its cited papers as BibTeX, offered as downloads."""
    if answer is None:
        return gr.update(visible=False), gr.update(visible=False)
    markdown, bibtex = export_paths(answer)
    return gr.update(value=markdown, visible=True), gr.update(value=bibtex, visible=bibtex is not None)


def chat_tab(settings, listings: list[str], years: list[str]) -> dict:
    """The Chat tab's layout: chat, question box, downloads, filters and settings, sources panel."""
    ui: dict[str, Any] = {}  # gradio components of several types, by name
    with gr.Tab("Chat", elem_id="tab-chat"), gr.Row():
        with gr.Column(scale=3):
            ui["chat"] = gr.Chatbot(
                label="Chat",
                elem_id="chat",
                height=560,
                feedback_options=None,
                group_consecutive_messages=False,
                examples=[{"text": q} for q in EXAMPLES],
                buttons=["copy"],
                placeholder="Ask about the indexed papers; answers cite them as [n].",
            )
            with gr.Row():
                ui["question"] = gr.Textbox(
                    elem_id="question", placeholder="Ask a question…", show_label=False, scale=5, submit_btn=True
                )
                ui["clear"] = gr.Button("New conversation", elem_id="clear", scale=1)
            with gr.Row():
                ui["download_md"] = gr.DownloadButton(
                    "Answer as Markdown", elem_id="export-markdown", visible=False, size="sm"
                )
                ui["download_bib"] = gr.DownloadButton(
                    "References as BibTeX", elem_id="export-bibtex", visible=False, size="sm"
                )
            with gr.Accordion("Filters and settings (apply to the next question)", open=False, elem_id="options"):
                with gr.Row():
                    ui["listing"] = gr.Dropdown(listings, value=ALL, label="Listing", elem_id="filter-listing")
                    ui["year"] = gr.Dropdown(years, value=ALL, label="Year", elem_id="filter-year")
                with gr.Row():
                    ui["backend"] = gr.Dropdown(
                        list(BACKENDS), value=settings.llm.backend, label="Backend", elem_id="backend"
                    )
                    ui["model"] = gr.Textbox(settings.llm.model, label="Model (openai backend)", elem_id="model")
                    ui["k"] = gr.Slider(
                        1, 20, value=settings.retrieval.k, step=1, label="Papers retrieved (k)", elem_id="k"
                    )
                    ui["strict"] = gr.Checkbox(
                        settings.llm.strict, label="Strict: drop unsupported sentences", elem_id="strict"
                    )
        with gr.Column(scale=2):
            ui["sources"] = gr.HTML(sources_panel([]), elem_id="sources-panel", label="Sources", max_height=720)
    return ui


def corpus_tab(papers) -> dict:
    """The Corpus tab's layout: paper count, search box and the paper table."""
    with gr.Tab("Corpus", elem_id="tab-corpus"):
        return {
            "count": gr.Markdown(count_text(papers), elem_id="paper-count"),
            "search": gr.Textbox(
                elem_id="corpus-search", placeholder="Search titles, abstracts, authors, listings…", show_label=False
            ),
            "table": gr.Dataframe(
                paper_rows(papers),
                headers=PAPER_COLUMNS,
                elem_id="corpus-table",
                interactive=False,
                wrap=True,
                max_height=640,
                column_widths=["11%", "39%", "16%", "10%", "16%", "8%"],
            ),
        }


def ingest_tab() -> dict:
    """The Ingest tab's layout: file picker, button and status line."""
    with gr.Tab("Ingest", elem_id="tab-ingest"):
        return {
            "files": gr.File(
                label="Files (BibTeX, RIS, CSV/TSV, JSON, JSONL, PubMed XML, MEDLINE, Atom, .txt listings)",
                file_count="multiple",
                type="filepath",
                elem_id="ingest-files",
                file_types=sorted(INGEST_SUFFIXES),
            ),
            "add": gr.Button("Add to index", variant="primary", elem_id="ingest-button"),
            "status": gr.HTML("", elem_id="ingest-status"),
        }


def build_app(assistant):
    """The Gradio Blocks app over one Assistant: Chat, Corpus and Ingest tabs, wired to the same Python API."""
    papers = assistant.papers()
    respond = responder(assistant)
    search_papers, refresh, ingest = corpus_handlers(assistant)
    with gr.Blocks(title="Paper assistant", analytics_enabled=False) as demo:
        history, turns, last = gr.State([]), gr.State([]), gr.State(None)
        c = chat_tab(assistant.settings, *corpus_choices(papers))
        corpus, ingesting = corpus_tab(papers), ingest_tab()
        options = [c["listing"], c["year"], c["backend"], c["model"], c["k"], c["strict"]]
        inputs = [c["question"], c["chat"], history, turns] + options
        outputs = [c["question"], c["chat"], history, turns, c["sources"], last]
        downloads = [c["download_md"], c["download_bib"]]
        # Questions have their own, wider limit than other events: an LLM call waits on its backend's slots
        # (llm.max_concurrent, within the first-token deadline), so a hung endpoint holds at most those,
        # while extractive answers and other sessions go on in the remaining workers.
        asking = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "ask"}
        c["question"].submit(respond, inputs, outputs, api_name="ask", **asking).then(
            export_files, last, downloads, queue=False
        )
        c["chat"].example_select(pick_example, None, c["question"]).then(respond, inputs, outputs, **asking).then(
            export_files, last, downloads, queue=False
        )
        for event in (c["clear"].click, c["chat"].clear):
            event(
                lambda: ([], [], [], sources_panel([]), None, gr.update(visible=False), gr.update(visible=False)),
                None,
                [c["chat"], history, turns, c["sources"], last] + downloads,
                queue=False,
            )
        corpus["search"].change(search_papers, corpus["search"], corpus["table"], queue=False)
        refreshed = [corpus["table"], corpus["count"], c["listing"], c["year"]]
        ingesting["add"].click(
            ingest, [ingesting["files"], corpus["search"]], [ingesting["status"]] + refreshed, concurrency_limit=1
        )
        demo.load(refresh, corpus["search"], refreshed, queue=False)
    return demo


def launch(assistant, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None, **options):
    """Serve the UI; anything but loopback needs auth ("user:password"). Returns the running Blocks."""
    credentials = check_access(host, auth)
    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, auth=credentials, share=False, **page_options(), **options)
    return demo


def page_options() -> dict[str, Any]:
    """How the page is served wherever it runs (`launch`, or mounted by `assistant serve`): no server-side
    rendering, no Gradio MCP server, our style and system fonts, no footer links."""
    return {"ssr_mode": False, "mcp_server": False, "css": CSS, "head": HEAD, "theme": theme(), "footer_links": []}


def theme():
    """The default theme with system fonts, so the page fetches nothing from font CDNs."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
