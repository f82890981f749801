"""Which questions are about the collection's metadata (answered from the catalogue) rather than about findings."""

from __future__ import annotations

import pytest

from assistant.catalogue import metadata_query
from assistant.records import Paper

PAPERS = [
    Paper(paper_id="p1", title="Polio vaccination coverage", abstract="A", year=2015, date="2015-03-01"),
    Paper(paper_id="p2", title="Boycotts and vaccines", abstract="B", year=2016, date="2016-05-01", authors_count=3),
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
        ("Which paper is the newest?", ["p2"]),
        ("What is the latest treatment for polio?", None),
        ("Which papers are listed with an organisation?", []),
        ("Can sub-Saharan Africa cope with the new policy of the World Health Organization?", None),
        ("What is the oldest work in the collection?", ["p1"]),
        ("Which documents are from 2016?", ["p2"]),
        ("Which ones have exactly 3 authors?", ["p2"]),
        ("Was a study in 2015 able to show lower mortality?", None),
        ("Do medical records from 2015 show the latest trend?", None),  # "records" here are the world's
    ],
    ids=[
        "dated",
        "papers-from",
        "published-in",
        "entries-dated",
        "event-in-a-year",
        "finding-in-a-year",
        "newest-paper",
        "latest-treatment",
        "organisation-papers",
        "an-organisation-in-the-world",
        "oldest-in-the-collection",
        "documents-from",
        "exactly-n-authors",
        "a-study-in-a-year",
        "medical-records",
    ],
)
def test_metadata_query__only_a_question_about_the_papers_is_answered_from_the_catalogue(question, selected):
    query = metadata_query(question, PAPERS)
    assert (None if query is None else [p.paper_id for p in query.papers]) == selected
