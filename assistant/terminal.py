"""Plain-text rendering of an Answer for the terminal.

Out of scope: HTML (see `ui`).
"""

from __future__ import annotations

from .records import Answer

FLAGS = {"unsupported": " [unsupported?]", "uncited": " [uncited: no source supports it]"}


def answer_to_text(answer: Answer) -> str:
    """The answer, unsupported sentences flagged, then a numbered reference list with evidence."""
    lines = []
    if answer.abstained:
        lines.append(answer.text)
        if answer.sources:
            lines.append("\nClosest papers:")
            lines.extend(f"  - {h.title} ({h.paper_id})" for h in answer.sources[:3])
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
        lines.append("\nReferences:")
        for c in answer.citations:
            lines.append(f"  [{c.number}] {c.title} ({c.paper_id})")
            lines.extend(f'      evidence: "{e}"' for e in c.evidence)
    lines.extend(f"note: {n}" for n in answer.notes)
    lines.append(f"— backend: {answer.backend}" + (f" ({answer.model})" if answer.model else ""))
    return "\n".join(lines)
