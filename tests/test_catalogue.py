"""Which questions are about the collection's metadata (answered from the catalogue) rather than about findings."""

from __future__ import annotations

import pytest

from assistant.catalogue import metadata_query
from assistant.records import Paper

PAPERS = [
    Paper(paper_id="p1", title="Polio vaccination coverage", abstract="A", year=2015),
    Paper(paper_id="p2", title="Boycotts and vaccines", abstract="B", year=2016),
]


@pytest.mark.parametrize(
    "question, selected",
    [
        ("Which papers are dated 2015?", ["p1"]),
        ("Which papers from 2015 study vaccination?", ["p1"]),
        ("What was published in 2016?", ["p2"]),
        ("Which entries are dated 2016?", ["p2"]),
        # a question about the world in a year is not a question about the papers of that year
        ("Did the call for boycott by the bishops affect the polio vaccination coverage in Kenya in 2015?", None),
        ("Was mortality lower in 2015 than before the programme?", None),
    ],
    ids=["dated", "papers-from", "published-in", "entries-dated", "event-in-a-year", "finding-in-a-year"],
)
def test_metadata_query__a_year_selects_papers_only_in_a_question_about_papers(question, selected):
    query = metadata_query(question, PAPERS)
    assert (None if query is None else [p.paper_id for p in query.papers]) == selected
