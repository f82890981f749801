"""Comparison tables: papers a question names, side by side, a verbatim quote per column.

Columns: what the question asks beyond the papers' names (when it asks more), then problem, method,
data and result, each filled with the paper's sentences of that kind closest to the question (a
dependent sentence with the ones it leans on). Out of scope: choosing prose answer sentences (see
`extractive`), rendering (see `export`, `ui_render`).
"""

from __future__ import annotations

import re

from .abstain import distinctive_papers, question_names
from .citations import split_sentences
from .extractive import FINDING_RE, label_title, labelled, sentence_role, units
from .records import Comparison, ComparisonRow, Hit
from .text import content_words, render_math

COMPARE_RE = re.compile(
    r"^\s*compare\b|\b(vs\.?|versus)\s|\bdiffer(s|ent|ence|ences)?\b|\bcompared? (to|with)\b|\bcontrast\b"
    r"|\b(and|or)\b.*\b(each|both)\b",  # "How do EasyQuant and AdaDFQ each avoid …" (a table needs two named papers)
    re.IGNORECASE,
)
DATA_RE = re.compile(
    r"\b(datasets?|benchmarks?|corpus|corpora|samples|pairs|collected|curated|annotated|questions|images|videos|"
    r"tasks|languages|evaluat\w+ on|experiments? on)\b",
    re.IGNORECASE,
)
COLUMNS = ("problem", "method", "data", "result")
ASKED = "on the question"  # the column for what a comparison question asks beyond naming the papers
ASKED_SENTENCES = 3
METHOD_SENTENCES = 2
COMPARING_WORDS = content_words(
    "compare compared comparing comparison differ differs different difference differences versus contrast "
    "each both between two papers paper approach approaches method methods work how what which does do"
)


def asked_words(question: str, names: list[str] | tuple = ()) -> set[str]:
    """What a comparison question asks beyond the papers' names and the words of comparing (empty: nothing more).

    Example: asked_words("How do the update rules of Lion and AdaBelief differ?", ["Lion", "AdaBelief"]) == {"update", "rule"}
    """
    return content_words(question) - content_words(" ".join(names)) - COMPARING_WORDS


def column_of(sentence: str) -> str | None:
    """Which comparison column a sentence fills: problem, method, data or result (None: none of them).

    Example: column_of("We propose X, a sparse router.") == "method"; column_of("X beats Y by 3%.") == "result"
    """
    role = sentence_role(sentence)
    if role == "availability":
        return None
    if role == "method":
        return "method"
    reports = re.search(r"outperform|surpass|improv|achiev|reduc|faster|speed", sentence, re.IGNORECASE)
    if DATA_RE.search(sentence) and not reports:
        return "data"
    if FINDING_RE.search(sentence) and (reports or re.search(r"\d", sentence)):
        return "result"
    if role == "background":
        return "problem"
    return None


def table(
    extractor, question: str, hits: list[Hit], numbers: list[int], names: list[str] | tuple = ()
) -> list[tuple[int, dict[str, list[str]]]]:
    """For each paper (1-based source numbers), the quotable sentences of each column closest to the question.

    When the question asks something beyond naming the papers ("how do their update rules differ"), the
    first column, ASKED, holds each paper's sentences that answer it best; the others do not repeat them.
    """
    query = extractor.embedder.embed_query(question)
    asked = asked_words(question, names)
    rows = []
    for number in numbers:
        sentences, vectors = extractor.sentences(hits[number - 1])
        sims = vectors @ query
        # a unit is quoted whole (a dependent sentence with the one it leans on), placed by its last sentence
        quotable = {u[-1]: u for u in units(sentences) if len(sentences[u[-1]].split()) >= 5}
        cells: dict[str, list[str]] = {}
        taken: set[int] = set()
        if asked:
            closeness = {
                i: float(sims[i]) + 0.3 * len(asked & content_words(sentences[i])) / len(asked)
                for i in quotable
                if sentence_role(sentences[i]) != "availability"
            }
            if found := _pick(
                sorted(closeness, key=lambda i: -closeness[i]), ASKED_SENTENCES, quotable, sentences, taken
            ):
                cells[ASKED] = found
        for column in COLUMNS:  # the method, what a comparison is mostly about, gets two units
            fits = sorted((i for i in quotable if column_of(sentences[i]) == column), key=lambda i: -float(sims[i]))
            if found := _pick(fits, METHOD_SENTENCES if column == "method" else 1, quotable, sentences, taken):
                cells[column] = found
        rows.append((number, cells))
    return rows


def _pick(ranked: list[int], limit: int, quotable: dict, sentences: list[str], taken: set[int]) -> list[str]:
    """The best `limit` units that share no sentence with one already in the table (marked in `taken`), in
    abstract order, each as its sentences joined."""
    chosen: list[int] = []
    for i in ranked:
        if len(chosen) < limit and not taken & set(quotable[i]):
            chosen.append(i)
            taken.update(quotable[i])
    return [" ".join(sentences[j] for j in quotable[i]) for i in sorted(chosen)]


def comparison(
    extractor, terms, question: str, hits: list[Hit], named: list[str]
) -> tuple[Comparison | None, list[tuple[str, list[int]]]]:
    """The named papers side by side (up to 4): verbatim sentences per column, and the same sentences as the
    answer's quotes (row by row); no table when fewer than two papers fill it. `terms` is the collection's
    `abstain.CollectionTerms`."""
    numbers = [n for n, h in enumerate(hits, 1) if h.paper_id in named][:4]
    columns = [ASKED, *COLUMNS]
    rows, quotes = [], []
    names = distinctive_papers(question, hits, terms, question_names(question))[1]  # those naming papers
    for n, cells in table(extractor, question, hits, numbers, names):
        if not cells:
            continue
        hit = hits[n - 1]
        rendered = {column: [render_math(s) for s in sentences] for column, sentences in cells.items()}
        rows.append(ComparisonRow(hit.paper_id, hit.title, n, {c: " ".join(ss) for c, ss in rendered.items()}))
        quotes += [  # a cell may hold a sentence with the one it leans on: quoted as two sentences
            (labelled(label_title(hit), part), [n])
            for c in columns
            for s in rendered.get(c, [])
            for part in split_sentences(s)
        ]
    if len(rows) < 2:
        return None, []
    return Comparison([c for c in columns if any(c in row.cells for row in rows)], rows), quotes
