"""Reading JSONL, CSV, BibTeX and arXiv-snapshot files, and refusing bad input with one clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.errors import CorpusError
from assistant.formats import MAX_LINE_BYTES, load_file

STABLE_SPAM_QUESTION = "How does Stable-SPAM stabilise 4-bit training?"
STABLE_SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"

ABSTRACT = ("We propose SparseWidget, a method that trains sparse networks of widgets with a new pruning rule. "
            "Experiments on three benchmarks show that SparseWidget matches dense accuracy at a tenth of the cost.")
ABSTRACT_2 = "This paper studies how tokenisers shape multilingual language models and proposes a fairer vocabulary."


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# ---- JSON Lines --------------------------------------------------------------------------------

def test_load_file__jsonl_reads_title_abstract_id_authors_date_url(tmp_path):
    path = write(tmp_path / "mine.jsonl", jsonl(
        {"id": "doi:10.1/xyz", "title": "SparseWidget:  Sparse\nWidgets", "abstract": ABSTRACT,
         "authors": ["Ann Lee", "Bo Li"], "date": "2024-03-05", "url": "https://example.org/sparsewidget"},
        {"title": "Fair Tokenisers", "abstract": ABSTRACT_2, "authors": "Cy Wu, Di Xu and Ed Yi", "year": 2021},
    ))
    first, second = load_file(path)
    assert (first.title, first.abstract, first.title_derived) == ("SparseWidget: Sparse Widgets", ABSTRACT, False)
    assert (first.external_id, first.url, first.date, first.year) == ("doi:10.1/xyz", "https://example.org/sparsewidget",
                                                                      "2024-03-05", 2024)
    assert (first.authors, first.authors_count) == (["Ann Lee", "Bo Li"], 2)
    assert [(s.listing, s.position, s.line) for s in first.sources] == [("mine.jsonl", 0, 1)]
    assert first.paper_id.startswith("p") and first.paper_id != first.external_id
    assert (second.authors, second.date, second.year) == (["Cy Wu", "Di Xu", "Ed Yi"], "2021", 2021)
    assert [(s.position, s.line) for s in second.sources] == [(1, 2)]


def test_load_file__jsonl_without_title_derives_one_and_skips_blank_lines(tmp_path):
    path = write(tmp_path / "untitled.ndjson", "\n" + jsonl({"abstract": ABSTRACT}) + "   \n")
    (paper,) = load_file(path)
    assert paper.title_derived and paper.title.startswith("SparseWidget: We propose SparseWidget")
    assert paper.sources[0].line == 2


def test_load_file__jsonl_string_holding_a_unicode_line_separator_stays_one_record(tmp_path):
    # JSON allows raw U+2028 / U+0085 inside strings; they must not split the line.
    path = write(tmp_path / "seps.jsonl", jsonl({"title": "A\u2028B", "abstract": ABSTRACT + "\u2028\x85 More."},
                                                {"abstract": ABSTRACT_2}))
    first, second = load_file(path)
    assert first.abstract.endswith("cost. More.") and first.title == "A B"
    assert second.sources[0].line == 2


ARXIV_RECORD = {
    "id": "0704.0001", "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
    "comments": "37 pages, 15 figures; published version", "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009", "categories": "hep-ph",
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented for the "
                "production of massive photon pairs at hadron colliders. All\nnext-to-leading order perturbative "
                "contributions are included.\n",
    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                 {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"}],
    "update_date": "2008-11-13",
    "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""], ["Nadolsky", "P. M.", ""], ["Yuan", "C. -P.", ""]],
}


def test_load_file__arxiv_snapshot_line_gives_abs_url_parsed_authors_and_first_version_date(tmp_path):
    (paper,) = load_file(write(tmp_path / "arxiv-metadata-oai-snapshot.json", jsonl(ARXIV_RECORD)))
    assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is presented")
    assert paper.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert (paper.url, paper.external_id) == ("https://arxiv.org/abs/0704.0001", "0704.0001")
    # the first submission dates the paper; update_date is the last metadata edit (2008)
    assert (paper.date, paper.year) == ("Mon, 2 Apr 2007 19:18:42 GMT", 2007)
    assert paper.venue == "Phys.Rev.D76:013009,2007"


def test_load_file__plain_jsonl_with_an_id_gets_no_arxiv_url(tmp_path):
    (paper,) = load_file(write(tmp_path / "plain.jsonl", jsonl({"id": "0704.0001", "abstract": ABSTRACT})))
    assert (paper.url, paper.external_id) == (None, "0704.0001")


# ---- CSV ---------------------------------------------------------------------------------------

def test_load_file__csv_with_a_case_insensitive_header(tmp_path):
    path = write(tmp_path / "papers.csv",
                 "Title, ABSTRACT ,Authors,Date,URL\n"
                 f'SparseWidget,"{ABSTRACT}","Ann Lee; Bo Li",2024-03-05,https://example.org/a\n'
                 f'"Fair, Tokenisers",{ABSTRACT_2},,,\n')
    first, second = load_file(path)
    assert (first.title, first.abstract, first.authors, first.date, first.year, first.url) == (
        "SparseWidget", ABSTRACT, ["Ann Lee", "Bo Li"], "2024-03-05", 2024, "https://example.org/a")
    assert (second.title, second.abstract, second.authors, second.date, second.url) == (
        "Fair, Tokenisers", ABSTRACT_2, [], None, None)
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
    assert bert.abstract == ("We introduce BERT, a language representation model. Unlike recent models, it is "
                             "pre-trained on unlabeled text by jointly conditioning on both left and right context in all layers.")
    assert bert.authors == ["Jacob Devlin", "Ming-Wei Chang", "Kristina Toutanova"]
    assert (bert.authors_count, bert.year, bert.venue, bert.external_id) == (3, 2019, "Proceedings of NAACL", "devlin2019")
    assert bert.sources[0].line == 5
    assert (quoted.title, quoted.abstract, quoted.authors, quoted.venue) == (
        "Quoted Title With, a Comma", ABSTRACT, ["Ann Lee"], "Workshop on Widgets")
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
    "binary.jsonl": (lambda p: p.write_bytes(b'{"abstract": "x"}\n\x00\x01\x02\xff'), 2, "binary"),
    "empty.jsonl": (lambda p: p.write_bytes(b""), None, "empty"),
    "blank.csv": (lambda p: p.write_bytes(b" \n\n\t  \r\n"), None, "empty"),
    "latin1.txt": (lambda p: p.write_bytes(("Title\n\n" + ABSTRACT + "\n\nCaf\xe9 results " + ABSTRACT).encode("latin-1")),
                   5, "UTF-8"),
    "no-abstract-column.csv": (lambda p: write(p, "title,summary\nA,B\n"), 1, "'abstract' column"),
    "empty-abstract.jsonl": (lambda p: write(p, jsonl({"abstract": ABSTRACT}, {"abstract": ABSTRACT_2},
                                                      {"title": "T", "abstract": "  "})), 3, "abstract"),
    "empty-abstract-row.csv": (lambda p: write(p, f'title,abstract\nA,"{ABSTRACT}"\nB,\n'), 3, "abstract"),
    "no-abstract.bib": (lambda p: write(p, f"@article{{a,\n title={{A}},\n abstract={{{ABSTRACT}}}\n}}\n\n"
                                           "@article{b,\n title={B}\n}\n"), 6, "abstract"),
    "invalid.jsonl": (lambda p: write(p, jsonl({"abstract": ABSTRACT}) + '{"abstract": "unterminated\n'), 2, "JSON"),
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
@pytest.mark.parametrize("name, content, expected", [
    ("bad.bin", b"\x00\x01binary\x00", "error: bad.bin: unsupported file type '.bin'"),
    ("bad.jsonl", b'{"abstract": "fine enough"}\n{"abstract": ""}\n', "error: bad.jsonl, line 2: "),
])
def test_cli_ingest__bad_file_exits_2_with_one_error_line(tmp_path, name, content, expected):
    bad = tmp_path / name
    bad.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "--index-dir", str(tmp_path / "idx"), "ingest", str(bad)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "idx" / "manifest.json").exists()
