"""Export: an answer as Markdown with numbered references, the cited papers as BibTeX, and `assistant ask --format`."""

from __future__ import annotations

import bibtexparser
import pytest

from assistant.export import cite_key, export, reference, to_bibtex, to_markdown
from assistant.records import Answer, Citation, Hit, Sentence


def answer() -> Answer:
    meta1 = {
        "authors": ["Nie Lin", "Zhiyuan Chen"],
        "year": 2024,
        "url": "https://arxiv.org/abs/2401.00001",
        "venue": "TPAMI",
    }
    meta2 = {"authors": ["Jörg Müller"], "year": 2023, "url": "javascript:alert(1)"}
    sources = [
        Hit("p1", "DANCE: 50% & {less} cost_*", "We propose DANCE.", 1.0, 1, metadata=meta1),
        Hit("p2", "Stable-SPAM #1", "Stable-SPAM is stable.", 0.9, 2, metadata=meta2),
    ]
    return Answer(
        question="What is DANCE?",
        text="We propose DANCE [1]. Stable-SPAM is stable [2].",
        citations=[
            Citation(1, "p1", sources[0].title, ["We propose DANCE."]),
            Citation(2, "p2", sources[1].title, ["Stable-SPAM is stable."]),
        ],
        sources=sources,
        sentences=[
            Sentence("We propose DANCE.", [1], "supported"),
            Sentence("Stable-SPAM is stable.", [2], "unsupported"),
        ],
        backend="extractive",
        model="shaped-mmr-sentences",
    )


def test_reference__authors_year_title_venue_id_and_only_an_http_url():
    meta = {"authors": ["A B"], "year": 2024, "url": "javascript:alert(1)"}
    assert reference(1, "DANCE", "p5e", meta) == "[1] A B (2024). *DANCE*. id: p5e."
    assert reference(2, "X", "p1", {"url": "https://x.org/a"}) == "[2] *X*. id: p1. <https://x.org/a>"


def test_to_markdown__answer_with_markers_then_numbered_references_with_evidence():
    text = to_markdown(answer())
    assert text.splitlines()[:3] == [
        "**Q:** What is DANCE?",
        "",
        "We propose DANCE [1]. Stable-SPAM is stable [2]. *(unsupported?)*",
    ]
    assert "## References" in text
    assert (
        "[1] Nie Lin, Zhiyuan Chen (2024). *DANCE: 50% & {less} cost\\_\\**. TPAMI. id: p1. <https://arxiv.org/abs/2401.00001>"
        in text
    )
    assert "[2] Jörg Müller (2023). *Stable-SPAM \\#1*. id: p2." in text
    assert "javascript" not in text
    assert "   > We propose DANCE." in text


def test_to_markdown__an_abstention_is_one_message_without_references():
    abstained = Answer(question="What is GaLore?", text="I cannot answer this from the indexed papers.", abstained=True)
    assert to_markdown(abstained) == "**Q:** What is GaLore?\n\nI cannot answer this from the indexed papers.\n"
    assert to_bibtex(abstained) == ""


def test_to_bibtex__one_escaped_entry_per_cited_paper_that_parses_back():
    text = to_bibtex(answer())
    assert "@misc{lin2024dance," in text and "@misc{muller2023stablespam," in text
    assert "javascript" not in text
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    first, second = library.entries
    assert first.fields_dict["title"].value == r"DANCE: 50\% \& \{less\} cost\_*"
    assert first.fields_dict["author"].value == "Nie Lin and Zhiyuan Chen"
    assert first.fields_dict["url"].value == "https://arxiv.org/abs/2401.00001"
    assert second.fields_dict["author"].value == """J\\"org M\\"uller"""
    assert "url" not in second.fields_dict


@pytest.mark.parametrize(
    "title, meta, taken, key",
    [
        ("DANCE: data", {"authors": ["Nie Lin"], "year": 2024}, set(), "lin2024dance"),
        ("DANCE: data", {"authors": ["Nie Lin"], "year": 2024}, {"lin2024dance"}, "lin2024dancea"),
        ("A new optimizer", {}, set(), "p1new"),
    ],
)
def test_cite_key__surname_year_first_word_unique(title, meta, taken, key):
    assert cite_key(title, meta, "p1", taken) == key


def test_export__an_author_pages_owner_is_one_author_among_others():
    partial = answer()
    partial.sources[1].metadata = {"authors": ["Tianlong Chen"], "authors_partial": True, "year": 2024}
    entry = bibtexparser.parse_string(to_bibtex(partial)).entries[1]
    assert entry.fields_dict["author"].value == "Tianlong Chen and others"
    assert reference(2, "Stable-SPAM", "p2", partial.sources[1].metadata).startswith("[2] Tianlong Chen et al. (2024)")


def test_export__unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        export(answer(), "docx")


def test_cli_ask__format_markdown_and_bibtex(seed_index_dir, capsys):
    from assistant.cli import main

    assert (
        main(
            [
                "--index-dir",
                str(seed_index_dir),
                "ask",
                "What is DANCE?",
                "--backend",
                "extractive",
                "--format",
                "markdown",
            ]
        )
        == 0
    )
    markdown = capsys.readouterr().out
    assert markdown.startswith("**Q:** What is DANCE?") and "## References" in markdown and "[1] " in markdown
    assert (
        main(
            [
                "--index-dir",
                str(seed_index_dir),
                "ask",
                "What is DANCE?",
                "--backend",
                "extractive",
                "--format",
                "bibtex",
            ]
        )
        == 0
    )
    entries = bibtexparser.parse_string(capsys.readouterr().out).entries
    assert entries and entries[0].fields_dict["title"].value.startswith("DANCE")


@pytest.mark.parametrize(
    "meta, marked",
    [({"title_derived": True}, True), ({"title_derived": False}, False), ({}, False)],
)
def test_reference__a_title_made_from_the_abstract_is_marked(meta, marked):
    line = reference(1, "TSC: Deep neural networks are vulnerable…", "p1", meta)
    assert ("no title in the source" in line) is marked
