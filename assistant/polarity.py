"""Does a claim say the opposite of its aligned passage? Negation, direction and comparison order.

Three pure checks over words, each 1.0 (disagree) or 0.0: a negation only one side has ("does not
improve"), a direction or antonym only one side has (improves vs degrades, static vs dynamic), and a
comparison with its sides swapped ("A beats B" against "B beats A"). Only the words one side has and
the other lacks count, so a shared "not" or "reduction" cancels out.
Out of scope: finding the aligned passage and weighing these against other evidence (see `verify`).
"""

from __future__ import annotations

import re

from .text import content_words

NEGATORS = set(
    [
        "not",
        "no",
        "never",
        "cannot",
        "neither",
        "nor",
        "fail",
        "fails",
        "failed",
        "unable",
        "lack",
        "lacks",
        "lacking",
        "none",
        "nothing",
        "nobody",
    ]
)
# Contrast words answer a negation on the other side ("does not prune" ~ "instead of pruning") but are no
# negation on their own ("instead of only designing" ~ "distinct from ... merely designing").
CONTRASTS = set(
    ["without", "instead", "rather", "unlike", "distinct", "beyond", "free", "avoid", "avoids", "avoiding", "avoided"]
)
NOT_NEGATING = [r"\bnot only\b", r"\bnot just\b", r"\bnot merely\b", r"\bno more than\b", r"\bnot least\b"]
UP = set(
    [
        "increase",
        "increases",
        "increased",
        "increasing",
        "higher",
        "more",
        "better",
        "improve",
        "improves",
        "improved",
        "improving",
        "improvement",
        "improvements",
        "outperform",
        "outperforms",
        "outperformed",
        "outperforming",
        "exceed",
        "exceeds",
        "exceeded",
        "surpass",
        "surpasses",
        "surpassed",
        "above",
        "faster",
        "gain",
        "gains",
        "enhance",
        "enhances",
        "enhanced",
        "boost",
        "boosts",
        "boosted",
        "superior",
        "larger",
        "greater",
        "stronger",
        "best",
        "highest",
        "largest",
        "most",
        "raise",
        "raises",
        "raised",
        "accelerate",
        "accelerates",
        "accelerated",
        "promising",
        "match",
        "matches",
        "matching",
    ]
)
DOWN = set(
    [
        "decrease",
        "decreases",
        "decreased",
        "decreasing",
        "reduce",
        "reduces",
        "reduced",
        "reducing",
        "reduction",
        "lower",
        "less",
        "fewer",
        "worse",
        "underperform",
        "underperforms",
        "underperformed",
        "underperforming",
        "below",
        "slower",
        "degrade",
        "degrades",
        "degraded",
        "degrading",
        "degradation",
        "drop",
        "drops",
        "dropped",
        "hurt",
        "hurts",
        "inferior",
        "smaller",
        "weaker",
        "worst",
        "lowest",
        "smallest",
        "least",
        "harm",
        "harms",
        "harmed",
        "slow",
        "slows",
        "slowed",
        "little",
        "short",
        "fall",
        "falls",
    ]
)
# Each pair: a word and its opposite, as whole words (both directions are checked).
ANTONYMS = [
    ("static", "dynamic"),
    ("fixed", "adaptive"),
    ("supervised", "unsupervised"),
    ("simple", "complex"),
    ("efficient", "inefficient"),
    ("stable", "unstable"),
    ("robust", "fragile"),
    ("same", "different"),
    ("consistent", "inconsistent"),
    ("consistently", "rarely"),
    ("accurate", "inaccurate"),
    ("possible", "impossible"),
    ("linear", "nonlinear"),
    ("explicit", "implicit"),
    ("online", "offline"),
    ("sparse", "dense"),
    ("local", "global"),
    ("early", "late"),
    ("before", "after"),
    ("always", "never"),
    ("all", "none"),
    ("many", "few"),
    ("strong", "weak"),
    ("tight", "loose"),
    ("upper", "lower"),
    ("easy", "hard"),
    ("cheap", "expensive"),
    ("cheaper", "costlier"),
    ("success", "failure"),
    ("succeeds", "fails"),
    ("helps", "hurts"),
    ("benefit", "harm"),
    ("benefits", "harms"),
    ("positive", "negative"),
    ("positively", "negatively"),
    ("necessary", "unnecessary"),
    ("sufficient", "insufficient"),
    ("increase", "decrease"),
    ("training-free", "training-based"),
    ("independent", "dependent"),
    ("synchronous", "asynchronous"),
    ("centralized", "decentralized"),
    ("deterministic", "stochastic"),
    ("single", "multiple"),
    ("minimal", "maximal"),
    ("minimum", "maximum"),
    ("improves", "degrades"),
    ("improve", "degrade"),
    ("improved", "degraded"),
    ("improves", "worsens"),
    ("increases", "decreases"),
    ("increased", "decreased"),
    ("reduces", "increases"),
    ("reduced", "increased"),
    ("reduce", "increase"),
    ("higher", "lower"),
    ("more", "less"),
    ("more", "fewer"),
    ("better", "worse"),
    ("outperforms", "underperforms"),
    ("outperform", "underperform"),
    ("outperformed", "underperformed"),
    ("outperforming", "underperforming"),
    ("faster", "slower"),
    ("superior", "inferior"),
    ("larger", "smaller"),
    ("best", "worst"),
    ("gains", "losses"),
    ("above", "below"),
    ("exceeds", "trails"),
]
OPPOSITE: dict[str, set[str]] = {}
for _a, _b in ANTONYMS:
    OPPOSITE.setdefault(_a, set()).add(_b)
    OPPOSITE.setdefault(_b, set()).add(_a)
COMPARISON_CUES = re.compile(
    r"\b(?:than|outperforms?|outperformed|surpass(?:es|ed)?|beats?|exceeds?|exceeded|"
    r"underperforms?|underperformed|over|versus|vs\.?)\s"
)
CLAUSE_END = re.compile(r"[,;:.()]|\b(?:and|but|while|whereas|which)\b")


def words(text: str) -> set[str]:
    """Lower-cased word tokens, hyphens and apostrophes kept. Example: words("Isn't non-trivial") == {"isn't", "non-trivial"}"""
    return set(re.findall(r"[a-z][a-z'\-]*", text.lower()))


def negations(text: str) -> set[str]:
    """The negating words of a text, contrastive uses ("not only") left out.

    Example: negations("It does not help, not only here") == {"not"}
    """
    lowered = text.lower()
    for pattern in NOT_NEGATING:
        lowered = re.sub(pattern, " ", lowered)
    return {w for w in words(lowered) if w in NEGATORS or w.endswith("n't") or w.startswith("non-")}


def negation_mismatch(claim: str, passage: str) -> float:
    """1 when only one side negates, and the other has no contrast word either.

    Example: negation_mismatch("X helps", "X does not help") == 1.0; negation_mismatch("X does not prune",
    "Instead of pruning, X factorizes") == 0.0
    """
    claim_neg, passage_neg = negations(claim), negations(passage)
    claim_only, passage_only = bool(claim_neg - passage_neg), bool(passage_neg - claim_neg)
    if claim_only == passage_only:
        return 0.0
    other = words(passage) if claim_only else words(claim)
    return float(not other & CONTRASTS)


def direction_mismatch(claim: str, passage: str) -> float:
    """1 when only one side says up and the other says down, or one side has a word whose antonym only the other has.

    Example: direction_mismatch("X increases minima", "X reduces minima") == 1.0
    """
    claim_words, passage_words = words(claim), words(passage)
    only_claim, only_passage = claim_words - passage_words, passage_words - claim_words

    def direction(found: set[str]) -> int:
        up, down = bool(found & UP), bool(found & DOWN)
        return 0 if up == down else (1 if up else -1)

    if direction(only_claim) * direction(only_passage) < 0:
        return 1.0
    return float(any(OPPOSITE.get(w, set()) & only_passage for w in only_claim))


def has_direction(claim: str, passage: str) -> bool:
    """Whether a passage says which way something goes (a direction word), or has the opposite of a claim's word."""
    found = words(passage)
    return bool(found & (UP | DOWN)) or any(OPPOSITE.get(w, set()) & found for w in words(claim))


def has_comparison(claim: str, passage: str) -> bool:
    """Whether a passage compares ("than", "outperforms", "over", ...)."""
    return bool(COMPARISON_CUES.search(passage.lower()))


def comparison_sides(text: str) -> list[tuple[set[str], set[str]]]:
    """(winner, other) content words around each comparison cue: the clause before it, and what follows it.

    Example: comparison_sides("image-based selection beats region-based selection") ==
    [({"image-bas", "selection"}, {"region-bas", "selection"})]
    """
    sides = []
    for match in COMPARISON_CUES.finditer(text.lower()):
        before = CLAUSE_END.split(text.lower()[: match.start()])[-1]
        after = CLAUSE_END.split(text.lower()[match.end() :])[0]
        sides.append((content_words(before), content_words(after)))
    return sides


def order_mismatch(claim: str, passage: str) -> float:
    """1 when a comparison's sides are swapped: something wins in the claim and loses in the passage, and vice versa.

    Example: order_mismatch("A-net beats B-net", "B-net beats A-net") == 1.0
    """
    for claim_win, claim_lose in comparison_sides(claim):
        for passage_win, passage_lose in comparison_sides(passage):
            promoted = (claim_win & passage_lose) - passage_win
            demoted = (claim_lose & passage_win) - passage_lose
            if promoted and demoted:
                return 1.0
    return 0.0
