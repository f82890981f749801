"""Whether the collection answers a question: features that mean the same in every field, and the model over them.

The features measure how well the closest papers cover the question: similarity, the share of its words they hold,
names no paper mentions. Monotone gradient-boosted trees over them (fitted by eval/fit_answerability.py on the bundled short
questions, PubMedQA dev and SciFact train, each field weighted alike) give P(answerable); below the fitted threshold
the assistant abstains and says why.
Out of scope: the names and terms a collection holds (see `abstain`), retrieval (see `retrieve`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .abstain import (
    QUESTION_WORDS,
    CollectionTerms,
    Decision,
    coined,
    distinctive_papers,
    question_names,
)
from .citations import split_sentences
from .records import Hit
from .text import content_words

READ = 3  # the top hits the coverage features look at


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
    question: str,
    hits: list[Hit],
    collection: CollectionTerms,
    named: list[str] | None = None,
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
    texts = [content_words(f"{h.title} {h.abstract}") for h in hits[:READ]]
    covered = [sum(weights[w] for w in words if w in text) / total for text in texts]
    in_top = set().union(*texts) if texts else set()
    parts = [content_words(part) for h in hits[:READ] for part in [h.title, *split_sentences(h.abstract)]]
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
