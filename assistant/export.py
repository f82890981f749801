"""Taking an answer away: Markdown with numbered references, and the cited papers as BibTeX.

Both read only the `Answer` (its citations and the metadata of its sources), so the CLI, the UI
and Python users export the same text. BibTeX is written by `bibtexparser` 2.x, with its LaTeX
encoding middleware escaping special characters (&, %, #, _, braces) and accents.
Out of scope: reading BibTeX (see `formats`), rendering HTML (see `ui`).
"""

from __future__ import annotations

import re
import unicodedata

from .citations import with_markers
from .records import Answer, Comparison, Hit
from .text import render_math
from .untrusted import safe_url

FORMATS = ("text", "markdown", "bibtex", "json", "csv")
DERIVED_MARK = "(no title in the source; shown: the abstract's opening)"


def reference(number: int, title: str, paper_id: str, meta: dict) -> str:
    """One numbered reference line: authors, year, title, venue, id and URL.

    Example: reference(1, "DANCE", "p5e", {"authors": ["A B"], "year": 2024}) == "[1] A B (2024). *DANCE*. id: p5e."
    """
    authors = meta.get("authors") or []
    people = ", ".join(authors[:6]) + (" et al." if len(authors) > 6 or meta.get("authors_partial") else "")
    if not people and meta.get("organisation"):
        people = meta["organisation"]
    year = meta.get("year") or meta.get("date")
    head = " ".join(p for p in (people, f"({year})." if year else "") if p)
    parts = [
        f"[{number}]",
        head,
        f"*{_md(title)}*" + (f" {DERIVED_MARK}." if meta.get("title_derived") else "."),
        f"{_md(meta['venue'])}." if meta.get("venue") else "",
        f"id: {paper_id}.",
    ]
    url = safe_url(meta.get("url"))
    if url:
        parts.append(f"<{url}>")
    return " ".join(p for p in parts if p)


def to_markdown(answer: Answer) -> str:
    """The answer as Markdown: the question, the cited text, then the numbered references with their evidence."""
    return f"**Q:** {_md(answer.question)}\n\n" + to_reply(answer)


def to_reply(answer: Answer) -> str:
    """The cited text and its numbered references, as a chat reply (Markdown without the question): what
    `assistant serve`'s OpenAI-compatible API and the MCP ask tool send back."""
    lines: list[str] = []
    if answer.abstained:
        return _md(answer.text) + "\n"
    flags = {
        "unsupported": " *(unsupported?)*",
        "contradicted": " *(contradicted by a cited paper)*",
        "uncited": " *(uncited: no source supports it)*",
    }
    prose = " ".join(
        _md(with_markers(s.text, s.citations))
        + flags.get(s.verdict, "")
        + (" *(cited post hoc)*" if s.attributed else "")
        for s in answer.sentences
    )
    if answer.table and answer.backend != "extractive" and prose:  # a generated comparison, then the table
        lines += [prose, ""]
    lines.append(
        table_markdown(answer.table)  # a comparison: the papers side by side
        if answer.table
        else prose or _md(answer.text)
    )
    lines += references(answer)
    lines.append(
        f"*Answered by the {answer.backend or '?'} backend" + (f" ({answer.model})" if answer.model else "") + ".*"
    )
    return "\n".join(lines).rstrip() + "\n"


def table_markdown(table: Comparison) -> str:
    """A comparison as a Markdown table: a row per paper (with its [n]), a column per aspect, quotes in the cells."""
    columns = [c for c in table.columns if any(c in row.cells for row in table.rows)]
    cell = lambda text: _md(text).replace("|", "\\|")  # noqa: E731
    lines = ["| paper | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in table.rows:
        cells = [cell(row.cells.get(c, "—")) for c in columns]
        lines.append(f"| {cell(render_math(row.title))} [{row.number}] | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_csv(answer: Answer) -> str:
    """A comparison's table as CSV: number, paper id, title, then one column per aspect."""
    import csv
    import io

    if not answer.table:
        raise ValueError('this answer has no table: ask to compare papers by name ("Compare Occult and C2R")')
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "paper_id", "title", *answer.table.columns])
    for row in answer.table.rows:
        writer.writerow(
            [row.number, row.paper_id, render_math(row.title), *(row.cells.get(c, "") for c in answer.table.columns)]
        )
    return out.getvalue()


def references(answer: Answer) -> list[str]:
    """The "## References" block: one line per citation, then up to two quoted evidence sentences."""
    if not answer.citations:
        return []
    lines, hits = ["", "## References", ""], _hits(answer)
    for c in answer.citations:
        meta = hits[c.paper_id].metadata if c.paper_id in hits else {}
        lines.append(reference(c.number, render_math(c.title), c.paper_id, meta))
        lines.extend(f"   > {_md(render_math(e))}" for e in c.evidence[:2])
        lines.append("")
    return lines


def to_bibtex(answer: Answer) -> str:
    """The cited papers as BibTeX @misc entries (an abstention cites none: empty string)."""
    import bibtexparser
    from bibtexparser import middlewares
    from bibtexparser.model import Entry, Field

    keys: set[str] = set()
    urls: dict[str, str | None] = {}
    library, hits = bibtexparser.Library(), _hits(answer)
    for c in answer.citations:
        meta = hits[c.paper_id].metadata if c.paper_id in hits else {}
        key = cite_key(c.title, meta, c.paper_id, keys)
        keys.add(key)
        fields = [
            ("title", c.title),
            ("author", " and ".join((meta.get("authors") or []) + (["others"] if meta.get("authors_partial") else []))),
            ("year", str(meta.get("year") or "")),
            ("howpublished", meta.get("venue") or ""),
            (
                "note",
                f"paper id {c.paper_id}" + ("; title derived from the abstract" if meta.get("title_derived") else ""),
            ),
        ]
        library.add(Entry("misc", key, [Field(k, v) for k, v in fields if v]))
        urls[key] = safe_url(meta.get("url"))
    if not library.entries:
        return ""
    library = middlewares.LatexEncodingMiddleware().transform(library)
    for entry in library.entries:  # a URL is verbatim in BibTeX: added after the LaTeX encoding, braces percent-encoded
        if url := urls.get(entry.key):
            entry.set_field(Field("url", url.replace("{", "%7B").replace("}", "%7D")))
    return bibtexparser.write_string(library)


def cite_key(title: str, meta: dict, paper_id: str, taken: set[str]) -> str:
    """A readable, unique BibTeX key: first author's surname, year, first title word.

    Example: cite_key("DANCE: data", {"authors": ["Nie Lin"], "year": 2024}, "p1", set()) == "lin2024dance"
    """
    authors = meta.get("authors") or []
    surname = _ascii(authors[0].split()[-1]) if authors else ""
    word = next((w for w in (_ascii(t) for t in title.split()) if len(w) > 2), "")
    base = f"{surname}{meta.get('year') or ''}{word}" if surname or meta.get("year") else f"{paper_id}{word}"
    key, n = base or paper_id, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}{n}"
    return key


def export(answer: Answer, fmt: str) -> str:
    """The answer in one of FORMATS ('text' and 'json' as the CLI prints them)."""
    if fmt == "markdown":
        return to_markdown(answer)
    if fmt == "bibtex":
        return to_bibtex(answer)
    if fmt == "csv":
        return to_csv(answer)
    if fmt == "json":
        import json

        return json.dumps(answer.to_dict(), ensure_ascii=False, indent=1)
    if fmt == "text":
        from .terminal import answer_to_text

        return answer_to_text(answer)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _hits(answer: Answer) -> dict[str, Hit]:
    return {h.paper_id: h for h in answer.sources}


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _md(text: str) -> str:
    """Text with Markdown's inline markup characters escaped, so titles and quotes stay literal."""
    return re.sub(r"([\\`*_<>#|])", r"\\\1", text)
