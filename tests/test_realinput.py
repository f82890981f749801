"""Real bibliography exports nobody here wrote (../shared/datasets/realinput), plain and damaged.

Every file must ingest with its expected number of papers; every damaged copy (cut off, blocks
repeated, the file twice, flipped bytes, a NUL, CRLF, Windows-1252, blank lines, trailing garbage)
must either be read or refused with the project's own error, and a refusal leaves the index as it was.
The files are read where they are, never copied into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mutations import MUTATIONS

from assistant import Assistant
from assistant.errors import CorpusError
from assistant.formats import Problems, iter_papers

REALINPUT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "realinput"
needs_realinput = pytest.mark.skipif(
    not (REALINPUT / "expected.json").exists(),
    reason=f"the real exports are not here ({REALINPUT}); they live beside the repository",
)
EXPECTED = json.loads((REALINPUT / "expected.json").read_text()) if (REALINPUT / "expected.json").exists() else {}
# expected.json counts the records with an abstract; where some are one paper, the index holds fewer:
MERGED = {
    # two OpenAlex works (W3121618067, W2023702627; W4294057474, W4377151542) carry one DOI each: one paper each
    "openalex_works_FMuro.json": 43,
}
REFUSED = {"scopus_lpwan_noabstract.csv": "no 'abstract' column"}  # a Scopus export made without abstracts


def read(path: Path) -> tuple[int, Problems]:
    problems = Problems()
    return len(list(iter_papers(path, problems))), problems


@needs_realinput
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ingest__each_real_export_gives_its_expected_papers(tmp_path, embedder, name):
    assistant = Assistant(index_dir=tmp_path / "idx", corpus=None, embedder=embedder)
    if name in REFUSED:
        with pytest.raises(CorpusError, match=REFUSED[name]):
            assistant.ingest([REALINPUT / name])
        assert assistant.papers() == []
        return
    summary = assistant.ingest([REALINPUT / name])
    assert len(assistant.papers()) == MERGED.get(name, EXPECTED[name]) == summary.total_papers
    assert summary.duplicates_merged == summary.entries - summary.total_papers
    assert len(summary.merged) == summary.duplicates_merged


@needs_realinput
@pytest.mark.slow
def test_ingest__a_library_holding_papers_twice_merges_them_and_names_each_copy(tmp_path, embedder):
    assistant = Assistant(index_dir=tmp_path / "idx", corpus=None, embedder=embedder)
    summary = assistant.ingest([REALINPUT / "AdriaanRol_library.bib"])
    assert (summary.entries, summary.total_papers, summary.duplicates_merged) == (48, 43, 5)
    text = str(summary)
    # the same DOI on two entries, and two Mendeley entries with the same title, author, year and abstract
    assert "merged: AdriaanRol_library.bib line" in text and "(doi:10.1126/science.1220513)" in text
    maurer = [p for p in assistant.papers() if p.doi == "10.1126/science.1220513"]
    assert len(maurer) == 1 and len(maurer[0].sources) == 3
    again = assistant.ingest([REALINPUT / "AdriaanRol_library.bib"])  # a re-ingest changes nothing
    assert again.total_papers == 43 and again.chunks_embedded == 0


@needs_realinput
@pytest.mark.slow
def test_ingest__same_title_author_year_under_two_dois_is_kept_apart_and_reported(tmp_path, embedder):
    summary = Assistant(index_dir=tmp_path / "idx", corpus=None, embedder=embedder).ingest(
        [REALINPUT / "ieeexplore_lpwan.csv"]
    )
    assert summary.total_papers == 47
    assert len(summary.likely_duplicates) == 1
    assert "10.23919/icact.2018.8323907" in summary.likely_duplicates[0] and "kept as two papers" in str(summary)


CASES = [(name, mutation) for name in sorted(EXPECTED) for mutation in MUTATIONS]


@needs_realinput
@pytest.mark.parametrize("name, mutation", CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_read__a_damaged_real_export_is_read_or_refused_with_our_error(tmp_path, name, mutation):
    path = tmp_path / name
    path.write_bytes(MUTATIONS[mutation]((REALINPUT / name).read_bytes()))
    try:
        papers, problems = read(path)
    except CorpusError as err:
        message = str(err)
        assert message.startswith(name) and "\n" not in message and "Traceback" not in message
        # only a file without any paper left may be refused
        if name not in REFUSED:
            assert "every record was skipped" in message, message
        return
    assert papers > 0
    if mutation in ("crlf", "blank_lines", "nul", "latin1", "trailing_garbage"):  # nothing of the records is lost
        assert papers == read(REALINPUT / name)[0]
    if mutation == "latin1" and any(b > 127 for b in (REALINPUT / name).read_bytes()):
        assert any("read as" in n or "invalid byte" in n for n in problems.notes), problems.notes


@needs_realinput
def test_read__a_cut_off_export_keeps_its_whole_records_and_names_the_broken_one(tmp_path):
    path = tmp_path / "library.ris"
    data = (REALINPUT / "zotero_exported_items_first250.ris").read_bytes()
    path.write_bytes(data[: data.index(b"TY  - ", len(data) // 2) + 200])  # cut inside a record
    papers, problems = read(path)
    assert 100 < papers < 241
    assert any("cut off" in str(p) and p.line for p in problems.items)


@needs_realinput
@pytest.mark.slow
def test_ingest__refused_damaged_copies_leave_the_index_as_it_was(fresh_index_copy, embedder, tmp_path):
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    manifest = (fresh_index_copy / "manifest.json").read_bytes()
    refused = 0
    for name, mutation in CASES:
        path = tmp_path / mutation / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(MUTATIONS[mutation]((REALINPUT / name).read_bytes()))
        try:
            read(path)
            continue
        except CorpusError:
            refused += 1
        with pytest.raises(CorpusError):
            assistant.ingest([path])
        assert (fresh_index_copy / "manifest.json").read_bytes() == manifest and len(assistant.papers()) == 218
    assert refused >= len(MUTATIONS)  # at least the export without abstracts, in every form


# ---- property tests: any bytes, any damage ---------------------------------------------------------

SUFFIXES = [".bib", ".ris", ".nbib", ".csv", ".json", ".jsonl", ".xml", ".txt"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000), suffix=st.sampled_from(SUFFIXES))
@example(data=b"TY  - JOUR\n\nAB  - x\n", suffix=".ris")
@example(data=b'{"abstract": "x"}\n\n\n{"abstract"', suffix=".jsonl")
@example(data=b"\xff\xfe\x00", suffix=".csv")
@example(data=b"\x01\r\x01", suffix=".csv")  # a carriage return inside the header (csv.Error, found by Hypothesis)
def test_read__any_bytes_are_read_or_refused_with_our_error(tmp_path, data, suffix):
    path = tmp_path / f"any{suffix}"
    path.write_bytes(data)
    try:
        read(path)
    except CorpusError as err:
        assert str(err).startswith("any") and "\n" not in str(err)


def damage(data: bytes, draw) -> bytes:
    """One random damage of a file: cut, a block repeated, bytes replaced, a NUL or garbage inserted."""
    kind = draw(st.sampled_from(["cut", "repeat", "flip", "insert"]))
    at = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "cut":
        return data[:at]
    if kind == "repeat":
        end = draw(st.integers(at, len(data)))
        return data[:end] + data[at:end] + data[end:]
    if kind == "flip":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at + 8 :]
    return data[:at] + draw(st.sampled_from([b"\x00", b"\r\n\r\n", b"}", b"ER  - \n", b"\xe9", b"<"])) + data[at:]


@needs_realinput
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(EXPECTED)), draws=st.data())
def test_read__randomly_damaged_real_exports_are_read_or_refused_with_our_error(tmp_path, name, draws):
    path = tmp_path / name
    path.write_bytes(damage((REALINPUT / name).read_bytes(), draws.draw))
    try:
        read(path)
    except CorpusError as err:
        assert str(err).startswith(name) and "\n" not in str(err)


@needs_realinput
@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draws=st.data())
def test_ingest__a_damaged_export_is_ingested_whole_or_not_at_all(fresh_index_copy, embedder, tmp_path, draws):
    name = draws.draw(
        st.sampled_from(["medline_limo_citations.nbib", "crossref_works_FMuro.json", "AndersonLab_library.bib"])
    )
    path = tmp_path / name
    path.write_bytes(damage((REALINPUT / name).read_bytes(), draws.draw))
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    before = {p.paper_id for p in assistant.papers()}
    try:
        summary = assistant.ingest([path])
    except CorpusError:
        assert {p.paper_id for p in assistant.papers()} == before
        return
    after = {p.paper_id for p in Assistant(index_dir=fresh_index_copy, embedder=embedder).papers()}
    assert before <= after and len(after) == summary.total_papers
