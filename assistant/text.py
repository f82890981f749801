"""General text features shared by the verifier, the extractive backend, the catalogue and the judges.

Content words (crudely stemmed), numbers and what they count, named terms, and a simplified form
of text for matching key facts. Pure functions over strings, no models.
Out of scope: deciding support (see `verify`), sentence splitting and [n] markers (see `citations`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .citations import split_sentences

STOPWORDS = set(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "their",
        "they",
        "we",
        "our",
        "us",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "how",
        "than",
        "then",
        "so",
        "such",
        "can",
        "could",
        "may",
        "might",
        "will",
        "would",
        "also",
        "both",
        "each",
        "more",
        "most",
        "other",
        "some",
        "into",
        "over",
        "under",
        "via",
        "using",
        "use",
        "used",
        "based",
        "between",
        "while",
        "about",
        "per",
        "through",
        "only",
        "paper",
        "method",
        "approach",
        "propose",
        "proposes",
        "proposed",
        "show",
        "shows",
        "shown",
        "results",
    ]
)
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
    if i >= 2
}  # "one of", "zero-shot": rarely counts
NUMBER_WORDS.update(
    {
        "thirty": "30",
        "forty": "40",
        "fifty": "50",
        "hundred": "100",
        "dozen": "12",
        "twice": "2",
        "double": "2",
        "triple": "3",
    }
)


def content_words(text: str) -> set[str]:
    """Lower-cased content words, crudely stemmed. Example: content_words("Models are Training") == {"model", "train"}"""
    words = re.findall(r"[a-z][a-z0-9\-]+", text.lower())
    return {stem(w) for w in words if w not in STOPWORDS and len(w) > 2}


def stem(word: str) -> str:
    """Example: stem("embeddings") == "embedd"; short words stay whole."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def numbers(text: str) -> set[str]:
    """Numbers as written, normalised. Example: numbers("up to 2.5x and 1,000 steps") == {"2.5", "1000"}"""
    return {n.replace(",", "").rstrip(".") for n in re.findall(r"\d[\d,]*\.?\d*", text)}


def quantities(text: str) -> list[tuple[str, str]]:
    """(number, the word it counts) pairs, number words included.

    Example: quantities("five models on 3 datasets") == [("5", "model"), ("3", "dataset")]
    """
    tokens = re.findall(r"\d[\d,]*\.?\d*|[A-Za-z][A-Za-z\-]*", text)
    found = []
    for i, token in enumerate(tokens):
        value = NUMBER_WORDS.get(token.lower()) or (token.replace(",", "").rstrip(".%") if token[0].isdigit() else None)
        if value is None:
            continue
        following = next(
            (
                stem(t.lower())
                for t in tokens[i + 1 : i + 3]
                if t.lower() not in STOPWORDS and not t[0].isdigit() and t.lower() not in NUMBER_WORDS
            ),
            "",
        )
        found.append((value, following))
    return found


def terms(text: str) -> set[str]:
    """Named terms: tokens with a capital after the first letter or a digit (ImageNet-1K, LLaMA, GPT-4)."""
    tokens = re.findall(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", text)
    return {
        t.lower()
        for t in tokens
        if any(c.isupper() for c in t[1:]) or (any(c.isdigit() for c in t) and any(c.isalpha() for c in t))
    }


def names(text: str) -> set[str]:
    """Named terms plus capitalised words past a sentence's first word (Mistral, Alibaba), lower-cased."""
    found = set(terms(text))
    for sentence in split_sentences(text) or [text]:
        for word in re.findall(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", sentence)[1:]:
            if word[0].isupper() and word.lower() not in STOPWORDS:
                found.add(word.lower())
    return found


def simplify(text: str) -> str:
    """Lower case; dashes and hyphens become spaces; punctuation dropped, except inside numbers and %.

    Example: simplify("Llama‑2, (7.8%)!") == "llama 2 7.8%"
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\-\u2010-\u2015\u2212]", " ", text)
    text = re.sub(r"(?<!\d)[.,]|[.,](?!\d)", " ", text)
    text = re.sub(r"[^a-z0-9%., ]", " ", text)
    return " ".join(text.split())


MATH_RE = re.compile(r"\$(?=\S)([^$\n]{1,200}?)(?<=\S)\$")  # inline $…$; "costs $5 and $10" is not math
SUPERSCRIPTS = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
SUBSCRIPTS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
SCRIPT_RE = re.compile(r"([\^_])(\{[0-9+\-=()n]{1,4}\}|[0-9n])")


@lru_cache(maxsize=1)
def _latex():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text")


def render_math(text: str) -> str:
    """Inline LaTeX math ($…$) as Unicode text, the rest unchanged; simple super- and subscripts as Unicode digits.

    Example: render_math("the $l_2$-norm, $\\alpha$ and up to $2\\times$") == "the l₂-norm, α and up to 2×"
    """
    if "$" not in text:
        return text

    def one(match: re.Match) -> str:
        inner = SCRIPT_RE.sub(
            lambda m: m.group(2).strip("{}").translate(SUPERSCRIPTS if m.group(1) == "^" else SUBSCRIPTS),
            match.group(1),
        )
        try:
            return _latex().latex_to_text(inner).strip()
        except Exception:  # pylatexenc is lenient; anything it still refuses stays as written
            return match.group(0)

    return MATH_RE.sub(one, text)
