"""Plain-text rendering of an Answer for the terminal.

Out of scope: HTML (see `ui`).
"""

from __future__ import annotations

from .records import Answer

FLAGS = {
    "unsupported": " [unsupported?]",
    "contradicted": " [contradicted by a cited paper]",
    "uncited": " [uncited: no source supports it]",
}


def answer_to_text(answer: Answer) -> str:
    """The answer, unsupported sentences flagged, then a numbered reference list with evidence."""
    lines = []
    if answer.abstained:
        lines.append(answer.text)
        if answer.sources:
            lines.append("\nClosest papers:")
            lines.extend(f"  - {h.title} ({h.paper_id})" for h in answer.sources[:3])
    elif answer.table and answer.backend == "extractive":  # a comparison: the table is the answer, cells its quotes
        from .export import table_markdown

        lines.append(table_markdown(answer.table))
        lines.extend(_references(answer))
    else:
        from .citations import with_markers

        lines.append(
            " ".join(
                with_markers(s.text, s.citations)
                + FLAGS.get(s.verdict, "")
                + (" [cited post hoc]" if s.attributed else "")
                for s in answer.sentences
            )
        )
        if answer.table:  # a generated comparison, with the papers' own sentences side by side
            from .export import table_markdown

            lines.append("\n" + table_markdown(answer.table))
        lines.extend(_references(answer))
    lines.extend(f"note: {n}" for n in answer.notes)
    lines.append(f"— backend: {answer.backend}" + (f" ({answer.model})" if answer.model else ""))
    return "\n".join(lines)


def _references(answer: Answer) -> list[str]:
    """The numbered reference list, each paper with its evidence quotes."""
    lines = ["\nReferences:"]
    for c in answer.citations:
        derived = " [no title in the source; the abstract's opening]" if _derived(answer, c.paper_id) else ""
        lines.append(f"  [{c.number}] {c.title}{derived} ({c.paper_id})")
        lines.extend(f'      evidence: "{e}"' for e in c.evidence)
    return lines


def _derived(answer, paper_id: str) -> bool:
    """Whether the cited paper's title was made from its abstract (the source file had none)."""
    return any(h.paper_id == paper_id and h.metadata.get("title_derived") for h in answer.sources)
