"""The chat UI (Gradio): a chat with cited, streamed answers, a sources panel, the corpus, ingest.

The UI is thin: it calls the same `Assistant` methods as a Python user (`ask_stream`, `papers`,
`ingest`) and renders what they return; the rendering functions are pure (answer -> HTML).
Out of scope: answering, retrieval and support checking (see `answer`, `retrieve`, `verify`).
"""

from __future__ import annotations

import html
import logging
from functools import lru_cache
from typing import Any

import gradio as gr

from .api import filters_from
from .catalogue import listing_display_name
from .config import BACKENDS
from .errors import USER_ERRORS, AssistantError
from .formats.detect import SUFFIXES as INGEST_SUFFIXES
from .tools import ASK_CONCURRENCY  # questions answered at once; well above llm.max_concurrent, see build_app
from .ui_check import check_tab
from .ui_render import (  # noqa: F401  (re-exported: the UI's rendering, as before the split)
    answer_html,
    card_html,
    closest_html,
    error_html,
    highlight,
    link_markers,
    links_html,
    meta_html,
    people,
    sentence_html,
    sources_html,
    sources_panel,
    table_html,
)
from .ui_style import CSS, HEAD

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ALL = "All"
EXAMPLES = [
    "How does Stable-SPAM stabilise 4-bit training?",
    "Which papers study mixture-of-experts efficiency?",
    "What is DANCE?",
]
PAPER_COLUMNS = ["id", "title", "listings", "date", "authors / organisation", "derived title"]


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
            people(
                {
                    "authors": p.authors,
                    "authors_count": p.authors_count,
                    "authors_partial": p.authors_partial,
                    "organisation": p.organisation,
                }
            ),
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


EXPORTS_KEPT = 50  # answers whose export files stay on disk; older ones are deleted as new ones come


@lru_cache(maxsize=1)
def exports_root():
    """One temporary folder per process for the answers' export files, removed when the process ends."""
    import tempfile

    return tempfile.TemporaryDirectory(prefix="assistant-exports-")


def export_paths(answer, kept: int = EXPORTS_KEPT) -> tuple[str, str | None]:
    """Write an answer's Markdown and BibTeX exports to a fresh folder; BibTeX only when it cites papers.

    The folders live in `exports_root()`; only the newest `kept` stay (Gradio has served the older ones).
    """
    import shutil
    import tempfile
    import time
    from pathlib import Path

    from .export import to_bibtex, to_markdown

    root = Path(exports_root().name)
    older = sorted(root.iterdir())  # named by creation time
    for stale in older[: max(0, len(older) - kept + 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"answer-{time.time_ns():020d}-", dir=root))
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
    """The Gradio Blocks app over one Assistant: Chat, Corpus, Ingest and Check tabs, wired to the same Python API."""
    papers = assistant.papers()
    respond = responder(assistant)
    search_papers, refresh, ingest = corpus_handlers(assistant)
    with gr.Blocks(title="Paper assistant", analytics_enabled=False) as demo:
        history, turns, last = gr.State([]), gr.State([]), gr.State(None)
        c = chat_tab(assistant.settings, *corpus_choices(papers))
        corpus, ingesting = corpus_tab(papers), ingest_tab()
        check_tab(assistant)
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
