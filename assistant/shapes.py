"""Answer shapes that are not a run of quotes: a list of papers with a count, and "no figure" for a question
that wants a number the closest abstract does not give.

Pure functions over the project's result types; the `Listing` sentences they make are metadata, not claims.
Out of scope: choosing the sentences (see `extractive`), comparison tables (see `tables`).
"""

from __future__ import annotations

import re

from .records import Hit
from .text import numbers, quantities

# Questions that want a figure ("How much faster is it?"): an answer without one says so instead of quoting on.
FIGURE_RE = re.compile(
    r"\b(how (much|many)|by how much)\b|\bhow (fast|large|small|big|accurate)\b|"
    r"\bwhat (percentage|speed-?ups?|accuracy|error rate|reduction|improvement)\b",
    re.IGNORECASE,
)
MULTIPLIER_RE = re.compile(r"\b(twice|half|halves|halved|doubles?|doubled|triples?|tripled|\w+-?fold)\b", re.IGNORECASE)


class Listing(str):
    """An answer sentence about the list itself (a count, the titles of further matches): metadata, not a claim
    to check against an abstract."""


def paper_list(lines: list[tuple[str, int]], hits: list[Hit], shown: int) -> list[tuple[str, list[int]]]:
    """A list answer: how many papers match, the closest `shown` with their sentence, the rest by title.

    `lines` are the matching papers' (labelled sentence, source number), best first; `hits` were retrieved
    with room to spare, so a full list (as many matches as hits) is reported as "at least".
    Example: 12 matches, shown 8 → "12 indexed papers match; the closest 8:", 8 lines, "Also matching: “T9”, …"
    """
    total = len(lines)
    if total < 2:
        return [(sentence, [number]) for sentence, number in lines]
    many = "At least " if total >= len(hits) else ""
    head = f"{many}{total} indexed papers match" + (f"; the closest {shown}:" if total > shown else ":")
    result: list[tuple[str, list[int]]] = [(Listing(head), [])]
    result += [(sentence, [number]) for sentence, number in lines[:shown]]
    rest = lines[shown:]
    if rest:
        titles = ", ".join(f"“{label_title(hits[number - 1])}”" for _, number in rest)
        result.append((Listing(f"Also matching: {titles}."), [number for _, number in rest]))
    return result


def has_figure(sentence: str) -> bool:
    """A written figure: digits, or a multiplier word. "four models" counts things; it is no figure of a result.

    Example: has_figure("up to 2 perplexity") is True; has_figure("on four SOTA models") is False
    """
    return bool(numbers(sentence) or MULTIPLIER_RE.search(sentence))


def no_figure(question: str, chosen: list[tuple[str, int]], hits: list[Hit]) -> list[tuple[str, list[int]]] | None:
    """For a question that wants a figure, when none of the chosen sentences holds a number: one sentence saying
    the closest abstract gives none, citing it (instead of repeating sentences that do not answer); else None.

    Example: ("How much faster is DANCE?", [("DANCE co-optimizes data and network.", 1)]) -> "The abstract of “DANCE” …"
    """
    counting = re.search(r"\bhow many\b", question, re.IGNORECASE)  # "four soft tokens" answers "how many"
    found = (lambda s: bool(quantities(s))) if counting else has_figure
    if not FIGURE_RE.search(question) or not chosen or any(found(sentence) for sentence, _ in chosen):
        return None
    number = chosen[0][1]
    title = hits[number - 1].title
    return [(Listing(f"The abstract of “{title}” gives no figure that answers this."), [number])]


def labelled(title: str, sentence: str) -> str:
    """A listed paper's line: its title, then its verbatim sentence. Example: labelled("T", "We do X.") == "“T”: We do X." """
    return f"“{title}”: {sentence}"


FIRST_PERSON_RE = re.compile(r"\b([Ww]e|[Oo]urs?|us)\b")


def short_title(title: str) -> str:
    """How an answer names a paper in a label: the name before the title's colon when there is a short one.

    Example: short_title("DANCE: Data-Network Co-optimization") == "DANCE"; a title without a colon stays whole.
    """
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head) <= 40 else title


def label_title(hit: Hit) -> str:
    """The name a label gives a paper: its title, or for a title made from the abstract (the source had none) the
    method name that title starts with, so an abstract's opening is never presented as a title."""
    return short_title(hit.title) if hit.metadata.get("title_derived") else hit.title


def attributed(sentence: str, title: str) -> str:
    """A quote in the authors' own voice ("we propose", "our attack") labelled with its paper, so the answer does not
    seem to claim it; other quotes stay as they are.

    Example: attributed("We propose X.", "X: Fast Y") == "“X”: We propose X."; attributed("X is fast.", "T") == "X is fast."
    """
    already = sentence.startswith("“") and "”: " in sentence  # a listed paper's line names its paper already
    return labelled(short_title(title), sentence) if FIRST_PERSON_RE.search(sentence) and not already else sentence


def quoted_text(text: str, title: str) -> str:
    """The verbatim part of an answer sentence: without the “title”: label a paper list or a first-person quote
    puts in front (the whole title, or its short name)."""
    for name in dict.fromkeys((title, short_title(title))):
        prefix = f"“{name}”: "
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
