"""Whether the collection can answer a question: names it knows, names it lacks, and how close the papers are.

A question that names something an indexed paper names (a method, dataset, acronym, or a
distinctive phrase of a title) is answerable, however short it is ("What is DANCE?", "MedHallu?").
A question naming something no indexed paper mentions (GaLore, Sora) is not. Otherwise the best
hit's dense similarity decides, with lexical evidence (the hit's BM25 score) as a second chance.
Thresholds live in `RetrievalSettings` and were calibrated on the dev split of
`eval/short_questions.jsonl` and on `eval/questions.jsonl` (see `eval/short_eval.py`).
Out of scope: retrieval itself (see `retrieve`) and metadata questions (see `catalogue`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .citations import split_sentences
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


def decide(
    question: str,
    hits: list[Hit],
    collection: CollectionTerms,
    max_papers_per_name: int = 3,
    model=None,
) -> Decision:
    """Abstain or answer, by the answerability model over `answerability_features`; the named papers come along.

    Example: decide("What is GaLore?", hits, terms).abstain is True when no paper mentions GaLore
    """
    names = question_names(question)
    papers, distinctive = distinctive_papers(question, hits, collection, names, max_papers_per_name)
    features = answerability_features(question, hits, collection, papers)
    model = model or load_model()
    probability = answerable_probability(features, model)
    if probability >= model.threshold_:
        why = "the question names what indexed papers name" if papers else "the closest papers address the question"
        return Decision(False, f"{why} (answerable with probability {probability:.2f})", papers, distinctive)
    return Decision(True, abstention_reason(question, names, features, collection, probability), [], distinctive)


def abstention_reason(question: str, names: list[str], features: dict, collection: CollectionTerms, p: float) -> str:
    """A sentence saying why the collection does not answer, from what the features saw."""
    unknown = [n for n in names if not collection.knows(n)]
    if unknown:
        return f"no indexed paper mentions: {', '.join(unknown)}"
    missing = sorted((w for w in content_words(question) if not collection.document_frequency.get(w)), key=len)
    if missing:
        return f"no indexed paper mentions: {', '.join(missing[-3:])}"
    return (
        f"no indexed paper addresses the question closely enough (best similarity {features['similarity']:.2f}, "
        f"{features['coverage']:.0%} of its terms in the closest papers; answerable with probability {p:.2f})"
    )


# ---- answerability: features that mean the same in every collection, and the fitted model ------------------
FEATURES = [
    "similarity",
    "similarity_gap",
    "coverage",
    "coverage_first",
    "sentence_coverage",
    "missing_rare",
    "unknown_words",
    "unknown_coined",
    "unknown_word_name",
    "named",
]
MODEL_FILE = Path(__file__).resolve().parent / "data" / "answerability.npz"


def answerability_features(
    question: str, hits: list[Hit], collection: CollectionTerms, named: list[str] | None = None
) -> dict[str, float]:
    """What says whether the hits answer a question, on scales that do not depend on the field.

    similarity: best dense similarity; similarity_gap: best minus the mean of the next four; coverage: the
    IDF-weighted share of the question's content words found in the best-covering of the top three hits
    (coverage_first: in the first hit); sentence_coverage: the same share within the best single sentence
    (or title) of those hits, so words scattered over an abstract count less than one sentence saying them; missing_rare: the IDF of the rarest question word none of the top
    three holds; unknown_words: the IDF-weighted share no indexed paper holds; unknown_coined: the question
    uses a coined name or acronym no paper mentions (GaLore); unknown_word_name: a capitalised word no paper
    mentions (Nvidia, or a field's plain word such as Syncope); named: it names what a few papers name.
    """
    words = sorted(content_words(question) - QUESTION_WORDS)  # "tell", "explain", "give" say nothing of the topic
    weights = {w: collection.idf(w) for w in words}
    total = sum(weights.values()) or 1.0
    texts = [content_words(f"{h.title} {h.abstract}") for h in hits[:3]]
    covered = [sum(weights[w] for w in words if w in text) / total for text in texts]
    in_top = set().union(*texts) if texts else set()
    parts = [content_words(part) for h in hits[:3] for part in [h.title, *split_sentences(h.abstract)]]
    sentence = max((sum(weights[w] for w in words if w in part) / total for part in parts), default=0.0)
    dense = sorted(((h.dense_similarity or 0.0) for h in hits), reverse=True)
    rest = dense[1:5]
    names = question_names(question)
    unknown = [n for n in names if not collection.knows(n)]
    return {
        "similarity": dense[0] if dense else 0.0,
        "similarity_gap": (dense[0] - sum(rest) / len(rest)) if rest else 0.0,
        "coverage": max(covered, default=0.0),
        "coverage_first": covered[0] if covered else 0.0,
        "sentence_coverage": sentence,
        "missing_rare": max((weights[w] for w in words if w not in in_top), default=0.0),
        "unknown_words": sum(weights[w] for w in words if not collection.document_frequency.get(w)) / total,
        "unknown_coined": float(any(coined(n) for n in unknown)),
        "unknown_word_name": float(any(not coined(n) for n in unknown)),
        "named": float(
            not unknown
            and bool(named if named is not None else distinctive_papers(question, hits, collection, names)[0])
        ),
    }


# how each feature may move P(answerable): the trees are fitted under these signs
MONOTONE = {
    "similarity": 1,
    "similarity_gap": 1,
    "coverage": 1,
    "coverage_first": 1,
    "sentence_coverage": 1,
    "missing_rare": -1,
    "unknown_words": -1,
    "unknown_coined": -1,
    "unknown_word_name": -1,
    "named": 1,
}


@lru_cache(maxsize=1)
def load_model():
    """The shipped model: monotone gradient-boosted trees over FEATURES, with its threshold (`threshold_`).

    Fitted with scikit-learn by eval/fit_answerability.py and evaluated without it (see `trees`).
    """
    from .trees import BoostedTrees

    return BoostedTrees.load(MODEL_FILE)


def answerable_probability(features: dict[str, float], model=None) -> float:
    """P(the closest papers answer the question) under the fitted model."""
    import numpy as np

    model = model or load_model()
    row = np.array([[features[f] for f in FEATURES]])
    return float(model.predict_proba(row)[0, 1])
