"""Pure steps on answer text: sentence splitting, [n] marker parsing (and the variants small models write),
renumbering by first use, and the numbered citations of an answer (built once, in `cite`).

Out of scope: deciding whether a citation supports its sentence (see `verify`).
"""

from __future__ import annotations

import re

from .records import Citation, Hit, Sentence

ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "etc.", "Fig.", "Eq.", "cf.", "approx.", "resp.", "No.")
# Markers written after the full stop ("A holds. [2] [1] B …", or at the very end) stay with their sentence.
SENTENCE_END_RE = re.compile(r"(?<=[.!?])(?:\s*\[\d+(?:\s*[,\-–]\s*\d+)*\])*(?:\s+(?=[A-Z0-9(\[\"'$])|\s*$)")
MARKER_RE = re.compile(r"\[(\d+(?:\s*[,\-–]\s*\d+)*)\]")


NUMBERS = r"\d+(?:\s*(?:,|;|and|&|-|–|to)\s*\d+)*"
# Marker styles small models write instead of [n]: "[Source 1]", "[1, 2]", "(1)." "(Sources 1 and 2)", "Source 1".
SOURCE_WORDS = r"(?:sources?|refs?\.?|references?|papers?|abstracts?)\s*#?\s*"
VARIANT_RES = [
    re.compile(rf"\[\s*{SOURCE_WORDS}({NUMBERS})\s*\]", re.I),
    re.compile(rf"\(\s*{SOURCE_WORDS}({NUMBERS})\s*\)", re.I),
    re.compile(rf"\(\s*({NUMBERS})\s*\)(?=\s*(?:[.,;:!?\[(]|$))"),  # "(1)." but not the enumeration "(1) a, (2) b"
]
BARE_RE = re.compile(
    rf"\b(?:according to |as (?:stated|reported|shown) (?:in|by) )?sources?\s*#?\s*({NUMBERS})\b", re.I
)
LEAD_IN_RE = re.compile(
    r"^(?:according to|as (?:stated|reported|shown|described) (?:in|by)|based on|in|from)\s*"
    r"(\[[^\]]+\])\s*,?\s*",
    re.I,
)


def normalise_markers(text: str, count: int) -> str:
    """Rewrite marker variants as [n] markers; only numbers 1..count count as markers (so "(2023)" stays).

    Example: normalise_markers("A holds (1). B (Sources 1 and 2). C [Source 3].", 3) == "A holds [1]. B [1, 2]. C [3]."
    """

    def bracket(match: re.Match) -> str:
        numbers = _numbers(match.group(1), count)
        return "[" + _canonical(match.group(1)) + "]" if numbers else match.group(0)

    for pattern in VARIANT_RES:
        text = pattern.sub(bracket, text)
    return " ".join(_bare_to_marker(_move_lead_in(s), count) for s in split_sentences(text))


def _numbers(span: str, count: int) -> list[int]:
    numbers = [int(n) for n in re.findall(r"\d+", span)]
    return numbers if numbers and all(1 <= n <= count for n in numbers) else []


def _canonical(span: str) -> str:
    """Example: _canonical("1 and 2 to 4") == "1, 2-4" """
    return re.sub(r"\s*(?:,|;|and|&)\s*", ", ", re.sub(r"\s*(?:-|–|to)\s*", "-", span))


def _at_end(sentence: str, marker: str) -> str:
    return f"{sentence[:-1]} {marker}{sentence[-1]}" if sentence[-1:] in (".", "!", "?") else f"{sentence} {marker}"


def _move_lead_in(sentence: str) -> str:
    """Example: _move_lead_in("According to [2], X holds.") == "X holds [2]." """
    match = LEAD_IN_RE.match(sentence)
    rest = sentence[match.end() :] if match else ""
    if not match or not rest:
        return sentence
    return _at_end(rest[0].upper() + rest[1:], match.group(1))


def _bare_to_marker(sentence: str, count: int) -> str:
    """A sentence naming "Source 2" keeps its words and gains the marker. Example: "Source 2 shows X." -> "Source 2 shows X [2]." """
    spans = [m.group(1) for m in BARE_RE.finditer(sentence) if _numbers(m.group(1), count)]
    return _at_end(sentence, "".join(f"[{_canonical(s)}]" for s in spans)) if spans else sentence


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping trailing [n] markers with their sentence.

    Example: split_sentences("A works [1]. B fails, e.g. on CIFAR. C.") == ["A works [1].", "B fails, e.g. on CIFAR.", "C."]
    """
    text = " ".join(text.split())
    return [s for s in (piece.strip() for piece in sentence_pieces(text)) if s]


def sentence_pieces(text: str) -> list[str]:
    """The sentences of `text` with their own spacing, so the pieces join back into the text (a chunker's splitter).

    Example: sentence_pieces("A holds [1].  B, e.g. cats.\nD.") == ["A holds [1].  ", "B, e.g. cats.\n", "D."]
    """
    pieces, start = [], 0
    for match in SENTENCE_END_RE.finditer(text):
        before = text[start : match.start()]
        if before.endswith(ABBREVIATIONS) or re.search(r"\b[A-Z]\.$", before):
            continue
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def parse_markers(sentence: str) -> tuple[str, list[int]]:
    """The sentence without its [n] markers, and the numbers it cites in order (ranges expanded).

    Example: parse_markers("X holds [2][1, 3].") == ("X holds.", [2, 1, 3])
    """
    numbers: list[int] = []
    for match in MARKER_RE.finditer(sentence):
        for part in re.split(r"\s*,\s*", match.group(1)):
            bounds = re.split(r"\s*[\-–]\s*", part)
            lo, hi = int(bounds[0]), int(bounds[-1])
            numbers.extend(range(lo, hi + 1) if 0 <= hi - lo <= 20 else [lo, hi])
    clean = MARKER_RE.sub("", sentence)
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    clean = re.sub(r"[,;:]+([.!?])\s*$", r"\1", clean)  # "A [1], [2]." leaves "A,."
    return " ".join(clean.split()), list(dict.fromkeys(numbers))


def attach_stray_markers(parsed: list[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
    """Fold wordless sentences ("[1]." on its own) into a neighbour: their numbers go to the sentence before, else after.

    Example: attach_stray_markers([("A holds.", []), (".", [1]), ("B.", [2])]) == [("A holds.", [1]), ("B.", [2])]
    """
    result: list[tuple[str, list[int]]] = []
    pending: list[int] = []
    for text, numbers in parsed:
        if not re.search(r"\w", text):
            if result:
                result[-1] = (result[-1][0], list(dict.fromkeys(result[-1][1] + numbers)))
            else:
                pending.extend(numbers)
            continue
        result.append((text, list(dict.fromkeys(pending + numbers))))
        pending = []
    return result


def renumber(cited: list[list[int]], valid: set[int]) -> tuple[list[list[int]], dict[int, int], int]:
    """Drop citations to unknown sources and renumber the rest 1, 2, … in order of first use.

    Returns (new numbers per sentence, old->new map, count of removed markers).
    Example: renumber([[3], [1, 9, 3]], {1, 2, 3}) == ([[1], [2, 1]], {3: 1, 1: 2}, 1)
    """
    mapping: dict[int, int] = {}
    removed = 0
    result = []
    for numbers in cited:
        new = []
        for n in numbers:
            if n not in valid:
                removed += 1
                continue
            mapping.setdefault(n, len(mapping) + 1)
            if mapping[n] not in new:
                new.append(mapping[n])
        result.append(new)
    return result, mapping, removed


def known_markers(cited: list[list[int]], valid: set[int]) -> tuple[list[list[int]], int]:
    """Drop citations to unknown sources and repeats, keeping the source numbers; returns (numbers, count removed).

    Example: known_markers([[3], [1, 9, 3, 3]], {1, 2, 3}) == ([[3], [1, 3]], 1)
    """
    kept, removed = [], 0
    for numbers in cited:
        removed += sum(n not in valid for n in numbers)
        kept.append(list(dict.fromkeys(n for n in numbers if n in valid)))
    return kept, removed


def cite(sentences: list[Sentence], sources: list[Hit], evidence: dict[int, list[str]]) -> list[Citation]:
    """Number the cited sources 1, 2, … by first use, once: rewrite each sentence's markers and build the citations.

    `sentences` cite sources by their 1-based position in `sources`; `evidence` is keyed the same way.
    Example: sentences citing [[3], [1, 3]] become [[1], [2, 1]], with citations 1 → sources[2], 2 → sources[0].
    """
    numbers, mapping, _ = renumber([s.citations for s in sentences], set(range(1, len(sources) + 1)))
    for sentence, new in zip(sentences, numbers):
        sentence.citations = new
    return [
        Citation(
            number=new, paper_id=sources[old - 1].paper_id, title=sources[old - 1].title, evidence=evidence.get(old, [])
        )
        for old, new in sorted(mapping.items(), key=lambda item: item[1])
    ]


def with_markers(text: str, numbers: list[int]) -> str:
    """Put [n] markers before a sentence's final punctuation. Example: ("A.", [1, 2]) -> "A [1][2]."""
    if not numbers:
        return text
    marks = "".join(f"[{n}]" for n in numbers)
    if text and text[-1] in ".!?":
        return f"{text[:-1]} {marks}{text[-1]}"
    return f"{text} {marks}"
