"""The chat UI: pure rendering (answer -> HTML) table-driven, and the real app in a real browser."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from assistant import ui, ui_render
from assistant.api import Assistant
from assistant.config import Settings
from assistant.errors import AssistantError, BackendError
from assistant.ports import free_port
from assistant.records import Answer, Citation, Hit, IngestSummary, Paper, Sentence, Source
from assistant.text import render_math

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTION = "How does Stable-SPAM stabilise 4-bit training?"
STABLE_SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"
NEW_TITLE = "Quokka Lattices for Sparse Sunflower Attention"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 180_000


# ---- pure rendering ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, turn, expected",
    [
        ("X [1].", 0, 'X <a class="cite" href="#src-0-1">[1]</a>.'),
        (
            "A [2][1, 3]",
            4,
            'A <a class="cite" href="#src-4-2">[2]</a><a class="cite" href="#src-4-1">[1]</a>'
            '<a class="cite" href="#src-4-3">[3]</a>',
        ),
        ("a < b & no marker", 0, "a &lt; b &amp; no marker"),
        ("range [1-2].", 1, 'range <a class="cite" href="#src-1-1">[1]</a><a class="cite" href="#src-1-2">[2]</a>.'),
    ],
)
def test_link_markers__escapes_text_and_links_each_cited_number(text, turn, expected):
    assert ui.link_markers(text, turn) == expected


@pytest.mark.parametrize(
    "sentence, expected",
    [
        (Sentence("It works.", [1], "supported"), 'It works <a class="cite" href="#src-0-1">[1]</a>.'),
        (Sentence("It works [1].", [1], "supported"), 'It works <a class="cite" href="#src-0-1">[1]</a>.'),
        (Sentence("Plain.", [], "listing"), "Plain."),
        (
            Sentence("Plain.", [], "uncited"),
            f'<span class="uncited" title="{ui_render.UNCITED_TITLE}">⚠ Plain. <em>(no source)</em></span>',
        ),
        (
            Sentence("It works.", [1], "supported", attributed=True),
            f'<span class="attributed" title="{ui_render.ATTRIBUTED_TITLE}">It works <a class="cite" href="#src-0-1">[1]</a>.</span>',
        ),
        (
            Sentence("It flies.", [2], "unsupported"),
            f'<span class="unsupported" title="{ui_render.UNSUPPORTED_TITLE}">⚠ It flies <a class="cite" href="#src-0-2">[2]</a>.</span>',
        ),
        (
            Sentence("It sinks.", [2], "contradicted"),
            f'<span class="contradicted" title="{ui_render.CONTRADICTED_TITLE}">✗ It sinks <a class="cite" href="#src-0-2">[2]</a>.'
            " <em>(contradicted)</em></span>",
        ),
        (Sentence("Yes: it does.", [], "finding"), '<strong class="finding">Yes: it does.</strong>'),
    ],
)
def test_sentence_html__adds_markers_once_and_flags_unsupported(sentence, expected):
    assert ui.sentence_html(sentence, 0) == expected


@pytest.mark.parametrize(
    "abstract, evidence, expected",
    [
        ("A b. C d.", ["C d."], "A b. <mark>C d.</mark>"),
        ("A  b.\nC d.", ["A b."], "<mark>A b.</mark> C d."),
        ("A b. C d.", ["missing."], "A b. C d."),
        ("x < y. Z.", ["x < y."], "<mark>x &lt; y.</mark> Z."),
        ("A b. C d.", ["C d.", "A b.", ""], "<mark>A b.</mark> <mark>C d.</mark>"),
    ],
)
def test_highlight__marks_verbatim_evidence_in_the_abstract(abstract, evidence, expected):
    assert ui.highlight(abstract, evidence) == expected


@pytest.mark.parametrize(
    "meta, expected",
    [
        ({"authors": ["A", "B", "C", "D"]}, "A, B, C et al."),
        ({"authors": ["A"], "organisation": "Lab"}, "A; Lab"),
        ({"authors": [], "authors_count": 7}, "7 authors"),
        ({"authors": ["Tianlong Chen"], "authors_partial": True}, "Tianlong Chen et al."),  # an author page's owner
        ({}, ""),
    ],
)
def test_people__shortens_author_lists(meta, expected):
    assert ui.people(meta) == expected


def make_hit(paper_id="p1", title="Paper One", abstract="First claim. Second claim.", rank=1, **meta):
    return Hit(
        paper_id=paper_id,
        title=title,
        abstract=abstract,
        score=0.5,
        rank=rank,
        metadata={"listings": ["000_a.txt"], "date": "2025-02-01", "authors": ["Ada"], **meta},
    )


def make_answer(**fields):
    base = dict(
        question="q",
        text="First claim [1].",
        citations=[Citation(1, "p1", "Paper One", ["First claim."])],
        sources=[make_hit()],
        sentences=[Sentence("First claim.", [1], "supported")],
        backend="extractive",
        model="mmr-sentences",
        timings_ms={"total": 12.3},
    )
    return Answer(**{**base, **fields})


def test_answer_html__links_markers_and_shows_backend_model_time_and_notes():
    html = ui.answer_html(make_answer(notes=["openai backend failed: down; answered with extractive"]), 2)
    assert '<a class="cite" href="#src-2-1">[1]</a>' in html
    assert "extractive · mmr-sentences · 12 ms" in html
    assert "note: openai backend failed: down; answered with extractive" in html


def test_answer_html__abstention_says_so_once_and_lists_the_three_closest_titles():
    answer = make_answer(
        text="I cannot answer this from the indexed papers.",
        abstained=True,
        citations=[],
        sentences=[],
        sources=[make_hit(f"p{i}", f"Paper {i}", rank=i) for i in range(1, 6)],
    )
    html = ui.answer_html(answer, 0)
    assert html.count("cannot answer") == 1 and "No answer in the indexed papers" not in html
    assert '<ul class="closest"><li>Paper 1</li><li>Paper 2</li><li>Paper 3</li></ul>' in html and "Paper 4" not in html
    panel = ui.sources_html(answer, 0)
    assert "Closest papers (not cited)" in panel and "<li>Paper 3</li>" in panel
    assert "src-card" not in panel and "First claim" not in panel  # titles only, no abstracts


def test_sources_html__one_card_per_citation_with_metadata_links_and_evidence():
    answer = make_answer(
        sources=[make_hit(url="https://arxiv.org/abs/1", code_links=["https://github.com/x/y"], organisation="Lab")]
    )
    card = ui.sources_html(answer, 3)
    assert 'id="src-3-1"' in card and "[1] Paper One" in card
    assert "listing 000 · 2025-02-01 · Ada; Lab" in card
    assert '<a href="https://arxiv.org/abs/1" target="_blank" rel="noopener noreferrer">paper</a>' in card
    assert ">code</a>" in card
    assert "<mark>First claim.</mark> Second claim." in card


def test_sources_html__listing_names_javascript_urls_and_links_from_abstracts():
    answer = make_answer(
        sources=[
            make_hit(url="javascript:alert(1)", code_links=["http://evil.example/login", "https://github.com/x/y"])
        ]
    )
    card = ui.sources_html(answer, 0, {"000_a.txt": "Tianlong Chen's author page"})
    assert "Tianlong Chen&#x27;s author page · 2025-02-01" in card
    assert "javascript" not in card and ">paper</a>" not in card
    assert '<a href="https://github.com/x/y" target="_blank" rel="noopener noreferrer">code</a>' in card
    assert '<span class="link-text">http://evil.example/login</span>' in card and 'href="http://evil' not in card


def test_sources_panel__keeps_the_latest_open_and_older_turns_collapsed():
    assert "appear here" in ui.sources_panel([])
    panel = ui.sources_panel(["<p>one</p>", "<p>two</p>", "<p>three</p>"])
    assert panel.startswith("<p>three</p>")
    assert panel.index("Sources of answer 2") < panel.index("Sources of answer 1")


def make_paper(paper_id, title, abstract="x", **fields):
    return Paper(paper_id=paper_id, title=title, abstract=abstract, sources=[Source("001_b.txt", 0)], **fields)


PAPERS = [
    make_paper("a1", "Sparse Attention", authors=["Ada Lovelace", "B", "C", "Grace Hopper"], date="2024-05-01"),
    make_paper("b2", "Dense Models", organisation="Lab X", year=2023, title_derived=True, abstract="Sunflower nets."),
]


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "",
            [
                ["a1", "Sparse Attention", "listing 001", "2024-05-01", "Ada Lovelace, B, C et al.", ""],
                ["b2", "Dense Models", "listing 001", "2023", "Lab X", "yes"],
            ],
        ),
        ("sparse", [["a1", "Sparse Attention", "listing 001", "2024-05-01", "Ada Lovelace, B, C et al.", ""]]),
        ("lab x", [["b2", "Dense Models", "listing 001", "2023", "Lab X", "yes"]]),
        ("sunflower", [["b2", "Dense Models", "listing 001", "2023", "Lab X", "yes"]]),  # a word of the abstract
        (
            "grace hopper",
            [["a1", "Sparse Attention", "listing 001", "2024-05-01", "Ada Lovelace, B, C et al.", ""]],
        ),  # a fourth author
        ("nothing-like-this", []),
    ],
)
def test_paper_rows__filters_on_every_query_word(query, expected):
    assert ui.paper_rows(PAPERS, query) == expected


@pytest.mark.parametrize(
    "listing, year, expected",
    [
        ("All", "All", None),
        (None, None, None),
        ("001_b.txt", "All", {"listing": "001_b.txt"}),
        ("All", "2024", {"year": 2024}),
    ],
)
def test_dropdown_filters__maps_dropdowns_to_filters(listing, year, expected):
    assert ui.dropdown_filters(listing, year) == expected


@pytest.mark.parametrize(
    "host, auth, expected",
    [
        ("127.0.0.1", None, None),
        ("localhost", None, None),
        ("0.0.0.0", "me:secret", ("me", "secret")),
        ("127.0.0.1", "me:pa:ss", ("me", "pa:ss")),
    ],
)
def test_check_access__allows_loopback_or_credentials(host, auth, expected):
    assert ui.check_access(host, auth) == expected


@pytest.mark.parametrize(
    "host, auth", [("0.0.0.0", None), ("192.168.1.5", ""), ("0.0.0.0", "nopassword"), ("::", ":x")]
)
def test_launch__refuses_a_public_host_without_auth(host, auth):
    with pytest.raises(AssistantError, match="USER:PASSWORD"):
        ui.launch(object(), host=host, port=free_port(), auth=auth)


# ---- the real app in a real browser ------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_app(browser):
    """Serve an assistant on a free loopback port and open it; yields (page, off-host requests)."""
    ARTIFACTS.mkdir(exist_ok=True)
    demos, contexts = [], []

    def start(assistant):
        demo = ui.launch(assistant, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
        demos.append(demo)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        elsewhere: list[str] = []
        page.on(
            "request", lambda r: urlparse(r.url).hostname in (None, "127.0.0.1", "localhost") or elsewhere.append(r.url)
        )
        page.goto(demo.local_url)
        page.wait_for_selector("#question textarea")
        return page, elsewhere

    yield start
    for context in contexts:
        context.close()
    for demo in demos:
        demo.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def ask(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def upload(page, path: Path) -> None:
    page.set_input_files("#ingest-files input[type=file]", str(path))
    page.locator("#ingest-files").get_by_text(path.name).first.wait_for()
    page.click("#ingest-button")


@pytest.fixture
def extractive_assistant(fresh_index_copy, embedder):
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    assistant.settings.llm.backend = "extractive"
    return assistant


@pytest.mark.slow
def test_chat_cites_stable_spam_then_an_ingested_paper_appears_in_the_corpus(open_app, extractive_assistant, tmp_path):
    page, elsewhere = open_app(extractive_assistant)
    shot(page, "01-start")
    ask(page, QUESTION)
    page.wait_for_selector("#chat a.cite[href$='-1']")
    card = page.locator("#sources-panel .src-card", has_text=STABLE_SPAM_TITLE).first
    card.wait_for()
    shot(page, "02-answer")
    assert "extractive" in page.locator("#chat .answer-meta").last.inner_text()

    page.locator("#chat a.cite[href$='-1']").first.click()
    active = page.locator("#sources-panel .src-card.active")
    active.wait_for()
    shot(page, "03-citation-clicked")
    assert STABLE_SPAM_TITLE in active.inner_text()
    abstract = next(p.abstract for p in extractive_assistant.papers() if p.title == STABLE_SPAM_TITLE)
    marks = active.locator("mark").all_inner_texts()
    shown = render_math(abstract)  # the panel shows "$l_2$-norm" as "l₂-norm"
    assert marks and all(" ".join(m.split()) in shown for m in marks)
    assert "$" not in active.inner_text()

    new = tmp_path / "new-paper.jsonl"
    new.write_text(
        json.dumps(
            {
                "id": "uitest-0001",
                "title": NEW_TITLE,
                "authors": "Ada Quokka, Ben Lattice",
                "date": "2025-03-04",
                "abstract": "We introduce quokka lattices, a sparse attention "
                "pattern shaped like a sunflower. It halves memory on long sequences.",
            }
        )
        + "\n"
    )
    open_tab(page, "Ingest")
    upload(page, new)
    page.wait_for_selector("#ingest-status .ingest-summary")
    shot(page, "04-ingested")
    assert "1 new" in page.inner_text("#ingest-status")

    open_tab(page, "Corpus")
    page.fill("#corpus-search textarea, #corpus-search input", "quokka sunflower")
    page.wait_for_function(
        "title => document.querySelector('#corpus-table').textContent.includes(title)", arg=NEW_TITLE
    )
    shot(page, "05-corpus-search")
    assert STABLE_SPAM_TITLE not in page.text_content("#corpus-table")
    assert "219 papers" in page.inner_text("#paper-count")
    assert elsewhere == []


@pytest.mark.slow
def test_uploading_a_binary_file_shows_the_error_and_keeps_the_corpus(open_app, extractive_assistant, tmp_path):
    page, _ = open_app(extractive_assistant)
    before = len(extractive_assistant.papers())
    binary = tmp_path / "broken.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    open_tab(page, "Ingest")
    upload(page, binary)
    page.wait_for_selector("#ingest-status .ingest-error")
    shot(page, "06-binary-refused")
    message = page.inner_text("#ingest-status")
    assert "broken.jsonl" in message and "binary" in message and "Traceback" not in message
    open_tab(page, "Corpus")
    assert f"{before} papers" in page.inner_text("#paper-count")
    assert len(extractive_assistant.papers()) == before


class ScriptedAssistant:
    """Stands in for Assistant where the UI must show what the real one rarely produces on demand."""

    def __init__(self, settings):
        self.settings = settings
        self.calls: list[dict] = []

    def papers(self):
        return PAPERS

    def ingest(self, paths):
        return IngestSummary()

    def ask_stream(self, question, history=None, filters=None, k=None, strict=None, backend=None, model=None):
        self.calls.append(
            {"question": question, "history": history, "filters": filters, "k": k, "backend": backend, "model": model}
        )
        if "down" in question:
            raise BackendError("the openai endpoint at http://127.0.0.1:9/v1 is unreachable (connection refused)")
        yield "It flies [2]."
        yield make_answer(
            text="It works [1]. It flies [2].",
            sources=[make_hit(), make_hit("p2", "Paper Two", rank=2)],
            citations=[Citation(1, "p1", "Paper One", ["First claim."]), Citation(2, "p2", "Paper Two", [])],
            sentences=[Sentence("It works.", [1], "supported"), Sentence("It flies.", [2], "unsupported")],
        )


@pytest.mark.slow
def test_chat_follow_ups_unsupported_sentences_and_backend_errors(open_app):
    scripted = ScriptedAssistant(Settings())
    page, _ = open_app(scripted)
    # Open the settings now: the accordion mounts its fields after the click, and a value typed while they mount is
    # replaced by the initial one.
    page.locator("#options").click()
    page.locator("#chat").get_by_text(ui.EXAMPLES[2]).first.click()
    flagged = page.locator("#chat .unsupported").first
    flagged.wait_for()
    assert "⚠" in flagged.inner_text() and flagged.get_attribute("title") == ui_render.UNSUPPORTED_TITLE

    ask(page, "And does it swim?")
    page.locator("#chat .answer-meta").nth(1).wait_for()
    assert scripted.calls[0]["question"] == ui.EXAMPLES[2] and scripted.calls[0]["history"] == []
    assert scripted.calls[1]["history"] == [
        {"role": "user", "content": ui.EXAMPLES[2]},
        {"role": "assistant", "content": "It works [1]. It flies [2]."},
    ]
    assert scripted.calls[1]["backend"] == scripted.settings.llm.backend and scripted.calls[1]["filters"] is None
    page.locator("#chat a.cite[href='#src-0-1']").first.click()
    page.wait_for_selector("#sources-panel details[open] #src-0-1.active")
    shot(page, "07-follow-up-older-citation")

    ask(page, "Is the endpoint down?")
    page.locator("#chat .answer-error").first.wait_for()
    shot(page, "08-unsupported-and-error")
    error = page.locator("#chat .answer-error").first.inner_text()
    assert "unreachable (connection refused)" in error and "Traceback" not in page.inner_text("#chat")

    model_box = page.locator("#model input, #model textarea").first
    expect(model_box).to_have_value(scripted.settings.llm.model)
    model_box.fill("my-model")
    model_box.press("Tab")  # leave the field as a person does
    expect(model_box).to_have_value("my-model")
    ask(page, "Which model answers?")
    page.locator("#chat .answer-meta").nth(2).wait_for()
    assert scripted.calls[-1]["question"] == "Which model answers?" and scripted.calls[-1]["model"] == "my-model"


@pytest.mark.slow
def test_chat_answer_exports_as_markdown_and_bibtex_and_the_sources_panel_scrolls(open_app):
    scripted = ScriptedAssistant(Settings())
    page, elsewhere = open_app(scripted)
    ask(page, "What does it do?")
    page.locator("#export-markdown").wait_for(state="visible")
    with page.expect_download() as download:
        page.locator("#export-markdown").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert (
        markdown.startswith("**Q:** q")
        and "## References" in markdown
        and "[1] Ada (2025-02-01). *Paper One*." in markdown
    )
    with page.expect_download() as download:
        page.locator("#export-bibtex").click()
    bibtex = Path(download.value.path()).read_text(encoding="utf-8")
    assert bibtex.count("@misc{") == 2 and "title = {Paper One}" in bibtex
    style = page.eval_on_selector(
        "#sources-panel", "e => [getComputedStyle(e).maxHeight, getComputedStyle(e).overflowY]"
    )
    assert style == ["720px", "auto"]
    shot(page, "09-export")
    assert elsewhere == []


def test_check_html__supporting_and_contradicting_side_by_side():
    from assistant.records import ClaimCheck, PaperVerdict
    from assistant.ui_check import check_html

    check = ClaimCheck(
        "X works",
        [
            PaperVerdict("p1", "Paper <one>", "supports", 0.9, ["X works well."]),
            PaperVerdict("p2", "Paper two", "contradicts", 0.8, ["X fails."]),
            PaperVerdict("p3", "Paper three", "not_enough_info", 0.7, []),
        ],
    )
    page = check_html(check, {"p1": "Intro. X works well.", "p2": "X fails. Done."})
    supporting, contradicting = page.split('<div class="check-column">')[1:3]
    assert "Supporting (1)" in supporting and "<mark>X works well.</mark>" in supporting
    assert "Paper &lt;one&gt;" in supporting and "Contradicting (1)" in contradicting
    assert "<mark>X fails.</mark>" in contradicting and "Not enough information (1)" in page
    assert "supported by 1 and contradicted by 1 of the 3 papers checked" in page


@pytest.mark.slow
def test_check_tab__supporting_papers_with_the_rationale_marked(open_app, extractive_assistant):
    page, elsewhere = open_app(extractive_assistant)
    open_tab(page, "Check a claim")
    page.fill("#claim textarea", "Stable-SPAM stabilizes gradient norms in 4-bit LLM training.")
    page.click("#check-button")
    supporting = page.locator("#check-result .check-column").first
    supporting.locator(".src-card").first.wait_for()
    shot(page, "08-check-claim")
    assert "Supporting" in supporting.inner_text() and STABLE_SPAM_TITLE in supporting.inner_text()
    assert supporting.locator("mark").count() >= 1
    assert "papers checked" in page.locator("#check-result .check-summary").inner_text() and not elsewhere


def test_export_paths__keep_only_the_newest_answers_in_one_folder_per_process():
    from pathlib import Path

    from assistant.records import Answer
    from assistant.ui import export_paths, exports_root

    written = [export_paths(Answer(question=f"q{i}", text=f"answer {i}"), kept=2)[0] for i in range(3)]
    root = Path(exports_root().name)
    assert all(Path(p).parent.parent == root for p in written)
    assert not Path(written[0]).exists() and all(Path(p).exists() for p in written[1:])
    assert len(list(root.iterdir())) == 2 and Path(written[2]).read_text(encoding="utf-8").strip()
