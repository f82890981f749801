"""Chunking: a paper's abstract split into token-bounded pieces, each with the title in front for embedding.

Out of scope: embedding and storing chunks (see `index`, `ingest`).
"""

from __future__ import annotations

from functools import lru_cache

from .citations import sentence_pieces
from .embeddings import encoding
from .records import Chunk, Paper


def chunk_paper(paper: Paper, size: int, overlap: int) -> list[Chunk]:
    """Split a paper's abstract into token-bounded chunks, each starting with the title.

    Example: a 300-token abstract with size 512 gives one chunk "Title\\n\\nabstract" with id "<paper_id>:0".
    """
    head = f"{paper.title}\n\n"
    head_tokens = len(encoding().encode(head, disallowed_special=()))
    budget = max(64, size - head_tokens)
    if len(encoding().encode(paper.abstract, disallowed_special=())) <= budget:
        pieces = [paper.abstract.strip()]  # what the splitter returns for a text within budget, without its cost
    else:
        pieces = _splitter(budget, min(overlap, budget // 4)).split_text(paper.abstract)
    pieces = [p for p in pieces if p] or [paper.abstract]
    return [
        Chunk(chunk_id=f"{paper.paper_id}:{i}", paper_id=paper.paper_id, text=head + piece, position=i)
        for i, piece in enumerate(pieces)
    ]


@lru_cache(maxsize=64)
def _splitter(budget: int, overlap: int):
    from llama_index.core.node_parser import SentenceSplitter

    # Sentences are cut by our own abstract-aware rule (abbreviations such as "et al." and "e.g."),
    # not by NLTK's punkt, which llama-index would import on first use (about 2.4 s).
    return SentenceSplitter(
        chunk_size=budget,
        chunk_overlap=overlap,
        tokenizer=lambda t: encoding().encode(t, disallowed_special=()),
        chunking_tokenizer_fn=sentence_pieces,
    )
