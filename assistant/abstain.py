"""What a collection knows of a question: the names it holds and lacks, the papers a question names, and its terms.

A question that names something an indexed paper names (a method, dataset, acronym, or a distinctive phrase of a
title) points at those papers, however short it is ("What is DANCE?", "MedHallu?"); a name no indexed paper
mentions (GaLore, Sora) is said to be unknown. Whether the collection answers is decided in `answerability`.
Out of scope: retrieval itself (see `retrieve`) and metadata questions (see `catalogue`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .records import Hit, Paper
from .text import STOPWORDS, content_words, terms

TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z0-9]")
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]")
# Words that start or shape a question; a capitalised one is not a name ("Tell me about X", "Compare X and Y").
QUESTION_WORDS = set(
    [
        "what",
        "whats",
        "how",
        "who",
        "whom",
        "whose",
        "which",
        "where",
        "when",
        "why",
        "tell",
        "explain",
        "describe",
        "compare",
        "contrast",
        "give",
        "list",
        "show",
        "summarise",
        "summarize",
        "please",
        "can",
        "could",
        "would",
        "should",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "define",
        "hi",
        "hello",
        "hey",
        "versus",
        "vs",
        "and",
        "or",
        "the",
        "a",
        "an",
        "about",
        "me",
        "in",
        "of",
        "on",
        "for",
        "is",
        "it",
        "any",
        "some",
        "best",
        "find",
        "name",
    ]
)


@dataclass
class Decision:
    """Abstain or not, why, and the papers the question names (best first)."""

    abstain: bool
    reason: str = ""
    named_papers: list[str] = field(default_factory=list)
    known_names: list[str] = field(default_factory=list)


class CollectionTerms:
    """Which papers mention each word and hyphen part of the collection's titles, abstracts and authors.

    Example: CollectionTerms(papers).papers_naming("dance") == {"p5ed78b1ca9"}
    """

    def __init__(self, papers: list[Paper]):
        self.by_token: dict[str, set[str]] = {}
        self.by_title_token: dict[str, set[str]] = {}
        self.titles: dict[str, str] = {}
        self.coined_in_titles: dict[str, set[str]] = {}  # "evopress" -> papers whose title coins EvoPress
        self.document_frequency: dict[str, int] = {}  # stemmed content word -> papers holding it
        written_plain: set[str] = (
            set()
        )  # words the collection writes in lower case ("localization", not only "LOcalization")
        for paper in papers:
            title = own_title(paper)
            self.titles[paper.paper_id] = title.lower()
            for name in NAME_RE.findall(title):
                if coined(name):
                    self.coined_in_titles.setdefault(name.lower(), set()).add(paper.paper_id)
            written_plain.update(w for w in NAME_RE.findall(f"{paper.title} {paper.abstract}") if w.islower())
            text = " ".join([paper.title, paper.abstract, *paper.authors, paper.organisation or ""]).lower()
            _add_tokens(self.by_token, text, paper.paper_id)
            _add_tokens(self.by_title_token, title.lower(), paper.paper_id)
            for word in content_words(f"{paper.title} {paper.abstract}"):
                self.document_frequency[word] = self.document_frequency.get(word, 0) + 1
        for word in written_plain & set(self.coined_in_titles):
            del self.coined_in_titles[word]

    def papers_naming(self, name: str, titles_only: bool = False) -> set[str]:
        """Papers whose text (or title) holds the name as a token, singular or plural."""
        index, name = (self.by_title_token if titles_only else self.by_token), name.lower()
        return index.get(name, set()) | index.get(name.removesuffix("s"), set()) | index.get(name + "s", set())

    def knows(self, name: str) -> bool:
        return bool(self.papers_naming(name))

    def idf(self, word: str) -> float:
        return scaled_idf(len(self.titles), self.document_frequency.get(word, 0))


def own_title(paper: Paper) -> str:
    """What of a paper's title names it: a real title whole; of a title made from the abstract's opening (the
    source gave none, or gave the opening as its title, as PubMedQA does) only a short name before a colon
    ("C2R" of "C2R: Mixture-of-Experts has …"), else nothing. An abstract's first words name no paper.

    Example: own_title(Paper("p", "Programmed cell death is the regulated…", "Programmed cell death is the regulated death.")) == ""
    """
    title, abstract = paper.title.strip(), paper.abstract.strip()
    opening = title.rstrip("…").rstrip(". ")
    cut = title.endswith(("…", "..."))  # the opening, cut short: a real title that opens its abstract stays
    if not paper.title_derived and not (cut and len(opening) >= 20 and abstract.startswith(opening)):
        return title
    head, _, rest = title.partition(":")
    head, rest = head.strip(), rest.rstrip("…").rstrip(". ").strip()
    # a name put before the opening ("C2R: Mixture-of-Experts …"), not the abstract's own heading ("BACKGROUND: …")
    own = not abstract.startswith(head) or (rest and abstract.startswith(rest))
    return head if rest and 0 < len(head) <= 40 and own else ""


def scaled_idf(papers: int, frequency: int) -> float:
    """Smoothed inverse document frequency, scaled to [0, 1] by the collection's size. Example: scaled_idf(9, 0) == 1.0"""
    return math.log((papers + 1) / (frequency + 0.5)) / math.log(2 * papers + 2)


def _add_tokens(index: dict[str, set[str]], text: str, paper_id: str) -> None:
    tokens = TOKEN_RE.findall(text)
    for token in set(tokens):
        for key in {token, *token.split("-")}:
            index.setdefault(key, set()).add(paper_id)
    # "large LLMs" also vouches for the compound "large-LLM" a question may write.
    for a, b in zip(tokens, tokens[1:]):
        index.setdefault(f"{a}-{b.removesuffix('s')}", set()).add(paper_id)


def question_names(question: str) -> list[str]:
    """The names a question uses, as written: coined terms (GaLore, C2R), acronyms, and capitalised words.

    Example: question_names("Tell me about Sora and DANCE") == ["DANCE", "Sora"]
    """
    found = set(NAME_RE.findall(question))
    named = {
        t
        for t in found
        if t.lower() in terms(t) or re.fullmatch(r"[A-Z][A-Z0-9\-]*[A-Z0-9]", t) or re.fullmatch(r"[A-Z][a-z]{3,}", t)
    }
    return sorted(n for n in named if n.lower() not in QUESTION_WORDS and n.lower() not in STOPWORDS)


def coined(name: str) -> bool:
    """A coined name rather than a word: inner capitals, an acronym or digits. Example: coined("MedHallu") is True"""
    return bool(re.search(r"[a-z][A-Z]|[A-Z]{2}|[0-9]", name))


def named_papers(name: str, collection: CollectionTerms, max_papers: int, opens_question: bool = False) -> set[str]:
    """Papers a name points at: few papers mention a coined name; a plain capitalised word must be in a few
    titles, or in one paper only when it does not open the question ("How much faster is Occult …")."""
    mentioned = collection.papers_naming(name)
    if not 0 < len(mentioned) <= max_papers:
        return set()
    if coined(name):
        return mentioned
    return collection.papers_naming(name, titles_only=True) or (
        mentioned if len(mentioned) == 1 and not opens_question else set()
    )


def unknown_names(question: str, collection: CollectionTerms) -> list[str]:
    """The names a question uses that no indexed paper mentions. Example: ["GaLore"] for "Compare GaLore and DANCE"."""
    return [n for n in question_names(question) if not collection.knows(n)]


def compared_papers(question: str, collection: CollectionTerms, max_titles: int = 3) -> list[str]:
    """The papers a comparison names by the coined names their titles introduce ("How do MedHallu and ToolBeHonest
    differ …"): two names or more, each coined in at most `max_titles` titles, and every name of the question known."""
    names = question_names(question)
    if any(not collection.knows(n) for n in names):
        return []
    titled = [
        ids
        for n in names
        if coined(n) and 0 < len(ids := collection.coined_in_titles.get(n.lower(), set())) <= max_titles
    ]
    papers = sorted(set().union(*titled)) if titled else []
    return papers if len(titled) >= 2 and len(papers) >= 2 else []


def title_phrases(question: str, collection: CollectionTerms, max_papers: int = 2) -> set[str]:
    """Papers whose title holds three or more consecutive content words of the question, when few titles do."""
    words = [w for w in TOKEN_RE.findall(question.lower())]
    found: set[str] = set()
    for n in (5, 4, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if (
                sum(w not in STOPWORDS and w not in QUESTION_WORDS for w in gram) < 3
            ):  # "training and inference" is no name
                continue
            phrase = " ".join(gram)
            matching = {pid for pid, title in collection.titles.items() if phrase in title}
            if 0 < len(matching) <= max_papers:
                found |= matching
        if found:
            return found
    return found


def distinctive_papers(
    question: str, hits: list[Hit], collection: CollectionTerms, names: list[str], max_papers_per_name: int = 3
) -> tuple[list[str], list[str]]:
    """(papers the question names, best-ranked first; the names that point at them)."""
    first = question.split()[0].strip("?,.!:;\"'") if question.split() else ""
    distinctive = {n: ids for n in names if (ids := named_papers(n, collection, max_papers_per_name, n == first))}
    written = {n.lower() for n in names}
    for token in TOKEN_RE.findall(question.lower()):  # a title's coined name typed in lower case: "evopress?"
        ids = collection.coined_in_titles.get(token, set())
        if token not in written and ids and len(collection.papers_naming(token)) <= max_papers_per_name:
            distinctive[token] = ids
    ranked = [h.paper_id for h in hits]
    papers = sorted(
        {pid for ids in distinctive.values() for pid in ids} | title_phrases(question, collection),
        key=lambda pid: ranked.index(pid) if pid in ranked else len(ranked),
    )
    return papers, sorted(distinctive)
