"""Reading bibliography files (fixtures in each format), field normalisation, and refusing bad input clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.corpus import merge_report
from assistant.errors import AssistantError, CorpusError
from assistant.formats import MAX_LINE_BYTES, detect, load_file, read_file, read_text
from assistant.formats.detect import streams_as_jsonl
from assistant.records import IngestSummary, RecordProblem

FIXTURES = Path(__file__).parent / "fixtures" / "formats"

STABLE_SPAM_QUESTION = "How does Stable-SPAM stabilise 4-bit training?"
STABLE_SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"

ABSTRACT = (
    "We propose SparseWidget, a method that trains sparse networks of widgets with a new pruning rule. "
    "Experiments on three benchmarks show that SparseWidget matches dense accuracy at a tenth of the cost."
)
ABSTRACT_2 = "This paper studies how tokenisers shape multilingual language models and proposes a fairer vocabulary."


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# ---- JSON Lines --------------------------------------------------------------------------------


def test_load_file__jsonl_reads_title_abstract_id_authors_date_url(tmp_path):
    path = write(
        tmp_path / "mine.jsonl",
        jsonl(
            {
                "id": "doi:10.1/xyz",
                "title": "SparseWidget:  Sparse\nWidgets",
                "abstract": ABSTRACT,
                "authors": ["Ann Lee", "Bo Li"],
                "date": "2024-03-05",
                "url": "https://example.org/sparsewidget",
            },
            {"title": "Fair Tokenisers", "abstract": ABSTRACT_2, "authors": "Cy Wu, Di Xu and Ed Yi", "year": 2021},
        ),
    )
    first, second = load_file(path)
    assert (first.title, first.abstract, first.title_derived) == ("SparseWidget: Sparse Widgets", ABSTRACT, False)
    assert (first.external_id, first.url, first.date, first.year) == (
        "doi:10.1/xyz",
        "https://example.org/sparsewidget",
        "2024-03-05",
        2024,
    )
    assert (first.authors, first.authors_count) == (["Ann Lee", "Bo Li"], 2)
    assert [(s.listing, s.position, s.line) for s in first.sources] == [("mine.jsonl", 0, 1)]
    assert first.doi == "10.1/xyz" and first.paper_id.startswith("d")  # identity from the DOI-like id
    assert (second.authors, second.date, second.year) == (["Cy Wu", "Di Xu", "Ed Yi"], "2021", 2021)
    assert [(s.position, s.line) for s in second.sources] == [(1, 2)]


def test_load_file__jsonl_without_title_derives_one_and_skips_blank_lines(tmp_path):
    path = write(tmp_path / "untitled.ndjson", "\n" + jsonl({"abstract": ABSTRACT}) + "   \n")
    (paper,) = load_file(path)
    assert paper.title_derived and paper.title.startswith("SparseWidget: We propose SparseWidget")
    assert paper.sources[0].line == 2


def test_load_file__jsonl_string_holding_a_unicode_line_separator_stays_one_record(tmp_path):
    # JSON allows raw U+2028 / U+0085 inside strings; they must not split the line.
    path = write(
        tmp_path / "seps.jsonl",
        jsonl({"title": "A\u2028B", "abstract": ABSTRACT + "\u2028\x85 More."}, {"abstract": ABSTRACT_2}),
    )
    first, second = load_file(path)
    assert first.abstract.endswith("cost. More.") and first.title == "A B"
    assert second.sources[0].line == 2


ARXIV_RECORD = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
    "comments": "37 pages, 15 figures; published version",
    "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "categories": "hep-ph",
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented for the "
    "production of massive photon pairs at hadron colliders. All\nnext-to-leading order perturbative "
    "contributions are included.\n",
    "versions": [
        {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
    ],
    "update_date": "2008-11-13",
    "authors_parsed": [
        ["Balázs", "C.", ""],
        ["Berger", "E. L.", ""],
        ["Nadolsky", "P. M.", ""],
        ["Yuan", "C. -P.", ""],
    ],
}


def test_load_file__arxiv_snapshot_line_gives_abs_url_parsed_authors_and_first_version_date(tmp_path):
    (paper,) = load_file(write(tmp_path / "arxiv-metadata-oai-snapshot.json", jsonl(ARXIV_RECORD)))
    assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.abstract.startswith(
        "A fully differential calculation in perturbative quantum chromodynamics is presented"
    )
    assert paper.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert (paper.url, paper.external_id) == ("https://arxiv.org/abs/0704.0001", "0704.0001")
    # the first submission dates the paper; update_date is the last metadata edit (2008)
    assert (paper.date, paper.year) == ("2007-04-02", 2007)
    assert paper.venue == "Phys.Rev.D76:013009,2007"


def test_load_file__plain_jsonl_with_an_id_gets_no_arxiv_url(tmp_path):
    (paper,) = load_file(write(tmp_path / "plain.jsonl", jsonl({"id": "0704.0001", "abstract": ABSTRACT})))
    assert (paper.url, paper.external_id) == (None, "0704.0001")


# ---- CSV ---------------------------------------------------------------------------------------


def test_load_file__csv_with_a_case_insensitive_header(tmp_path):
    path = write(
        tmp_path / "papers.csv",
        "Title, ABSTRACT ,Authors,Date,URL\n"
        f'SparseWidget,"{ABSTRACT}","Ann Lee; Bo Li",2024-03-05,https://example.org/a\n'
        f'"Fair, Tokenisers",{ABSTRACT_2},,,\n',
    )
    first, second = load_file(path)
    assert (first.title, first.abstract, first.authors, first.date, first.year, first.url) == (
        "SparseWidget",
        ABSTRACT,
        ["Ann Lee", "Bo Li"],
        "2024-03-05",
        2024,
        "https://example.org/a",
    )
    assert (second.title, second.abstract, second.authors, second.date, second.url) == (
        "Fair, Tokenisers",
        ABSTRACT_2,
        [],
        None,
        None,
    )
    assert [p.sources[0].line for p in (first, second)] == [2, 3]


def test_load_file__csv_with_only_an_abstract_column(tmp_path):
    (paper,) = load_file(write(tmp_path / "only.csv", f'abstract\r\n"{ABSTRACT}"\r\n'))
    assert paper.abstract == ABSTRACT and paper.title_derived


def test_load_file__csv_with_a_utf8_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(("title,abstract\nÉtude," + ABSTRACT_2 + "\n").encode("utf-8-sig"))
    (paper,) = load_file(path)
    assert (paper.title, paper.abstract) == ("Étude", ABSTRACT_2)


# ---- BibTeX ------------------------------------------------------------------------------------

BIBTEX = f"""@comment{{generated, by a reference manager, version 5}}
@Comment{{jabref-meta: databaseType:bibtex;}}
@string{{naacl = "NAACL"}}

@article{{devlin2019,
  title = {{{{BERT}}: Pre-training of {{Deep}} Bidirectional Transformers}},
  author = {{Devlin, Jacob and Chang, Ming-Wei and Kristina Toutanova}},
  journal = {{Proceedings of {{NAACL}}}},
  year = 2019,
  abstract = {{We introduce {{BERT}}, a language representation model. {{Unlike {{recent}} models}}, it is pre-trained on
              unlabeled text by jointly conditioning on both left and right context in all layers.}}
}}

@inproceedings{{lee2024,
  title = "Quoted {{Title}} With, a Comma",
  author = "Ann Lee",
  booktitle = "Workshop on Widgets",
  abstract = "{ABSTRACT}",
}}
"""


def test_load_file__bibtex_braces_nested_braces_quotes_and_skipped_comments(tmp_path):
    bert, quoted = load_file(write(tmp_path / "refs.bib", BIBTEX))
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers"
    assert bert.abstract == (
        "We introduce BERT, a language representation model. Unlike recent models, it is "
        "pre-trained on unlabeled text by jointly conditioning on both left and right context in all layers."
    )
    assert bert.authors == ["Jacob Devlin", "Ming-Wei Chang", "Kristina Toutanova"]
    assert (bert.authors_count, bert.year, bert.venue, bert.external_id) == (
        3,
        2019,
        "Proceedings of NAACL",
        "devlin2019",
    )
    assert bert.sources[0].line == 5
    assert (quoted.title, quoted.abstract, quoted.authors, quoted.venue) == (
        "Quoted Title With, a Comma",
        ABSTRACT,
        ["Ann Lee"],
        "Workshop on Widgets",
    )
    assert (quoted.sources[0].position, quoted.sources[0].line) == (1, 14)


# ---- bad input ---------------------------------------------------------------------------------


def _huge_line(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.write(b'{"abstract": "')
        chunk = b"word " * 200_000  # 1 MB
        for _ in range(50):
            handle.write(chunk)
        handle.write(b'"}\n')


BAD_FILES = {
    # name: (writer, line named in the message or None, words the message must hold)
    "binary.jsonl": (lambda p: p.write_bytes(b'{"abstract": "x"}\n' + bytes(range(256)) * 8), 2, "binary"),
    "empty.jsonl": (lambda p: p.write_bytes(b""), None, "empty"),
    "blank.csv": (lambda p: p.write_bytes(b" \n\n\t  \r\n"), None, "empty"),
    "no-abstract-column.csv": (lambda p: write(p, "title,summary\nA,B\n"), 1, "'abstract' column"),
    "all-without-abstract.bib": (lambda p: write(p, "@article{b,\n title={B}\n}\n"), None, "every record was skipped"),
    "not-json.json": (lambda p: write(p, '{"abstract": "x",\n  "title": }\n'), 2, "not valid JSON"),
    "not-xml.xml": (
        lambda p: write(p, "<records><paper>x</paper></records>\n"),
        1,
        "neither PubMed XML nor an Atom feed",
    ),
    "claims-bib.bib": (lambda p: write(p, "just some words\nand more\n"), None, "not a BIBTEX file"),
    "invalid.jsonl": (
        lambda p: write(p, '{"abstract": "unterminated\n{"abstract": \n'),
        None,
        "every record was skipped",
    ),
    "huge-line.jsonl": (_huge_line, 1, "MB"),
    "paper.pdf": (lambda p: p.write_bytes(b"%PDF-1.7\n"), None, "unsupported file type '.pdf'"),
    "no-papers.txt": (lambda p: write(p, "Just a short title\n\nand a short line\n"), None, "no papers"),
}


def make_bad_file(folder: Path, name: str) -> Path:
    path = folder / name
    BAD_FILES[name][0](path)
    return path


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_load_file__bad_input_raises_corpus_error_naming_file_and_line(tmp_path, name):
    _, line, words = BAD_FILES[name]
    path = make_bad_file(tmp_path, name)
    with pytest.raises(CorpusError) as caught:
        load_file(path)
    message = str(caught.value)
    where = f"{name}, line {line}: " if line else f"{name}: "
    assert message.startswith(where), message
    assert words in message and "\n" not in message
    assert (caught.value.line, caught.value.path) == (line, str(path))


def test_load_file__line_of_exactly_the_limit_is_accepted(tmp_path):
    filler = "x" * (MAX_LINE_BYTES - len(json.dumps({"abstract": ""})))
    path = write(tmp_path / "limit.jsonl", json.dumps({"abstract": filler}) + "\n")
    assert load_file(path)[0].abstract == filler


def test_load_file__missing_file_is_a_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match=r"^nowhere\.jsonl: no such file$"):
        load_file(tmp_path / "nowhere.jsonl")


@pytest.mark.slow
def test_ingest__bad_files_leave_the_index_untouched(fresh_index_copy, embedder, tmp_path):
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    store_before = (fresh_index_copy / "manifest.json").read_bytes()
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    for name in BAD_FILES:
        with pytest.raises(CorpusError, match=name.replace(".", r"\.")):
            assistant.ingest([make_bad_file(bad_dir, name)])
        assert len(assistant.papers()) == 218, name
        assert (fresh_index_copy / "manifest.json").read_bytes() == store_before, name
    # one good file next to a bad one: all-or-nothing
    good = write(tmp_path / "good.jsonl", jsonl({"title": "SparseWidget", "abstract": ABSTRACT}))
    with pytest.raises(CorpusError):
        assistant.ingest([good, bad_dir / "invalid.jsonl"])
    assert (fresh_index_copy / "manifest.json").read_bytes() == store_before
    for reopened in (assistant, Assistant(index_dir=fresh_index_copy, embedder=embedder)):
        assert len(reopened.papers()) == 218
        assert reopened.search(STABLE_SPAM_QUESTION, k=3)[0].title == STABLE_SPAM_TITLE


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("bad.bin", b"\x00\x01binary\x00", "error: bad.bin, line 1: looks like a binary file"),
        (
            "bad.jsonl",
            b'{"abstract": "cut off\n{"abstract": \n',
            "error: bad.jsonl: no papers found: every record was skipped",
        ),
    ],
)
def test_cli_ingest__bad_file_exits_2_with_one_error_line(tmp_path, name, content, expected):
    bad = tmp_path / name
    bad.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--index-dir", str(tmp_path / "idx"), "ingest", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "idx" / "manifest.json").exists()


# ---- fixture files, one per format ---------------------------------------------------------------

# file: (format, papers, skipped, the first paper's fields)
FIXTURE_FILES = {
    "zotero.bib": (
        "bibtex",
        2,
        1,
        {
            "title": "Spin Qubits in Diamond at Tübingen: A Study of ℱ-Coherence",  # accents and math, not $\\mathcalF$
            "authors": ["Hanna Büch", "Jörg Wrachtrup", "Petr Škoda"],
            "date": "2020-07",
            "year": 2020,  # crossref + month = jul
            "venue": "Proceedings of the 37th International Conference on Machine Learning",  # @string and # concatenation
            "doi": "10.5555/icml.2020.42",
            "key": "buch2020spin",
        },
    ),
    "zotero.ris": (
        "ris",
        2,
        1,
        {
            "title": "Nitrogen-Vacancy Magnetometry in Living Cells",
            "authors": ["Jörg Wrachtrup", "John A. Smith"],
            "date": "2018-07-12",
            "venue": "Journal of Quantum Sensing",
            "doi": "10.5555/qs.2018.7",
            "url": "https://example.org/qs/7",
        },
    ),
    "medline.nbib": (
        "medline",
        1,
        1,
        {
            "title": "Optically detected magnetic resonance of single defects in silicon carbide.",
            "date": "2019-01-15",
            "authors": ["Jörg Wrachtrup", "Roland Nagy"],
            "pmid": "31000001",
            "venue": "Physical review letters",
        },
    ),
    "pubmed.xml": (
        "xml",
        1,
        1,
        {
            "title": "Quantum sensing of single proteins with diamond.",
            "date": "2020-03-05",
            "pmid": "32000001",
            "abstract": "Background: Single proteins are hard to observe. Results: Shallow NV centres detect the spin of single "
            "proteins under ambient conditions.",
            "authors": ["Jörg Wrachtrup", "Diamond Sensing Consortium"],
            "doi": "10.5555/ncomms.2020.3",
        },
    ),
    "openalex.json": (
        "json",
        1,
        1,
        {
            "abstract": "Diamond magnetometers image brain activity without touching brain tissue.",  # inverted index
            "authors": ["Jörg Wrachtrup", "Mei Chen"],
            "date": "2022-05-17",
            "venue": "NeuroImage",
            "doi": "10.5555/oa.2022.1",
            "pmid": "35000001",
        },
    ),
    "crossref.json": (
        "json",
        1,
        0,
        {
            "abstract": "Spin ensembles reach sub-shot-noise sensitivity. Squeezing is shown at room temperature.",  # JATS
            "authors": ["Jörg Wrachtrup", "Ana Ruiz"],
            "date": "2021-09-02",
            "venue": "Physical Review X",
            "doi": "10.5555/xr.2021.9",
        },
    ),
    "csl.json": (
        "json",
        2,
        0,
        {"date": "2021-09", "venue": "Phys. Rev. X", "doi": "10.5555/xr.2021.9", "key": "ruiz2021"},
    ),
    "semantic_scholar.json": (
        "json",
        1,
        0,
        {
            "title": "Self-Supervised Widgets",
            "authors": ["Jörg Wrachtrup", "Li Wei"],
            "date": "2021-04-12",
            "arxiv_id": "2104.05678",
            "venue": "NeurIPS",
        },
    ),
    "arxiv-snapshot.jsonl": (
        "jsonl",
        2,
        0,
        {
            "title": "Gröbner Bases for Spin Systems",
            "abstract": "We compute Gröbner bases of spin Hamiltonians with 𝒪(n^3) cost.",
            "authors": ["J. Wrachtrup", "P. Gröbner"],
            "date": "2007-04-02",
            "arxiv_id": "0704.0001",
            "url": "https://arxiv.org/abs/0704.0001",
        },
    ),
    "arxiv.atom": (
        "xml",
        1,
        0,
        {
            "title": "Diamond Quantum Memories at Telecom Wavelengths",
            "authors": ["Jörg Wrachtrup", "Sara Nunes"],
            "date": "2023-01-03",
            "arxiv_id": "2301.01234",
            "doi": "10.5555/atom.2023.5",
            "venue": "Nature Photonics 17, 1 (2023)",
        },
    ),
    "zotero.csv": (
        "table",
        2,
        1,
        {
            "title": "Room-Temperature Spin Readout",
            "authors": ["Jörg Wrachtrup", "John A. Smith"],
            "date": "2020-07-15",
            "venue": "Nature Physics",
            "key": "ZK1",
        },
    ),
    "ieee.csv": (
        "table",
        1,
        0,
        {
            "title": "Temperature-Controlled Transport of Medical Drugs",
            "authors": ["A. Novak", "B. Horvath"],
            "year": 2020,
            "venue": "IEEE Sensors Journal",
        },
    ),
    "scopus.csv": (
        "table",
        1,
        0,
        {"authors": ["Jörg Wrachtrup", "Kenji Ito"], "year": 2017, "venue": "Applied Physics Letters"},
    ),
    "wos.txt": (
        "table",
        1,
        0,
        {
            "title": "Web of Science Record on Spin Baths",
            "authors": ["Jörg Wrachtrup", "Maria Bauer"],
            "year": 2016,
            "doi": "10.5555/prb.2016.8",
        },
    ),
}


@pytest.mark.parametrize("name", list(FIXTURE_FILES))
def test_read_file__fixture_gives_papers_metadata_and_skipped_records(name):
    kind, n_papers, n_skipped, expected = FIXTURE_FILES[name]
    path = FIXTURES / name
    loaded = read_file(path)
    assert detect(path, read_text(path)) == kind
    assert (len(loaded.papers), loaded.problems.skipped) == (n_papers, n_skipped)
    first = loaded.papers[0]
    assert {k: getattr(first, k) for k in expected} == expected
    assert all(p.url is None or p.url.startswith(("http://", "https://")) for p in loaded.papers)


@pytest.mark.parametrize("name", ["zotero.bib", "zotero.ris", "medline.nbib", "openalex.json", "arxiv.atom", "wos.txt"])
def test_read_file__format_is_told_from_the_content_not_the_name(tmp_path, name):
    renamed = tmp_path / "export.txt"
    renamed.write_bytes((FIXTURES / name).read_bytes())
    assert [p.title for p in read_file(renamed).papers] == [p.title for p in read_file(FIXTURES / name).papers]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_read_file__utf16_with_a_byte_order_mark_is_read(tmp_path, encoding):
    text = (FIXTURES / "zotero.csv").read_text(encoding="utf-8")
    path = tmp_path / "zotero-utf16.csv"
    path.write_bytes(("\ufeff" if encoding != "utf-16" else "").encode(encoding) + text.encode(encoding))
    assert [p.title for p in read_file(path).papers] == [p.title for p in read_file(FIXTURES / "zotero.csv").papers]


def test_read_file__problems_name_file_line_key_and_what_was_done():
    problems = read_file(FIXTURES / "zotero.csv").problems
    assert [str(p) for p in problems.items] == [
        "zotero.csv, line 3 (ZK2): no abstract, skipped",
        "zotero.csv, line 4 (ZK3): no title; title derived from the abstract, repaired",
        "zotero.csv, line 4 (ZK3): link 'javascript:alert(1)' is not http(s), dropped, repaired",
    ]
    assert (problems.skipped, problems.repaired, problems.derived_titles) == (1, 2, 1)
    # a JSON document has no line per record: its position is named instead
    assert [str(p) for p in read_file(FIXTURES / "openalex.json").problems.items] == [
        "openalex.json, record 2 (W4000000002): no abstract, skipped"
    ]


def test_load_file__strict_refuses_a_file_with_a_skipped_record():
    with pytest.raises(
        CorpusError, match=r"^zotero\.bib, line 20: a record was skipped \(--strict\): nohAbstract2019: no abstract$"
    ):
        load_file(FIXTURES / "zotero.bib", strict=True)


def test_read_file__bibtex_duplicate_key_malformed_entry_and_repeated_field_are_reported_not_fatal(tmp_path):
    path = write(
        tmp_path / "dupes.bib",
        f"@article{{a, title={{A}}, abstract={{{ABSTRACT}}}}}\n"
        f"@article{{a, title={{Again}}, abstract={{{ABSTRACT_2}}}}}\n"
        "@article{broken, title = {never closed\n"
        f"@article{{c, title={{C}}, abstract={{{ABSTRACT_2}}}}}\n"
        f"@article{{d, title={{D1}}, title={{D2}}, abstract={{{ABSTRACT_2}}}}}\n",
    )
    loaded = read_file(path)
    assert [(p.key, p.title) for p in loaded.papers] == [("a", "A"), ("c", "C"), ("d", "D1")]
    assert sorted((p.line, p.problem, p.action) for p in loaded.problems.items) == [
        (2, "duplicate key", "skipped"),
        (3, "malformed BibTeX entry", "skipped"),
        (5, "field given twice (title); the first kept", "repaired"),
    ]


def test_merge__same_abstract_with_different_arxiv_ids_stays_two_papers():
    unique, merged = merge_report(read_file(FIXTURES / "arxiv-snapshot.jsonl").papers)
    assert [p.arxiv_id for p in unique] == ["0704.0001", "0704.0002"] and merged == []


def test_merge__same_doi_in_two_files_is_one_paper_with_two_sources():
    papers = read_file(FIXTURES / "crossref.json").papers + read_file(FIXTURES / "csl.json").papers
    unique, merged = merge_report(papers)
    (paper,) = [p for p in unique if p.doi == "10.5555/xr.2021.9"]
    assert [s.listing for s in paper.sources] == ["crossref.json", "csl.json"]
    assert merged == ["csl.json #1 = crossref.json #1 (doi:10.5555/xr.2021.9)"]


def test_ingest_summary__lists_the_first_problems_then_a_count():
    problems = [RecordProblem("refs.bib", i, f"k{i}", "no abstract") for i in range(1, 13)]
    text = str(IngestSummary(files=1, skipped=30, problems=problems, merged=["b.json #1 = a.json #1 (doi:10.1/x)"]))
    lines = text.split("\n")
    assert lines[1] == "30 records skipped, 0 repaired, 0 titles derived from the abstract"
    assert lines[2] == "  refs.bib, line 1 (k1): no abstract, skipped" and lines[11].startswith("  refs.bib, line 10 ")
    assert lines[12:] == ["  … and 20 more", "  merged: b.json #1 = a.json #1 (doi:10.1/x)"]


# ---- through the real Assistant ----------------------------------------------------------------


@pytest.mark.slow
def test_ingest__every_fixture_file_through_the_real_assistant_then_an_author_filter_finds_jorg(tmp_path, embedder):
    assistant = Assistant(index_dir=tmp_path / "idx", corpus=None, embedder=embedder)
    summary = assistant.ingest(sorted(FIXTURES.iterdir()))
    assert (summary.files, summary.entries, summary.papers, summary.skipped) == (14, 19, 18, 6)
    assert "csl.json #1 = crossref.json #1 (doi:10.5555/xr.2021.9)" in summary.merged
    hits = assistant.search("coherence of NV centres in diamond", k=5, filters={"author": "Jörg Wrachtrup"})
    assert hits and all("Jörg Wrachtrup" in " ".join(h.metadata["authors"]) for h in hits)
    assert "Spin Qubits in Diamond at Tübingen: A Study of ℱ-Coherence" in [h.title for h in hits]
    assert {"0704.0001", "0704.0002"} <= {p.arxiv_id for p in assistant.papers()}  # same abstract, both kept
    reopened = Assistant(index_dir=tmp_path / "idx", embedder=embedder)  # default corpus: no bundled papers added
    assert len(reopened.papers()) == 18


@pytest.mark.slow
def test_ingest__an_edited_record_replaces_the_old_version_and_remove_takes_the_file_out(tmp_path, embedder):
    assistant = Assistant(index_dir=tmp_path / "idx", corpus=None, embedder=embedder)
    bib = tmp_path / "refs.bib"
    bib.write_text((FIXTURES / "zotero.bib").read_text(encoding="utf-8"), encoding="utf-8")
    assistant.ingest([bib])
    (before,) = [p for p in assistant.papers() if p.key == "buch2020spin"]
    bib.write_text(bib.read_text(encoding="utf-8").replace("50\\% higher", "60\\% higher"), encoding="utf-8")
    summary = assistant.ingest([bib])
    (after,) = [p for p in assistant.papers() if p.key == "buch2020spin"]
    assert after.paper_id == before.paper_id and "60% higher" in after.abstract
    assert (summary.new_papers, summary.total_papers, summary.duplicates_merged) == (0, 2, 0)
    hits = assistant.search("coherence of NV centres higher fidelity", k=5)
    assert [h.paper_id for h in hits].count(before.paper_id) == 1
    assert assistant.remove(source=bib) == 2 and assistant.papers() == []
    with pytest.raises(AssistantError, match="is empty"):  # emptied by the user: no bundled corpus now
        Assistant(index_dir=tmp_path / "idx", embedder=embedder)


def test_assistant__a_failed_first_ingest_never_fills_the_folder_with_the_bundled_corpus(tmp_path):
    folder = tmp_path / "mine"
    with pytest.raises(CorpusError):
        Assistant(index_dir=folder, corpus=None).ingest([FIXTURES / "zotero.bib"], strict=True)
    with pytest.raises(
        AssistantError, match=r"the index in .*mine is empty; ingest files with `assistant ingest FILE`"
    ):
        Assistant(index_dir=folder)
    assert not (folder / "manifest.json").exists()


def test_read_file__an_api_response_saved_on_one_line_is_unwrapped(tmp_path):
    one_line = write(
        tmp_path / "works.json", json.dumps(json.loads((FIXTURES / "openalex.json").read_text(encoding="utf-8")))
    )
    assert [p.title for p in read_file(one_line).papers] == ["Diamond Magnetometers for Brain Imaging"]


def test_iter_papers__an_arxiv_snapshot_named_json_is_streamed_as_json_lines(tmp_path):
    snapshot = tmp_path / "arxiv-metadata-oai-snapshot.json"
    snapshot.write_bytes((FIXTURES / "arxiv-snapshot.jsonl").read_bytes())
    assert streams_as_jsonl(snapshot) and not streams_as_jsonl(FIXTURES / "openalex.json")
    assert [p.arxiv_id for p in read_file(snapshot).papers] == ["0704.0001", "0704.0002"]


def test_ui_ingest_summary__shows_skipped_records_as_a_list():
    from assistant.ui import ingest_summary_html

    summary = IngestSummary(
        files=1,
        entries=2,
        papers=2,
        skipped=1,
        problems=[RecordProblem("refs.bib", 20, "noAbstract2019", "no abstract")],
    )
    html = ingest_summary_html(summary)
    assert html.startswith('<div class="ingest-summary">Ingested: 1 files, 2 entries -&gt; 2 papers')
    assert "<li>refs.bib, line 20 (noAbstract2019): no abstract, skipped</li>" in html
