"""Follow-up questions: when a question leans on the conversation, and whether an LLM's rewrite may replace it.

An LLM rewrite is used for retrieval only when it is a question that keeps the user's key terms; a rewrite
that answers instead, drifts to the earlier topic ("What is the best recipe for sourdough bread?" rewritten as
"How can a 7B LLM be trained…") or drops the user's words is discarded in favour of the lexical rewrite.
The abstention check always sees the user's own words (with the previous question only for a real follow-up).
Out of scope: calling the LLM (see `answer`), retrieval (see `retrieve`).
"""

from __future__ import annotations

import re

from .text import content_words

FOLLOW_UP_WORDS = {"it", "its", "they", "their", "them", "this", "that", "these", "those", "he", "she", "his", "her"}
KEEP_SHARE = 0.5  # of the user's key terms that a rewrite must keep (models paraphrase some: "beat" -> "outperform")
CONTINUING_RE = re.compile(r"^\s*(and|also|what about|how about|same for|and what about)\b", re.I)
PREFIX_RE = re.compile(r"^\s*(?:standalone question|rewritten question|question)\s*:\s*", re.I)


def is_follow_up(question: str) -> bool:
    """A question that leans on the conversation: it has a pronoun, opens with "and" / "what about", or is
    six words or fewer without a name of its own. A new question naming its own subject ("What is EvoPress?",
    "What is the capital of France?") is answered on its own terms, never joined to an earlier topic.

    Example: is_follow_up("What speed-up does it report?") is True; is_follow_up("What is EvoPress?") is False
    """
    from .abstain import question_names

    words = {w.strip("?.,!").lower() for w in question.split()}
    if words & FOLLOW_UP_WORDS or CONTINUING_RE.match(question):
        return True
    return len(words) <= 6 and not question_names(question)


def lexical_rewrite(question: str, previous: list[str]) -> str:
    """The previous user question joined to a follow-up; a standalone question stays as it is."""
    return f"{previous[-1]} {question}" if previous and is_follow_up(question) else question


def clean_rewrite(text: str) -> str:
    """The first line of a model's rewrite without a "Standalone question:" label.

    Example: clean_rewrite("Standalone question: What is X?\\nIt is…") == "What is X?"
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return PREFIX_RE.sub("", lines[0]).strip() if lines else ""


def key_terms(question: str) -> set[str]:
    """The user's content words, pronouns aside. Example: key_terms("How fast is it?") == {"fast"}"""
    return content_words(question) - FOLLOW_UP_WORDS


def acceptable_rewrite(question: str, rewrite: str) -> bool:
    """A rewrite may replace the user's question only if it is a question keeping most of its key terms.

    Example: acceptable_rewrite("Best sourdough recipe?", "How is a 7B LLM trained?") is False
    """
    if not rewrite.endswith("?") or len(rewrite) > 400:
        return False
    terms = key_terms(question)
    if not terms:
        return True
    return len(terms & content_words(rewrite)) >= KEEP_SHARE * len(terms)
