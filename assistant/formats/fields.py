"""Field values as exports write them, made uniform: people, dates, identifiers, links, markup.

Every function is pure and returns None (or []) for a value it cannot read, so that readers
can repair or skip a record and say why. Out of scope: reading files (see the readers).
"""

from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime

MONTHS = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
}
DOI_RE = re.compile(r"10\.\d+(?:\.\d+)*/\S+")
ARXIV_NEW_RE = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
ARXIV_OLD_RE = re.compile(r"^([a-z-]+(?:\.[A-Za-z]{2})?/\d{7})(v\d+)?$")
ARXIV_DOI_PREFIX = "10.48550/arxiv."
BLOCK_TAGS = {"p", "sec", "title", "br", "div", "list-item", "li"}


def clean(text) -> str:
    """One line of text: whitespace runs collapsed. Example: clean(" a\\n b ") == "a b"."""
    return " ".join(str(text).split()) if text is not None else ""


def strip_tags(text: str | None) -> str:
    """Text of an HTML/JATS fragment, with a leading "Abstract" heading dropped.

    Example: strip_tags("<jats:title>Abstract</jats:title><jats:p>We <jats:italic>x</jats:italic>.</jats:p>") == "We x."
    """
    if not text or "<" not in text:
        return clean(text)
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(text, create_parent="div")
    except Exception:  # malformed markup: fall back to the text as it is
        return clean(text)
    for element in root.iter():  # block elements (paragraphs, sections, titles) are separated by a space
        if element is not root and str(element.tag).split(":")[-1] in BLOCK_TAGS:
            element.text = " " + (element.text or "")
            element.tail = " " + (element.tail or "")
    plain = clean(root.text_content())
    return re.sub(r"^(Abstract|ABSTRACT|Summary)\s*[:.]?\s+", "", plain)


def normalise_doi(value) -> str | None:
    """A DOI lower-case, without URL or `doi:` prefix. Example: "https://doi.org/10.1/AB" -> "10.1/ab"."""
    match = DOI_RE.search(clean(value).replace(" ", ""))
    return match.group(0).rstrip(".,;").lower() if match else None


def normalise_arxiv(value) -> str | None:
    """An arXiv id without prefix or version. Example: "arXiv:2101.00001v3" -> "2101.00001"."""
    text = clean(value)
    text = re.sub(r"^(https?://(export\.)?arxiv\.org/(abs|pdf)/|arxiv:)", "", text, flags=re.I).removesuffix(".pdf")
    if text.lower().startswith(ARXIV_DOI_PREFIX):
        text = text[len(ARXIV_DOI_PREFIX) :]
    for pattern in (ARXIV_NEW_RE, ARXIV_OLD_RE):
        if match := pattern.match(text):
            return match.group(1)
    return None


def arxiv_from_doi(doi: str | None) -> str | None:
    """arXiv's own DOIs (10.48550/arXiv.X) name an arXiv id."""
    return normalise_arxiv(doi) if doi and doi.startswith(ARXIV_DOI_PREFIX) else None


def normalise_pmid(value) -> str | None:
    """A PubMed id as digits. Example: "https://pubmed.ncbi.nlm.nih.gov/123/" -> "123"."""
    match = re.search(r"(\d{1,9})/?$", clean(value))
    return match.group(1) if match else None


def web_link(value) -> str | None:
    """The URL if it is an http(s) link, else None (javascript:, file:, data: are dropped)."""
    text = clean(value).strip("<>")
    return text if re.match(r"https?://[^\s/]+", text, re.I) else None


def person(name: str) -> str:
    """One person as "First Last". Example: person("Wrachtrup, Jörg") == "Jörg Wrachtrup"."""
    parts = [p.strip() for p in clean(name).split(",")]
    if len(parts) == 2 and all(parts):
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and all(parts):  # "von Last, Jr, First"
        return f"{parts[2]} {parts[0]} {parts[1]}"
    return clean(name).strip(", ")


def people(value) -> list[str]:
    """A list of people from a list or a string in any common export style.

    Example: people("Wrachtrup, Jörg; Smith, John") == ["Jörg Wrachtrup", "John Smith"]
    Example: people("Ann Lee, Bo Li and Cy Wu") == ["Ann Lee", "Bo Li", "Cy Wu"]
    """
    if isinstance(value, list):
        return [n for n in (person(v) if isinstance(v, str) else _named(v) for v in value) if n]
    text = clean(value)
    if not text:
        return []
    if ";" in text:
        names = text.split(";")
    elif _is_first_last_list(text):
        names = re.split(r",|\s+and\s+", text)
    else:
        names = re.split(r"\s+and\s+", text)
    return [p for p in (person(n) for n in names) if p]


def _is_first_last_list(text: str) -> bool:
    """True when commas separate whole names ("Ann Lee, Bo Li"), not "Last, First"."""
    pieces = [p.strip() for p in re.split(r",|\s+and\s+", text) if p.strip()]
    return len(pieces) >= 2 and all(" " in p for p in pieces)


def _named(value) -> str:
    """A person from a structured record: CSL/Crossref {given, family}, {name}, arXiv [last, first, suffix]."""
    if isinstance(value, dict):
        given = value.get("given") or value.get("first_name") or value.get("ForeName") or ""
        family = value.get("family") or value.get("last_name") or value.get("LastName") or ""
        name = " ".join(clean(p) for p in (given, family) if p)
        return name or clean(value.get("name") or value.get("literal") or value.get("display_name") or "")
    if isinstance(value, (list, tuple)):
        last, first, suffix = (list(value) + ["", "", ""])[:3]
        return clean(" ".join(p for p in (first, last, suffix) if p))
    return ""


def iso_date(value=None, year=None, month=None, day=None) -> str | None:
    """An ISO date (YYYY, YYYY-MM or YYYY-MM-DD) from whatever an export holds.

    Example: iso_date("Mon, 2 Apr 2007 19:18:42 GMT") == "2007-04-02"; iso_date(year="2020", month="jul") == "2020-07"
    """
    if isinstance(value, dict):  # CSL/Crossref {"date-parts": [[2020, 5, 3]]} or {"raw": "..."}
        parts = (value.get("date-parts") or [[None]])[0] or [None]
        return (
            iso_date(value.get("raw") or value.get("literal"), *(list(parts) + [None, None])[:3])
            if any(parts) or value.get("raw")
            else None
        )
    text = clean(value)
    found = _parse_date_text(text) if text else None
    if found:
        return found
    y = _int(year)
    if not y or not 1000 <= y <= 2999:
        return None
    m = _month(month)
    d = _int(day)
    if m and d and _valid(y, m, d):
        return f"{y:04d}-{m:02d}-{d:02d}"
    return f"{y:04d}-{m:02d}" if m else f"{y:04d}"


def _parse_date_text(text: str) -> str | None:
    if match := re.match(r"^(\d{4})\s+([A-Za-z]{3})[a-z]*\.?(?:\s+(\d{1,2}))?", text):  # MEDLINE "2019 Jan 15"
        return iso_date(None, match.group(1), match.group(2), match.group(3))
    if match := re.match(r"^(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2}))?)?(?:[T /]|$)", text):
        y = int(match.group(1))  # (\d{4}): always there
        m, d = (int(g) if g else None for g in match.groups()[1:])
        if m and not 1 <= m <= 12:
            return None
        if d and not _valid(y, m, d):
            return f"{y:04d}-{m:02d}"
        return f"{y:04d}" + (f"-{m:02d}" if m else "") + (f"-{d:02d}" if d else "")
    if match := re.match(
        r"^(?:(\d{1,2})\s+)?([A-Za-z]{3})[a-z]*\.?,?\s+(?:(\d{1,2}),?\s+)?(\d{4})$", text
    ):  # "Jul 2020", "2 Apr 2007"
        return iso_date(None, match.group(4), match.group(2), match.group(1) or match.group(3))
    try:
        return parsedate_to_datetime(text).date().isoformat()  # RFC 2822: "Mon, 2 Apr 2007 19:18:42 GMT"
    except (TypeError, ValueError, IndexError):
        return None


def _month(value) -> int | None:
    if value is None or value == "":
        return None
    number = _int(value)
    if number is not None:
        return number if 1 <= number <= 12 else None
    word = re.search(r"[A-Za-z]{3,}", str(value))  # "jul", "July", PMLR's "13--18 Jul"
    return MONTHS.get(word.group(0)[:3].lower()) if word else None


def _int(value) -> int | None:
    try:
        return int(str(value).strip()[:4]) if str(value).strip()[:4].isdigit() else int(value)
    except (TypeError, ValueError):
        return None


def _valid(y: int, m: int | None, d: int) -> bool:
    try:
        date(y, m or 1, d)
        return True
    except ValueError:
        return False


def year_of(iso: str | None) -> int | None:
    """The year of an ISO date. Example: year_of("2020-07") == 2020."""
    return int(iso[:4]) if iso and iso[:4].isdigit() else None


def inverted_index_text(index: dict | None) -> str:
    """OpenAlex's abstract_inverted_index back to text. Example: {"b": [1], "a": [0]} -> "a b"."""
    if not index:
        return ""
    slots: dict[int, list[str]] = {}
    for word, positions in index.items():
        for pos in positions if isinstance(positions, list) else []:
            slots.setdefault(int(pos), []).append(word)  # a position given twice keeps both words
    return clean(" ".join(" ".join(slots[i]) for i in sorted(slots)))
