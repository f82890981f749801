"""XML exports: PubMed XML (efetch, "Save as XML") and Atom feeds (the arXiv API).

PubMed XML is read with lxml (no network, no entity expansion); Atom with `feedparser`, which
also reads arXiv's own `arxiv:doi` and `arxiv:journal_ref` elements. Out of scope: JATS full
texts, EndNote XML, RSS without abstracts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import CorpusError
from ..records import RecordProblem
from .fields import clean
from .latex import latex_to_text
from .record import Problems, Record


def read_xml(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a PubMed XML file or an Atom feed, told apart by the root element."""
    head = text[:5000]
    if "<feed" in head and "http://www.w3.org/2005/Atom" in head:
        return read_atom(path, text)
    if "<PubmedArticleSet" in head or "<PubmedArticle" in head or "<MedlineCitation" in head:
        return read_pubmed(path, text, problems if problems is not None else Problems())
    raise CorpusError(path, "XML that is neither PubMed XML nor an Atom feed (e.g. the arXiv API)", 1)


ARTICLE_RE = re.compile(
    r"<(PubmedArticle|PubmedBookArticle)>.*?(</\1>|(?=<PubmedArticle>|<PubmedBookArticle>)|\Z)", re.S
)


def read_pubmed(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """PubMed XML: PMID, ArticleTitle, AbstractText (labelled parts joined), authors, journal, PubDate, DOI.

    A damaged file (cut off, a broken tag, two files in one) is read article by article: each whole
    article is kept, each broken one reported and skipped.
    """
    from lxml import etree

    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as err:
        problems = problems if problems is not None else Problems()
        problems.notes.append(f"{path.name}: the XML breaks on line {err.lineno}; read article by article")
        yield from _articles_one_by_one(path, text, problems)
        return
    for citation in root.iter("MedlineCitation"):
        yield _pubmed_record(citation)


def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


def _articles_one_by_one(path: Path, text: str, problems: Problems) -> Iterator[Record]:
    from lxml import etree

    for match in ARTICLE_RE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        try:
            article = etree.fromstring(match.group(0).encode("utf-8"), _parser())
        except etree.XMLSyntaxError as err:
            problems.add(
                RecordProblem(
                    path.name, line, None, f"broken article (the XML breaks on line {line + err.lineno - 1})", "skipped"
                )
            )
            continue
        for citation in article.iter("MedlineCitation"):
            record = _pubmed_record(citation)
            record.line = line + (citation.sourceline or 1) - 1
            yield record


def _text(element) -> str:
    return clean("".join(element.itertext())) if element is not None else ""


def _pubmed_record(citation) -> Record:
    article = citation.find("Article")
    article = article if article is not None else citation
    parts = [(_part.get("Label"), _text(_part)) for _part in article.findall("Abstract/AbstractText")]
    abstract = " ".join(f"{label.capitalize()}: {body}" if label else body for label, body in parts if body)
    authors = []
    for author in article.findall("AuthorList/Author"):
        name = " ".join(
            filter(
                None, (_text(author.find("ForeName")) or _text(author.find("Initials")), _text(author.find("LastName")))
            )
        )
        authors.append(name or _text(author.find("CollectiveName")))
    pub_date = article.find("Journal/JournalIssue/PubDate")
    year, month, day, medline = (
        _text(pub_date.find(n)) if pub_date is not None else "" for n in ("Year", "Month", "Day", "MedlineDate")
    )
    pmid = _text(citation.find("PMID"))
    doi = next((_text(e) for e in article.findall("ELocationID") if e.get("EIdType") == "doi"), None)
    parent = citation.getparent()
    if doi is None and parent is not None:
        doi = next(
            (_text(e) for e in parent.findall("PubmedData/ArticleIdList/ArticleId") if e.get("IdType") == "doi"), None
        )
    return Record(
        line=citation.sourceline or 0,
        key=pmid or None,
        title=_text(article.find("ArticleTitle")),
        abstract=abstract,
        authors=[a for a in authors if a],
        date=medline or None,
        year=year or None,
        month=month or None,
        day=day or None,
        venue=_text(article.find("Journal/Title")) or None,
        doi=doi,
        pmid=pmid or None,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
    )


def read_atom(path: Path, text: str) -> Iterator[Record]:
    """Atom entries: title, summary, authors, published, links; arXiv ids from the entry id."""
    import feedparser

    feed = feedparser.parse(text)
    if feed.bozo and not feed.entries:
        raise CorpusError(path, "not a valid Atom feed and no entry could be read from it; download it again", 1)
    for entry in feed.entries:
        entry_id = entry.get("id", "")
        arxiv = entry_id if "arxiv.org/abs/" in entry_id else None
        link = next(
            (line.get("href") for line in entry.get("links", []) if line.get("rel") == "alternate"), entry.get("link")
        )
        yield Record(
            key=entry_id or None,
            title=latex_to_text(entry.get("title")),
            abstract=latex_to_text(entry.get("summary")) if arxiv else entry.get("summary"),
            authors=[clean(a.get("name")) for a in entry.get("authors", []) if a.get("name")],
            date=entry.get("published") or entry.get("updated"),
            venue=entry.get("arxiv_journal_ref"),
            doi=entry.get("arxiv_doi"),
            arxiv_id=arxiv,
            url=link,
        )
