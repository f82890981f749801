"""A llama-index retriever over our index: hybrid (dense + BM25), filtered, one node per paper.

Lets llama-index pipelines (query engines, agents, rerankers) use this collection's retrieval:
    from llama_index.core.query_engine import RetrieverQueryEngine
    engine = RetrieverQueryEngine.from_args(PaperRetriever(Assistant(), k=5), llm=...)
Each node's text is the paper's title and abstract; its metadata carries the paper id, authors, year,
venue and URL; its score is the retriever's fused score.
Out of scope: retrieval itself (see `retrieve`), answering with citations (see `answer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

if TYPE_CHECKING:
    from .api import Assistant

METADATA = ("authors", "year", "venue", "url", "date")


class PaperRetriever(BaseRetriever):
    """Papers for a query, best first. Example: PaperRetriever(Assistant(), k=3).retrieve("4-bit training")[0].score"""

    def __init__(
        self, assistant: Assistant, k: int = 10, filters: dict[str, Any] | None = None, mode: str | None = None
    ):
        super().__init__()
        self.assistant, self.k, self.filters, self.mode = assistant, k, filters, mode

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.assistant.search(query_bundle.query_str, k=self.k, filters=self.filters, mode=self.mode)
        nodes = []
        for hit in hits:
            meta = {key: hit.metadata.get(key) for key in METADATA if hit.metadata.get(key) not in (None, "", [])}
            node = TextNode(
                id_=hit.paper_id,
                text=f"{hit.title}\n\n{hit.abstract}",
                metadata={"paper_id": hit.paper_id, "title": hit.title, "rank": hit.rank, **meta},
                excluded_embed_metadata_keys=["rank"],
                excluded_llm_metadata_keys=["rank"],
            )
            nodes.append(NodeWithScore(node=node, score=float(hit.score)))
        return nodes
