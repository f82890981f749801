"""The extractive backend: no LLM; quotes the abstract sentences that best answer the question, verbatim.

The answer is shaped by the question: "which papers / what work on …" lists the matching papers
(title and the sentence stating each one's contribution); "how" prefers sentences that state the
method; "what results / how much" prefers findings. Relevance is sentence-embedding similarity
plus query-word overlap, with maximal marginal relevance for diversity. A sentence that leans on
the one before ("It …", "This leads to …", "However, …") is taken with its predecessor or not at
all; background sentences never lead; sentences that address the reader are never quoted, and
sentences that only say where code or data are ("Code is available at …") only when the question asks.
Out of scope: support checking (a verbatim quote is its own evidence; see `answer`).
"""

from __future__ import annotations

import re

import numpy as np

from .citations import split_sentences
from .records import Hit
from .shapes import (  # noqa: F401  (re-exported: the answer shapes lived here)
    FIGURE_RE,
    MULTIPLIER_RE,
    Listing,
    attributed,
    has_figure,
    label_title,
    labelled,
    no_figure,
    paper_list,
    quoted_text,
)
from .text import content_words
from .untrusted import addresses_reader

NAME = "extractive"
MODEL = "shaped-mmr-sentences"

DEPENDENT_RE = re.compile(
    r"^(it|its|this|these|those|such|they|their|them|he|she|however|moreover|furthermore|"
    r"additionally|in addition|thus|therefore|hence|consequently|besides|also|then|nevertheless|"
    r"nonetheless|in contrast|instead|yet|accordingly|as a result|unfortunately|surprisingly)\b",
    re.IGNORECASE,
)
# Lead-ins that point back even in a contribution statement ("To this end, we propose DANCE …"): the sentence
# is quoted with the one before it, or not at all.
LEAD_IN_RE = re.compile(
    r"^(to (this|that) end|to do so|specifically|in particular|"
    r"for (this|that) (purpose|reason)|in (this|that) (way|case|setting|context)|as such|based on (this|these)|"
    r"building on (this|these)|motivated by (this|these)[^,]{0,40}|inspired by (this|these)[^,]{0,40}|"
    r"on the other hand|similarly|likewise|subsequently|finally|then|next|first|second|third|"
    r"in (both|either|these|those) \w+( \w+)?),",  # "In both folds, …": which two, the sentence before says
    re.IGNORECASE,
)
# Publisher and funding boilerplate: never quoted as a finding.
BOILERPLATE_RE = re.compile(
    r"©|\(c\) (19|20)\d\d|\bcopyright\b|\ball rights reserved\b|\bpublished by\b|"
    r"\b(exclusive )?licen[cs]e (to|agreement)\b|\bunder (a|the) (creative commons|cc[ -]by)\b|"
    r"\bcreative commons\b|^(this (work|research|study|project) (was|is|has been) )?(partially |partly )?"
    r"(supported|funded) by\b|\bgrant (no\.?|number)\b|\bthe authors declare\b|\bconflicts? of interest\b",
    re.IGNORECASE,
)
# "In the medical domain, this poses …": the pronoun subject comes after a short opening phrase.
LATE_PRONOUN_RE = re.compile(r"^[^,]{0,60},\s*(this|it|these|they|such)\b", re.IGNORECASE)
SELF_CONTAINED_RE = re.compile(
    r"^(this|these) (paper|work|study|article|survey|thesis|report|letter)s?\b", re.IGNORECASE
)
METHOD_RE = re.compile(
    r"\b(we (propose|introduce|present|develop|design|formulate|devise|build|construct|frame|cast|"
    r"leverage|employ|use|adopt|train|apply|first|then|also)|our (method|approach|framework|model|"
    r"algorithm|system)|(this|the) (paper|work) (proposes|introduces|presents)|consists of|"
    r"is (based on|built on|composed of)|by (using|leveraging|combining|introducing)|which (uses|combines))\b",
    re.IGNORECASE,
)
CONTRIBUTION_RE = re.compile(
    r"\b(we (propose|introduce|present|develop|design|release|construct|curate|build)|"
    r"(this|the) (paper|work|study) (proposes|introduces|presents|develops)|we call|named|dubbed|termed)\b",
    re.IGNORECASE,
)
FINDING_RE = re.compile(
    r"\d|\b(outperform\w*|achiev\w*|improv\w*|reduc\w*|surpass\w*|speed-?ups?|faster|accura\w*|"
    r"results? (show|demonstrate|indicate|reveal)|experiments? (show|demonstrate|indicate|reveal)|"
    r"we (find|found|show|observe|demonstrate|reveal)|state-of-the-art|significant\w*|gains?)\b",
    re.IGNORECASE,
)
BACKGROUND_RE = re.compile(
    r"\b(recent(ly)?|have (shown|achieved|gained|revolutioni[sz]ed|become|attracted|emerged)|"
    r"has (shown|achieved|gained|become|attracted|emerged)|remains? (a |an )?(challeng|open|difficult)|"
    r"suffer\w*|existing (methods|approaches|works?)|current (methods|approaches)|despite|"
    r"is (a|an) (crucial|fundamental|key|important|critical|essential|popular)|widely (used|adopted)|"
    r"growing (interest|demand)|limitations?|drawbacks?)\b",
    re.IGNORECASE,
)
PAPERS_RE = re.compile(
    r"^\s*(which|what|list|name|find|show)( \w+){0,2}? (papers?|works?|studies|articles|research|approaches|methods)\b"
    r"|\b(papers?|works?|studies) (on|about|that|which|address\w*|propos\w*|tackl\w*|dealing)\b",
    re.IGNORECASE,
)
RESULTS_RE = re.compile(
    r"^\s*(how (much|many|well|fast|accurate|large)|by how much)\b|\b(what|which) (results?|accuracy|"
    r"speed-?ups?|improvements?|gains?|performance|score|error|reduction|percentage)\b|\b(find|found|reveal|"
    r"show)\b\??$",
    re.IGNORECASE,
)
MAX_UNIT = 3  # sentences in one quoted unit: a dependent sentence, and what it leans on
URL_RE = re.compile(r"\$?\\?(href\{)?(https?://|www\.)\S+")
AVAILABILITY_RE = re.compile(
    r"^\W*(in addition, )?(the |our |all |both |more details and )?(source )?"
    r"(code|codes|implementation|models?|data(sets?)?|weights|checkpoints|resources|details)\b"
    r"[^.]{0,60}?\b(is|are|will be|be made|has been|have been)\s+(publicly |freely |openly |made )?"
    r"(available|avaliable|released|open-?sourced|accessible|coming soon)\b"
    r"|\b(is|are) coming soon\b|^(our )?(project )?(web)?(page|site|webpage|website)\s*:"
    r"|^\W*we (release|open-source|publish|make public) (our |the )?(source )?(code|codes|implementation)\b"
    r"[^.]{0,60}\b(at|on|via)\b",
    re.IGNORECASE,
)
ASKS_FOR_CODE_RE = re.compile(
    r"\b(code|github|available|availability|release[ds]?|open[- ]?source\w*|implementation|"
    r"repositor(y|ies)|download|link|url|website|project page)\b",
    re.IGNORECASE,
)
HOW_RE = re.compile(r"^\s*how (does|do|is|are|can|did|could|would)\b|\bhow .* works?\b", re.IGNORECASE)
ROLE_BONUS = {
    "how": {"method": 0.12, "finding": 0.0},
    "results": {"method": 0.0, "finding": 0.15},
    "what": {"method": 0.08, "finding": 0.04},
    "papers": {"method": 0.1, "finding": 0.0},
}


def question_kind(question: str) -> str:
    """'papers', 'results', 'how' or 'what': which shape of answer the question asks for.

    Example: question_kind("Which papers propose data-free quantization?") == "papers"
    """
    if PAPERS_RE.search(question):
        return "papers"
    if RESULTS_RE.search(question):
        return "results"
    if HOW_RE.search(question):
        return "how"
    return "what"


def depends_on_previous(sentence: str) -> bool:
    """A sentence that only makes sense after the one before: it opens with a pronoun or a linking word.

    A contribution statement reads on its own ("However, we propose X, …"), unless a lead-in points back
    ("To this end, we propose X"); so does "This paper …".
    Example: depends_on_previous("It also cuts memory.") is True; depends_on_previous("This paper studies X.") is False
    """
    if LEAD_IN_RE.match(sentence):
        return True
    if SELF_CONTAINED_RE.match(sentence) or CONTRIBUTION_RE.search(sentence):
        return False
    return bool(DEPENDENT_RE.match(sentence) or LATE_PRONOUN_RE.match(sentence))


def sentence_role(sentence: str) -> str:
    """'availability', 'method', 'finding', 'background' or 'other'.

    'availability': the sentence only says where code or data are (or is little more than a link).
    Example: sentence_role("We propose X, a net.") == "method"; sentence_role("Code is at https://github.com/a/b.") == "availability"
    """
    link_only = URL_RE.search(sentence) and len(URL_RE.sub("", sentence).split()) < 6
    if link_only or AVAILABILITY_RE.search(sentence):
        return "availability"
    if METHOD_RE.search(sentence):
        return "method"
    if BACKGROUND_RE.search(sentence) and not re.search(r"\bwe\b", sentence, re.IGNORECASE):
        return "background"
    if FINDING_RE.search(sentence):
        return "finding"
    return "other"


def units(sentences: list[str]) -> list[list[int]]:
    """Quotable units: one sentence, or a dependent sentence with the sentences before it back to one that stands
    on its own (at most MAX_UNIT in all); sentences that address the reader and publisher or funding boilerplate never.

    Example: units(["A holds.", "It is fast.", "B.", "© 2023 Springer."]) == [[0], [0, 1], [2]]
    """
    result = []
    for i, sentence in enumerate(sentences):
        if addresses_reader(sentence) or BOILERPLATE_RE.search(sentence):
            continue
        unit = [i]
        while depends_on_previous(sentences[unit[0]]) and len(unit) < MAX_UNIT:  # back to a sentence that stands
            before = unit[0] - 1
            if before < 0 or addresses_reader(sentences[before]) or BOILERPLATE_RE.search(sentences[before]):
                break
            unit.insert(0, before)
        if not depends_on_previous(sentences[unit[0]]):
            result.append(unit)
    return result


class Extractor:
    """Chooses answer sentences from retrieved abstracts; caches sentence embeddings per paper."""

    def __init__(
        self,
        embedder,
        max_sentences: int = 3,
        diversity: float = 0.35,
        per_paper: int = 2,
        focused_sentences: int = 4,
        list_min_match: float = 1.45,
    ):
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.diversity = diversity
        self.per_paper = per_paper
        self.focused_sentences = focused_sentences
        self.list_min_match = list_min_match
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}

    def sentences(self, hit: Hit) -> tuple[list[str], np.ndarray]:
        """The abstract's sentences (as split, short ones included) and their embeddings."""
        if hit.paper_id not in self._cache:
            sentences = split_sentences(hit.abstract) or [hit.abstract]
            self._cache[hit.paper_id] = (sentences, self.embedder.embed([f"{hit.title}: {s}" for s in sentences]))
        return self._cache[hit.paper_id]

    def choose(self, question: str, hits: list[Hit], focus: list[str] | None = None) -> list[tuple[str, int]]:
        """[(answer sentence, 1-based source number)] in answer order; `focus` are paper ids the question names."""
        kind = question_kind(question)
        query = self.embedder.embed_query(question)
        if kind == "papers":
            return self._paper_list(question, query, hits, set(focus or []))
        focused = [n for n, h in enumerate(hits, 1) if h.paper_id in (focus or [])]
        if len(focused) == 1 or (not focus and _dominant(hits)):
            number = focused[0] if focused else 1
            pool = self._pool(question, query, [hits[number - 1]], kind, offset=number - 1, total=len(hits))
            return self._mmr(pool, self.focused_sentences, self.focused_sentences)
        if len(focused) >= 2:  # "X vs Y": each named paper's contribution, then its most relevant other sentence
            chosen = []
            for number in focused[:4]:
                chosen += self._mmr(
                    self._pool(question, query, [hits[number - 1]], kind, number - 1, len(hits), lead=True),
                    self.per_paper,
                    self.per_paper,
                )
            return chosen
        pool = []
        for number, hit in enumerate(hits, 1):
            pool += self._pool(question, query, [hit], kind, offset=number - 1, total=len(hits))
        return self._mmr(pool, self.max_sentences, self.per_paper)

    def _pool(
        self, question: str, query, hits: list[Hit], kind: str, offset: int, total: int, lead: bool = False
    ) -> list:
        """Scored units: (score, [sentences], vector, number, role of the unit's last sentence)."""
        query_words = content_words(question)
        skip = set() if ASKS_FOR_CODE_RE.search(question) else {"availability"}
        pool = []
        for number, hit in enumerate(hits, offset + 1):
            sentences, vectors = self.sentences(hit)
            sims = vectors @ query
            for unit in units(sentences):
                last = unit[-1]
                if len(sentences[last].split()) < 5:
                    continue
                role = sentence_role(sentences[last])
                if role in skip:
                    continue
                if (not LEAD_IN_RE.match(sentences[last]) or len(unit) > 2) and any(
                    sentence_role(sentences[i]) == "background" for i in unit[:-1]
                ):  # a unit that opens with background would lead with it; a lead-in's one sentence of setting is
                    role = "background"  # what it needs, a longer run of background is not
                overlap = len(query_words & content_words(" ".join(sentences[i] for i in unit))) / max(
                    1, len(query_words)
                )
                score = float(sims[last]) + 0.3 * overlap + 0.05 * (total - number) / max(1, total)
                score += (
                    ROLE_BONUS[kind].get(role, 0.0) - (0.1 if role == "background" else 0.0) - 0.03 * (len(unit) - 1)
                )
                if (kind == "what" or lead) and CONTRIBUTION_RE.search(sentences[last]):
                    score += 0.1  # "What is X?" is answered first by the sentence that introduces X
                pool.append((score, [sentences[i] for i in unit], vectors[last], number, role, unit))
        return pool

    def _mmr(self, pool: list, limit: int, per_paper: int) -> list[tuple[str, int]]:
        chosen: list = []
        used: dict[int, set[int]] = {}  # sentence indices quoted, per paper
        places: dict[int, int] = {}  # answer places taken, per paper
        count = 0
        while pool and count < limit:

            def gain(item):
                redundancy = max((float(item[2] @ c[2]) for c in chosen), default=0.0)
                return item[0] - self.diversity * redundancy

            best = max(pool, key=gain)
            pool.remove(best)
            taken = used.setdefault(best[3], set())
            if places.get(best[3], 0) >= per_paper or taken & set(best[5]):
                continue
            if best[4] == "background" and any(item[4] != "background" for item in pool):
                continue  # background never leads, and is quoted only when nothing else is left
            if chosen and best[0] < 0.6 * chosen[0][0]:
                break
            chosen.append(best)
            taken.update(best[5])
            # a lead-in's antecedent is context the quote needs, not a finding of its own: it takes no place
            cost = 1 if LEAD_IN_RE.match(best[1][-1]) else len(best[1])
            places[best[3]] = places.get(best[3], 0) + cost
            count += cost
        return _in_reading_order(chosen)

    def _paper_list(self, question: str, query, hits: list[Hit], named: set[str]) -> list[tuple[str, int]]:
        """One line per matching paper (every paper the question names among them): title and contribution sentence."""
        lines: list[tuple[str, int]] = []
        for number, hit in enumerate(hits, 1):
            if lines and hit.paper_id not in named and not matches_topic(hit, hits, self.list_min_match):
                continue
            pool = self._pool(question, query, [hit], "papers", offset=number - 1, total=len(hits))
            single = [p for p in pool if len(p[1]) == 1] or pool
            if not single:
                continue
            contribution = [p for p in single if CONTRIBUTION_RE.search(p[1][0])]
            pick = max(contribution or single, key=lambda p: p[0])
            lines.append((labelled(label_title(hit), pick[1][0]), number))
        return lines


def matches_topic(hit: Hit, hits: list[Hit], threshold: float) -> bool:
    """Whether a hit belongs in a paper list: its dense similarity and BM25 score, each relative to the best hit's, add up.

    Example: a hit with 0.9 of the best similarity and 0.8 of the best BM25 score matches at threshold 1.45
    """
    best_dense = max((h.dense_similarity or 0.0) for h in hits) or 1.0
    best_bm25 = max((h.bm25_score or 0.0) for h in hits) or 1.0
    return (hit.dense_similarity or 0.0) / best_dense + (hit.bm25_score or 0.0) / best_bm25 >= threshold


def _dominant(hits: list[Hit], gap: float = 0.08, floor: float = 0.45) -> bool:
    """One paper clearly leads: it is close to the question and clearly closer than any other hit."""
    sims = sorted(((h.dense_similarity or 0.0) for h in hits), reverse=True)
    if not sims or (hits[0].dense_similarity or 0.0) < sims[0]:
        return False
    return sims[0] >= floor and (len(sims) < 2 or sims[0] - sims[1] >= gap)


def _in_reading_order(chosen: list) -> list[tuple[str, int]]:
    """Units as (sentence, number) pairs: the best unit first, each paper's units in abstract order."""
    by_paper: dict[int, list] = {}
    for item in chosen:
        by_paper.setdefault(item[3], []).append(item)
    result: list[tuple[str, int]] = []
    for number in dict.fromkeys(item[3] for item in chosen):
        for item in sorted(by_paper[number], key=lambda it: it[5][0]):
            result.extend((sentence, number) for sentence in item[1])
    return result
