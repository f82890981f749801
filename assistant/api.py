"""The `Assistant`: the one Python API that the CLI, the UI and the evaluation all call.

Out of scope: presentation (see `cli`, `ui`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .answer import LLM, Chain
from .config import SEEDS_DIR, Settings, get_settings
from .corpus import seed_files
from .entailment import load_claim_model
from .errors import AssistantError
from .extractive import Extractor
from .index import PaperIndex
from .judge import make_answer_judge
from .records import Answer, ClaimCheck, Hit, IngestSummary, Paper, PaperVerdict
from .retrieve import Filters, Retriever
from .verify import Verifier

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from .embeddings import Embedder

BUNDLED = "bundled"
USER_INDEX_MARK = "user-index"  # in an index folder the user ingested into: never filled with the bundled corpus


def filters_from(
    listing: str | None = None, year: int | str | None = None, author: str | None = None
) -> dict[str, Any] | None:
    """The `filters` argument of `search` and `ask` from optional choices; unset ones are left out.

    Example: filters_from(listing=None, year="2024") == {"year": 2024}
    """
    chosen = {"listing": listing, "year": None if year is None else int(year), "author": author}
    return {key: value for key, value in chosen.items() if value is not None} or None


class Assistant:
    """Question answering over a collection of paper abstracts.

    Example: Assistant().search("4-bit training stability", k=3)[0].title
    """

    def __init__(
        self,
        index_dir: Path | str | None = None,
        settings: Settings | None = None,
        corpus: str | Path | Sequence[str | Path] | None = BUNDLED,
        embedder: Embedder | None = None,
        chroma_client: ClientAPI | None = None,
        check_index: bool = True,
        backends: dict[str, LLM] | None = None,
        claim_model: Any = None,
    ) -> None:
        """`backends`: ready-made LLM backends by name ('openai', 'local'), e.g. a test's fake; the others
        are built from settings on first use. `embedder`, `chroma_client` and `claim_model` (a three-way claim
        model, see `entailment`; default: settings.verify.claim_model, if any) are likewise optional."""
        self.settings = get_settings(settings)
        if index_dir is not None:
            self.settings = self.settings.model_copy(update={"index_dir": Path(index_dir)})
        self.index = PaperIndex(self.settings.index_dir, self.settings, embedder=embedder, chroma_client=chroma_client)
        if check_index:  # False only for a caller about to rebuild the index under new settings
            self.index.check_compatible()
        self.retriever = Retriever(self.index)
        if claim_model is None:
            claim_model = load_claim_model(self.settings.verify.claim_model)
        self.verifier = Verifier(self.index.embedder, claim_model=claim_model)
        self.chain = Chain(
            self.search,
            self.papers,
            self.settings,
            self.verifier,
            Extractor(self.index.embedder),
            backends=backends,
            corpus_version=self.index.store.generation,
        )
        self.chain.judge = make_answer_judge(self.settings, self.chain.backend)
        if not self.index.count_papers() and corpus:
            if corpus != BUNDLED:
                self.ingest(corpus)
            elif (self.index.dir / USER_INDEX_MARK).exists():
                raise AssistantError(
                    f"the index in {self.index.dir} is empty; ingest files with `assistant ingest FILE`"
                )
            else:
                if self.settings.progress:  # the first use builds an index: say so, or a bar is the only word
                    print(f"first use: indexing the bundled corpus into {self.index.dir} (once)", file=sys.stderr)
                self.index.ingest(seed_files(SEEDS_DIR))

    def papers(self) -> list[Paper]:
        """Every paper in the index, in listing order."""
        return self.index.papers()

    def paper(self, paper_id: str) -> Paper:
        return self.index.paper(paper_id)

    def search(
        self, query: str, k: int = 10, filters: Filters | dict[str, Any] | None = None, mode: str | None = None
    ) -> list[Hit]:
        """The k papers most relevant to `query`, best first; filters on listing, year, author."""
        if not query or not query.strip():
            raise ValueError("the query is empty")
        return self.retriever.search(query, k=k, filters=filters, mode=mode)

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        filters: Filters | dict[str, Any] | None = None,
        k: int | None = None,
        strict: bool | None = None,
        backend: str | None = None,
        model: str | None = None,
    ) -> Answer:
        """A cited answer to `question`; `history` is a list of {"role", "content"} turns; `model` for the openai backend."""
        return self.chain.ask(
            question, history=history, filters=filters, k=k, strict=strict, backend=backend, model=model
        )

    def ask_stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        filters: Filters | dict[str, Any] | None = None,
        k: int | None = None,
        strict: bool | None = None,
        backend: str | None = None,
        model: str | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text deltas while answering, then the final `Answer`."""
        return self.chain.stream(
            question, history=history, filters=filters, k=k, strict=strict, backend=backend, model=model
        )

    def check(
        self, claim: str, paper_ids: Sequence[str] | None = None, k: int | None = None, filters=None
    ) -> ClaimCheck:
        """Whether papers support `claim`: the given ones, else the k closest (default 5), each with its verdict and
        the abstract sentences it rests on: supports, contradicts or not_enough_info, from the three-way claim model
        (see `entailment`)."""
        if not claim or not claim.strip():
            raise ValueError("the claim is empty")
        if paper_ids:
            try:
                papers = [self.paper(pid) for pid in paper_ids]
            except KeyError as err:
                raise AssistantError(
                    f"no paper with id {err.args[0]!r} in the index; `assistant papers` lists the ids"
                ) from None
            sources = [(p.paper_id, p.title, p.abstract) for p in papers]
        else:
            hits = self.search(claim, k=k or 5, filters=filters)
            sources = [(h.paper_id, h.title, h.abstract) for h in hits]
        vector = self.verifier.embedder.embed_query(claim)
        verdicts = []
        for paper_id, title, abstract in sources:
            verdict = self.verifier.entail(claim, abstract, vector, title=title)
            verdicts.append(PaperVerdict(paper_id, title, verdict.label, round(verdict.score, 3), verdict.evidence[:2]))
        judge = self.verifier.claim_model.name if self.verifier.claim_model else self.verifier.name
        return ClaimCheck(claim, verdicts, judge=judge)

    def ingest(
        self, paths: str | Path | Iterable[str | Path], rebuild: bool = False, strict: bool = False
    ) -> IngestSummary:
        """Add bibliography files (BibTeX, RIS, CSV, JSON, PubMed, ...) to the index; all-or-nothing per call.

        Records without an abstract are skipped and reported in the summary; `strict` refuses them instead.
        """
        files = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        if rebuild or not self.index.count_papers():
            self._mark_user_index()
        return self.index.ingest(files, rebuild=rebuild, strict=strict)

    def remove(self, paper_ids: Iterable[str] | None = None, source: str | Path | None = None) -> int:
        """Take papers out of the index by id, or every paper found only in `source` (a file); returns how many."""
        self._mark_user_index()  # emptied by the user: it must not refill itself with the bundled corpus
        return self.index.remove(paper_ids=list(paper_ids or []), source=source)

    def _mark_user_index(self) -> None:
        """Record that the user chose this folder's content, so the bundled corpus is never added to it."""
        self.index.dir.mkdir(parents=True, exist_ok=True)
        (self.index.dir / USER_INDEX_MARK).write_text(
            "This index holds the user's files; the bundled corpus is not added to it.\n"
        )
