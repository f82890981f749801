"""Yes/no questions: recognising them, and the papers' finding (yes / no / mixed / unclear).

The finding comes from the three-way claim check (see `entailment`): the question is read as the claim
it asks about, against each paper that may answer it; papers that support it say yes, papers that
contradict it say no, and papers that do not speak to it do not count.
Out of scope: the claim check itself (see `verify.Verifier.entail`), the rest of the answer (see `answer`).
"""

from __future__ import annotations

import re

from .citations import split_sentences
from .entailment import Entailment
from .records import Answer, Hit
from .text import content_words, render_math

FINDINGS = ("yes", "no", "mixed", "unclear")
AUXILIARY_RE = re.compile(
    r"^(?:(?:and|so|but|then)\s+)?(?:is|are|was|were|does|do|did|can|could|should|has|have|had|will|would|may|might"
    r"|must|it's)\b",
    re.IGNORECASE,
)
WH_RE = re.compile(r"^(?:what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
REQUEST_RE = re.compile(
    r"^(?:can|could|would|will) you\s+(?:please\s+)?(?:list|show|give|tell|summari[sz]e|find|explain|compare|describe"
    r"|name)\b",
    re.IGNORECASE,
)
EXISTS_RE = re.compile(
    r"^(?:are|is) there (?:any |some )?(?:papers?|works?|studies|articles|abstracts)\b", re.IGNORECASE
)
CHOICE_RE = re.compile(r"\bor\s+(?!not\b)\S+(?:\s+\S+){0,2}\s*\?\s*$", re.IGNORECASE)  # "Is A or B faster?"
CLAUSE_RE = re.compile(r"[:;]\s+|\.\s+|\s*--\s*|\s+[—–]\s+|,\s+(?=(?:a|an|the|is|are|does|do|can|should)\s)")
SENTENCES = {
    "yes": "Yes: the findings quoted here support it.",
    "no": "No: the findings quoted here say otherwise.",
    "mixed": "The papers disagree: some findings quoted here support it, others say otherwise.",
    "unclear": "The indexed papers do not settle it; the closest findings are quoted here.",
}
FILLERS = {"is", "are", "was", "were", "does", "do", "did", "can", "could", "should", "has", "have", "had", "during"}
PUBMEDQA = {"yes": "yes", "no": "no", "mixed": "maybe", "unclear": "maybe"}


class Finding(str):
    """The answer's finding sentence: stated from the claim check of the sentences that follow, not judged itself."""


def is_yes_no(question: str) -> bool:
    """Whether a question asks yes or no: a clause opening with an auxiliary ("Does X reduce Y?", "Treatment X:
    is it safe?"), or a title-like question with no question word ("Aripiprazole: a new risk factor for Y?");
    not a choice ("Is A or B faster?"), a wh-question, a request ("Can you list ...") or "are there papers on ...".

    Example: is_yes_no("Does aspirin reduce pain?") is True; is_yes_no("Is A or B faster?") is False
    """
    text = question.strip().strip("\"“”'").strip()
    clauses = [c.strip() for c in CLAUSE_RE.split(text) if c and c.strip()]
    if not clauses or any(WH_RE.match(c) or REQUEST_RE.match(c) or EXISTS_RE.match(c) for c in clauses):
        return False
    if any(AUXILIARY_RE.match(c) for c in clauses):
        return not (AUXILIARY_RE.match(clauses[0]) and CHOICE_RE.search(text))
    return text.endswith("?") and len(clauses) > 1 and len(text.split()) >= 4


def combine(verdicts: list[Entailment]) -> str:
    """The finding of several papers' verdicts: all supporting yes, all contradicting no, both mixed, none unclear.

    Example: combine([Entailment("supports", 0.9), Entailment("not_enough_info", 0.8)]) == "yes"
    """
    labels = {v.label for v in verdicts}
    if "supports" in labels and "contradicts" in labels:
        return "mixed"
    if "supports" in labels:
        return "yes"
    if "contradicts" in labels:
        return "no"
    return "unclear"


def echoes(sentence: str, question: str) -> bool:
    """Whether a sentence restates the question (or its premise) and adds almost nothing of its own: most of the
    question's content words, at most six others.

    Example: echoes("Vancomycin MIC creep is a worldwide phenomenon [1].", "Is vancomycin MIC creep a worldwide
    phenomenon?") is True
    """
    asked, said = stems(question), stems(sentence)
    return bool(asked) and len(asked & said) >= 0.6 * len(asked) and len(said - asked) <= 6


def stems(text: str) -> set[str]:
    """Content words cut to six letters (influence ~ influences), auxiliaries and fillers left out."""
    return {w[:6] for w in content_words(text)} - FILLERS


def stated(text: str) -> str | None:
    """The finding an answer's text opens with, if it opens with one (an LLM's own yes or no).

    Example: stated("No, it does not [1].") == "no"
    """
    head = text.strip().lower()
    if re.match(r"^yes\b", head):
        return "yes"
    if re.match(r"^no\b(?!\s+(?:\w+\s+)?(?:paper|source|abstract|study|studies)s?\b)", head):
        return "no"
    if re.match(r"^(the (indexed )?papers (do not|don't) settle|it is unclear|unclear)", head):
        return "unclear"
    return None


def decide(verifier, question: str, hits: list[Hit], papers: int) -> tuple[str, list[tuple[str, list[int]]]]:
    """The finding of the first `papers` hits on a yes/no question (`verifier.entail` of each), and the sentences
    that decide it as (sentence, [source number])."""
    vector = verifier.embedder.embed_query(question)
    closest = hits[:papers]
    verdicts = [verifier.entail(question, h.abstract, vector, h.title) for h in closest]
    deciding = []
    for number, (hit, verdict) in enumerate(zip(closest, verdicts), 1):
        if verdict.label == "not_enough_info":
            continue
        flat = " ".join(hit.abstract.split())
        for text in verdict.evidence[:1]:
            deciding += [(render_math(s), [number]) for s in split_sentences(text) if s in flat]
    return combine(verdicts), deciding


def quoted_answer(
    verifier, question: str, hits: list[Hit], quotes: list[tuple[str, list[int]]], answer: Answer, papers: int
) -> list[tuple[str, list[int]]]:
    """A yes/no question's extractive answer: the finding sentence, then the sentences that decide it, then the
    best other quotes (four quoted sentences in all); sets `answer.finding`."""
    answer.finding, deciding = decide(verifier, question, hits, papers)
    seen = {s for s, _ in deciding}
    rest = [(s, n) for s, n in quotes if s not in seen]
    return [(Finding(SENTENCES[answer.finding]), []), *(deciding + rest)[:4]]


def of_generated(verifier, question: str, answer: Answer, papers: int) -> None:
    """A generated answer's finding, from the same claim check over the papers it cites (else its sources), with
    a note when the model's own opening yes or no disagrees. Nothing without a claim model."""
    if verifier.claim_model is None:
        return
    cited = {c.paper_id for c in answer.citations}
    sources = [h for h in answer.sources if h.paper_id in cited] or answer.sources
    answer.finding, _ = decide(verifier, question, sources, papers)
    said = stated(answer.text)
    if said and said != answer.finding:
        answer.notes.append(f"the model answered {said!r}, but the claim check of its sources finds {answer.finding!r}")
