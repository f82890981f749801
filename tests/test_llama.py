"""The llama-index retriever over our index: nodes carry the paper, scores follow our ranking, filters apply,
and a llama-index query engine runs on it.

Out of scope: retrieval quality (see test_retrieve).
"""

from __future__ import annotations

import pytest

from assistant.llama import PaperRetriever

pytestmark = pytest.mark.slow


def test_retriever__returns_our_hits_as_nodes_with_paper_metadata(seed_assistant):
    query = "4-bit training stability"
    hits = seed_assistant.search(query, k=4)
    nodes = PaperRetriever(seed_assistant, k=4).retrieve(query)
    assert [n.node.node_id for n in nodes] == [h.paper_id for h in hits]
    assert [n.score for n in nodes] == pytest.approx([h.score for h in hits])
    first = nodes[0].node
    assert first.metadata["title"] == hits[0].title and first.metadata["paper_id"] == hits[0].paper_id
    assert first.get_content().startswith(hits[0].title) and hits[0].abstract in first.get_content()


def test_retriever__applies_filters(seed_assistant):
    nodes = PaperRetriever(seed_assistant, k=5, filters={"year": 2024}).retrieve("training")
    assert nodes and all(n.node.metadata["year"] == 2024 for n in nodes)
    assert PaperRetriever(seed_assistant, k=5, filters={"year": 1999}).retrieve("training") == []


def test_retriever__drives_a_llama_index_query_engine(seed_assistant):
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    engine = RetrieverQueryEngine.from_args(PaperRetriever(seed_assistant, k=3), llm=MockLLM())
    response = engine.query("How does Stable-SPAM stabilise 4-bit training?")
    assert any("Stable-SPAM" in n.node.metadata["title"] for n in response.source_nodes)
