"""Field values as exports write them, made uniform: LaTeX, people, dates, identifiers, links (pure, table-driven)."""

from __future__ import annotations

import pytest

from assistant.formats.fields import (
    inverted_index_text,
    iso_date,
    normalise_arxiv,
    normalise_doi,
    people,
    strip_tags,
    web_link,
)
from assistant.formats.latex import latex_to_text


@pytest.mark.parametrize(
    "latex, text",
    [
        (r"B\"{u}ch and J{\"o}rg", "Büch and Jörg"),
        (r"Gr\"obner", "Gröbner"),
        (r"$\mathcal{F}$-divergence", "ℱ-divergence"),
        (r"\${\textbackslash}mathcal\{F\}\$ as Zotero writes it", "ℱ as Zotero writes it"),
        (r"see \url{https://x.org/a_b}", "see https://x.org/a_b"),
        (r"50\% of {\em all} {{BERT}} models", "50% of all BERT models"),
        ("a bare 100% stays", "a bare 100% stays"),
        (
            r"p {\textless} 0.05 in {\textless}i{\textgreater}vivo{\textless}/i{\textgreater}",
            "p < 0.05 in vivo",
        ),  # Zotero
        (r"10\textsuperscript{-3} and R\&D", "10^-3 and R&D"),
        (r"Fran\c{c}ois Erd\H{o}s -- \v{S}koda", "François Erdős – Škoda"),
        ("plain text, untouched", "plain text, untouched"),
    ],
)
def test_latex_to_text__accents_math_urls_and_escapes(latex, text):
    assert latex_to_text(latex) == text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Wrachtrup, Jörg; Smith, John A.", ["Jörg Wrachtrup", "John A. Smith"]),  # Zotero CSV
        ("Ann Lee, Bo Li and Cy Wu", ["Ann Lee", "Bo Li", "Cy Wu"]),
        ("Ann Lee, Bo Li, Cy Wu and Di Xu", ["Ann Lee", "Bo Li", "Cy Wu", "Di Xu"]),
        ("Lee, Ann and Li, Bo", ["Ann Lee", "Bo Li"]),  # BibTeX style in a plain field
        ("A. Novak; B. Horvath", ["A. Novak", "B. Horvath"]),  # IEEE
        ("Wrachtrup, Jörg", ["Jörg Wrachtrup"]),
        (
            [{"given": "Jörg", "family": "Wrachtrup"}, {"literal": "The Consortium"}],
            ["Jörg Wrachtrup", "The Consortium"],
        ),
        (["Berg, Hans"], ["Hans Berg"]),
        ("", []),
    ],
)
def test_people__last_first_lists_become_first_last(value, expected):
    assert people(value) == expected


@pytest.mark.parametrize(
    "args, expected",
    [
        (("2020-07-15",), "2020-07-15"),
        (("2020/7/3",), "2020-07-03"),
        (("2020-07",), "2020-07"),
        (("Mon, 2 Apr 2007 19:18:42 GMT",), "2007-04-02"),
        (("2019 Jan 15",), "2019-01-15"),
        (("Jul 2020",), "2020-07"),
        (("2023-01-03T18:59:59Z",), "2023-01-03"),
        (({"date-parts": [[2021, 9, 2]]},), "2021-09-02"),
        ((None, "2020", "jul"), "2020-07"),
        ((None, "2020", "13--18 Jul"), "2020-07"),
        ((None, 2019, 13), "2019"),
        ((None, "2018///"), "2018"),
        (("not a date",), None),
        ((None, "n.d."), None),
    ],
)
def test_iso_date__from_what_exports_hold(args, expected):
    assert iso_date(*args) == expected


@pytest.mark.parametrize(
    "function, value, expected",
    [
        (normalise_doi, "https://doi.org/10.1000/ABC.1", "10.1000/abc.1"),
        (normalise_doi, "doi:10.1000/x", "10.1000/x"),
        (normalise_doi, "not a doi", None),
        (normalise_arxiv, "arXiv:2101.00001v3", "2101.00001"),
        (normalise_arxiv, "http://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
        (normalise_arxiv, "10.48550/arXiv.2101.00001", "2101.00001"),
        (normalise_arxiv, "W123", None),
        (web_link, "https://example.org/a", "https://example.org/a"),
        (web_link, "javascript:alert(1)", None),
        (web_link, "file:///etc/passwd", None),
        (inverted_index_text, {"b": [1], "a": [0, 2]}, "a b a"),
        (inverted_index_text, {"x": [0], "y": [0], "z": [1]}, "x y z"),
        (strip_tags, "<jats:title>Abstract</jats:title><jats:p>We <jats:italic>x</jats:italic>.</jats:p>", "We x."),
    ],
)
def test_field_normalisers(function, value, expected):
    assert function(value) == expected
