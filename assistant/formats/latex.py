"""LaTeX in titles, abstracts and names (BibTeX, arXiv) turned into readable Unicode.

Accents become letters (B\\"{u}ch -> Büch), math stays readable text ($\\mathcal{F}$ -> ℱ),
\\url{x} becomes x, \\% becomes %. Out of scope: rendering math; anything but text fields.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from .fields import clean

LATEX_HINT = re.compile(r"[\\{}$~]|``|''|--")
HTML_TAG_RE = re.compile(r"</?(?:i|b|em|strong|sup|sub|span|p|br|scp|u)\b[^<>]*>", re.I)
_GROUP = r"\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}"  # a brace group, nested up to three deep
# The LaTeX pieces of a text: math, a command with its arguments, an escaped symbol or accent, a
# brace group, dashes, quotes, ties. Only these go through pylatexenc: plain words are left as
# they are, which keeps long abstracts fast and a bare % from being read as a comment.
SPAN_RE = re.compile(
    rf"\$[^$]+\$|\\[A-Za-z]+\*?(?:\s*{_GROUP})*|\\[^A-Za-z\s](?:{_GROUP}|[A-Za-z])?|{_GROUP}|---?|``|''|~"
)


@lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    logging.getLogger("pylatexenc").setLevel(logging.ERROR)
    db = get_default_latex_context_db().filter_context(keep_categories=None)
    db.add_context_category(
        "assistant",
        prepend=True,
        macros=[
            MacroTextSpec("url", simplify_repl="%s"),
            MacroTextSpec("textless", simplify_repl="<"),
            MacroTextSpec("textgreater", simplify_repl=">"),
            MacroTextSpec("textsuperscript", simplify_repl="^"),
            MacroTextSpec("textsubscript", simplify_repl="_"),
            MacroTextSpec("textbackslash", simplify_repl="\\"),
        ],
    )
    return LatexNodes2Text(latex_context=db, math_mode="text", strict_latex_spaces=False)


def latex_to_text(text: str | None) -> str:
    """Readable Unicode from a LaTeX-bearing field.

    Example: latex_to_text(r'J{\\"o}rg on $\\mathcal{F}$ at 50\\%') == "Jörg on ℱ at 50%"
    """
    text = clean(text)
    if not text or not LATEX_HINT.search(text):
        return text
    try:
        converted = _convert(text)
        # Zotero writes $\mathcal{F}$ as \${\textbackslash}mathcal\{F\}\$: the first pass gives the math back
        converted = re.sub(r"\$[^$]*\\[^$]*\$", lambda m: _convert(m.group(0)), converted)
    except Exception:  # pylatexenc is tolerant; this guards the rare hard failure
        return text
    return clean(HTML_TAG_RE.sub("", converted))  # Zotero writes <i>x</i> as {\textless}i{\textgreater}x…


def _convert(text: str) -> str:
    text = re.sub(r"\\href\s*\{[^{}]*\}", "", text)  # \href{url}{text}: keep the text
    return SPAN_RE.sub(lambda m: _convert_span(m.group(0)), text)


@lru_cache(maxsize=50_000)
def _convert_span(span: str) -> str:
    return _converter().latex_to_text(span)
