"""The operations served to other programs: ask, search, paper, papers, count, check, ingest.

One `Toolbox` over one `Assistant` is what the MCP server (`mcp_server`), the REST routes and the
OpenAI-compatible API (`server`) all call, so every client gets the same JSON shapes and the same
limits: questions share ASK_CONCURRENCY slots, ingest is off unless the user enabled it, and a bad
argument is an `AssistantError` whose message can be shown as it is.
Out of scope: transports, authentication (see `server`), answering itself (see `answer`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AssistantError
from .export import to_reply
from .records import Answer, Hit, Paper

if TYPE_CHECKING:
    from .api import Assistant

ASK_CONCURRENCY = 16  # questions answered at once over every route (the chat UI uses the same limit)
MAX_K = 50
ABSTRACT_PREVIEW = 300  # characters of each abstract in search results; `paper` gives the whole abstract


class ToolError(AssistantError):
    """A request a client can correct: unknown paper, empty question, ingest not enabled, bad filter."""


def answer_payload(answer: Answer) -> dict[str, Any]:
    """The answer as served: the reply text (cited sentences and references), then its parts.

    `text` has [n] markers; `references` the cited papers with their evidence; `sentences` each sentence's
    support verdict (supported | unsupported | contradicted | uncited | listing | finding); `finding` a yes/no
    question's finding (yes | no | mixed | unclear), else None.
    """
    sources = {h.paper_id: h for h in answer.sources}
    return {
        "question": answer.question,
        "reply": to_reply(answer),
        "text": answer.text,
        "abstained": answer.abstained,
        "backend": answer.backend,
        "model": answer.model,
        "references": [
            {
                "number": c.number,
                "paper_id": c.paper_id,
                "title": c.title,
                "evidence": c.evidence,
                **_citable(sources[c.paper_id].metadata if c.paper_id in sources else {}),
            }
            for c in answer.citations
        ],
        "sentences": [
            {"text": s.text, "citations": s.citations, "verdict": s.verdict, "attributed": s.attributed}
            for s in answer.sentences
        ],
        "notes": answer.notes,
        "finding": answer.finding,
        "table": asdict(answer.table) if answer.table else None,  # a comparison: rows of papers, columns of aspects
    }


def hit_payload(hit: Hit) -> dict[str, Any]:
    abstract = hit.abstract if len(hit.abstract) <= ABSTRACT_PREVIEW else hit.abstract[:ABSTRACT_PREVIEW] + "…"
    return {
        "rank": hit.rank,
        "paper_id": hit.paper_id,
        "title": hit.title,
        "score": round(hit.score, 4),
        "abstract": abstract,
        **_citable(hit.metadata),
    }


def paper_payload(paper: Paper, abstract: bool = True) -> dict[str, Any]:
    data = {
        "paper_id": paper.paper_id,
        "title": paper.title,
        "title_derived": paper.title_derived,
        "authors": paper.authors,
        "year": paper.year,
        "date": paper.date,
        "venue": paper.venue,
        "url": paper.url,
        "doi": paper.doi,
        "arxiv_id": paper.arxiv_id,
        "pmid": paper.pmid,
        "listings": paper.listings,
    }
    if abstract:
        data["abstract"] = paper.abstract
    return data


def _citable(meta: dict) -> dict[str, Any]:
    return {key: meta.get(key) for key in ("authors", "year", "venue", "url")} | {
        "authors_partial": bool(meta.get("authors_partial")),  # the authors named are some of them ("et al.")
        "title_derived": bool(meta.get("title_derived")),  # no title in the source: the abstract's opening
    }


class Toolbox:
    """The served operations over one Assistant; `allow_ingest` lets clients add files (off by default).

    Example: Toolbox(Assistant()).search("4-bit training", k=3)[0]["title"]
    """

    def __init__(self, assistant: Assistant, allow_ingest: bool = False, concurrency: int = ASK_CONCURRENCY):
        self.assistant = assistant
        self.allow_ingest = allow_ingest
        self._asking = threading.BoundedSemaphore(concurrency)

    def ask(
        self, question: str, filters: dict | None = None, k: int | None = None, history=None, backend=None
    ) -> Answer:
        """A cited answer; waits for one of the shared question slots. `backend`: as in `Assistant.ask`."""
        _require(question, "question")
        k = _k(k) if k else None
        with self._asking:
            return self.assistant.ask(question, history=history, filters=filters, k=k, backend=backend)

    def ask_stream(
        self, question: str, filters: dict | None = None, k: int | None = None, history=None, backend=None
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final Answer; holds a question slot until the answer is done."""
        _require(question, "question")
        k = _k(k) if k else None
        with self._asking:
            yield from self.assistant.ask_stream(question, history=history, filters=filters, k=k, backend=backend)

    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[dict[str, Any]]:
        _require(query, "query")
        return [hit_payload(h) for h in self.assistant.search(query, k=_k(k), filters=filters)]

    def paper(self, paper_id: str) -> dict[str, Any]:
        try:
            return paper_payload(self.assistant.paper(paper_id))
        except KeyError:
            raise ToolError(f"no paper with id {paper_id!r} in the index; search or list papers for ids") from None

    def papers(self, query: str = "", limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Papers in listing order whose title, authors or listings contain every word of `query`; with the count."""
        words = query.lower().split()
        matching = [
            p
            for p in self.assistant.papers()
            if all(w in " ".join([p.title, *p.authors, *p.listings]).lower() for w in words)
        ]
        limit = max(0, min(int(limit), 1000))
        shown = matching[offset : offset + limit]
        return {"total": len(matching), "offset": offset, "papers": [paper_payload(p, abstract=False) for p in shown]}

    def check(
        self, claim: str, k: int = 5, filters: dict | None = None, paper_ids: list[str] | None = None
    ) -> dict[str, Any]:
        """Whether papers support `claim` (the given ones, else the k closest): each one's label, score, evidence."""
        _require(claim, "claim")
        return self.assistant.check(claim, paper_ids=paper_ids, k=_k(k), filters=filters).to_dict()

    def ingest(self, path: str) -> dict[str, Any]:
        """Add one file (a path on the server's machine) to the index, when the user allowed it."""
        if not self.allow_ingest:
            raise ToolError("ingest is off: start the server with --allow-ingest to let clients add files")
        file = Path(path).expanduser()
        if not file.is_file():
            raise ToolError(f"no such file: {file}")
        return self.assistant.ingest(file).to_dict()


def _require(text: str, what: str) -> None:
    if not text or not str(text).strip():
        raise ToolError(f"the {what} is empty")


def _k(k: int) -> int:
    if not 1 <= int(k) <= MAX_K:
        raise ToolError(f"k must be between 1 and {MAX_K}")
    return int(k)
