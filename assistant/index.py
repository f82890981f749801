"""The index: chunking papers, embedding chunks into Chroma, and the paper store beside it.

State lives in one folder: `store.json` (manifest, papers, chunks; replaced atomically, so it
is the commit point), `manifest.json` (a readable copy of the manifest) and `chroma/` (embedded
Chroma), unless a Chroma server is configured. Chroma may hold chunks a killed ingest added
before committing; they are ignored until a later ingest commits them. Out of scope: ranking
(see `retrieve`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings
from .corpus import merge, merge_into, normalise
from .embeddings import encoding, make_embedder
from .errors import IndexMismatchError
from .formats import load_file
from .records import Chunk, IngestSummary, Paper

STORE_VERSION = 2


@dataclass
class IndexState:
    """The committed content of an index: manifest, papers and chunks."""

    manifest: dict = field(default_factory=dict)
    papers: dict[str, Paper] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)


def chunk_paper(paper: Paper, size: int, overlap: int) -> list[Chunk]:
    """Split a paper's abstract into token-bounded chunks, each starting with the title.

    Example: a 300-token abstract with size 512 gives one chunk "Title\\n\\nabstract" with id "<paper_id>:0".
    """
    from llama_index.core.node_parser import SentenceSplitter

    head = f"{paper.title}\n\n"
    budget = max(64, size - len(encoding().encode(head)))
    splitter = SentenceSplitter(chunk_size=budget, chunk_overlap=min(overlap, budget // 4),
                                tokenizer=lambda t: encoding().encode(t, disallowed_special=()))
    pieces = splitter.split_text(paper.abstract) or [paper.abstract]
    return [Chunk(chunk_id=f"{paper.paper_id}:{i}", paper_id=paper.paper_id, text=head + piece, position=i)
            for i, piece in enumerate(pieces)]


def corpus_fingerprint(papers: dict[str, Paper]) -> str:
    return hashlib.sha256("\n".join(sorted(papers)).encode()).hexdigest()[:16]


class PaperIndex:
    """One index folder: committed state on disk plus its Chroma collection."""

    def __init__(self, index_dir: Path, settings: Settings, embedder=None, chroma_client=None):
        self.dir = Path(index_dir)
        self.settings = settings
        self._embedder = embedder
        self._client = chroma_client
        self._collection = None
        self._lock = threading.RLock()
        self.state = self._load()

    # ---- state on disk -------------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return self.dir / "store.json"

    def _load(self) -> IndexState:
        if not self.store_path.exists():
            return IndexState()
        data = json.loads(self.store_path.read_text())
        if data["manifest"].get("version") != STORE_VERSION:
            raise IndexMismatchError(f"the index in {self.dir} was written by another version of assistant "
                                     f"(store version {data['manifest'].get('version')}, expected {STORE_VERSION}); "
                                     "rebuild it with `assistant ingest --rebuild FILES` or delete the folder")
        return IndexState(
            manifest=data["manifest"],
            papers={p["paper_id"]: Paper.from_dict(p) for p in data["papers"]},
            chunks=[Chunk(**c) for c in data["chunks"]],
        )

    def check_compatible(self) -> None:
        """Raise IndexMismatchError if the index was built with other embedding/chunking settings."""
        built = self.state.manifest.get("fingerprint")
        wanted = self.settings.index_fingerprint()
        if built and built != wanted:
            diff = ", ".join(f"{k}: index has {built.get(k)!r}, settings ask for {wanted[k]!r}"
                             for k in wanted if built.get(k) != wanted[k])
            raise IndexMismatchError(
                f"the index in {self.dir} was built with other settings ({diff}). Rebuild it with "
                f"`assistant ingest --rebuild` (or point ASSISTANT_INDEX_DIR at a new folder).")

    def _commit(self, state: IndexState) -> None:
        """Write the new state atomically: readers see the old index or the new one, never half."""
        self.dir.mkdir(parents=True, exist_ok=True)
        payload = {"manifest": state.manifest, "papers": [p.to_dict() for p in state.papers.values()],
                   "chunks": [c.__dict__ for c in state.chunks]}
        _atomic_write(self.store_path, json.dumps(payload, ensure_ascii=False))
        _atomic_write(self.dir / "manifest.json", json.dumps(state.manifest, indent=2))
        self.state = state

    # ---- Chroma ----------------------------------------------------------------------------
    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    @property
    def collection_name(self) -> str:
        return f"{self.settings.chroma.collection}-{self.settings.index_key()}"

    @property
    def collection(self):
        with self._lock:  # concurrent first questions (UI queue) must not open Chroma twice
            if self._collection is None:
                client = self._client or chroma_client(self.settings, self.dir)
                self._collection = client.get_or_create_collection(self.collection_name, metadata={"hnsw:space": "cosine"})
            return self._collection

    def dense_query(self, vector, n: int, paper_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """Nearest committed chunks to a query vector: [(chunk_id, cosine similarity)]."""
        committed = {c.chunk_id for c in self.state.chunks}
        if not committed:
            return []
        where = {"paper_id": {"$in": paper_ids}} if paper_ids is not None else None
        if paper_ids is not None and not paper_ids:
            return []
        result = self.collection.query(query_embeddings=[list(map(float, vector))], n_results=min(n, len(committed)),
                                       where=where, include=["distances"])
        return [(cid, 1.0 - dist) for cid, dist in zip(result["ids"][0], result["distances"][0]) if cid in committed]

    # ---- ingest ------------------------------------------------------------------------------
    def ingest(self, paths: list[Path], rebuild: bool = False) -> IngestSummary:
        """Read files, merge their papers into the index, embed only new chunks, then commit."""
        started = time.perf_counter()
        if not rebuild:
            self.check_compatible()
        parsed = [paper for path in paths for paper in load_file(path)]  # raises before any write
        unique, merged_within = merge(parsed)
        state = IndexState() if rebuild else _copy_state(self.state)
        by_key = {normalise(p.abstract): p for p in state.papers.values()}
        new_papers, merged_existing = [], 0
        for paper in unique:
            key = normalise(paper.abstract)
            if key in by_key:
                before = len(by_key[key].sources)
                merge_into(by_key[key], paper)
                merged_existing += len(by_key[key].sources) > before
            else:
                by_key[key] = paper
                state.papers[paper.paper_id] = paper
                new_papers.append(paper)
        new_chunks = [c for p in new_papers for c in chunk_paper(p, self.settings.chunk.size, self.settings.chunk.overlap)]
        embedded = self._embed_missing(new_chunks)
        state.chunks.extend(new_chunks)
        state.manifest = self._manifest(state, paths)
        self._commit(state)
        return IngestSummary(files=len(paths), entries=len(parsed), papers=len(unique), new_papers=len(new_papers),
                             duplicates_merged=merged_within + merged_existing, chunks_embedded=embedded,
                             total_papers=len(state.papers), seconds=time.perf_counter() - started)

    def _embed_missing(self, chunks: list[Chunk]) -> int:
        """Embed and add the chunks Chroma does not hold yet; returns how many were embedded."""
        if not chunks:
            return 0
        present = set(self.collection.get(ids=[c.chunk_id for c in chunks], include=[])["ids"])
        todo = [c for c in chunks if c.chunk_id not in present]
        from tqdm import tqdm

        batch = self.settings.embedding.batch_size
        with tqdm(total=len(todo), desc="embedding chunks", unit="chunk", disable=not self.settings.progress or not todo,
                  file=sys.stderr) as bar:
            for start in range(0, len(todo), batch):
                part = todo[start: start + batch]
                vectors = self.embedder.embed([c.text for c in part])
                self.collection.upsert(ids=[c.chunk_id for c in part], embeddings=[list(map(float, v)) for v in vectors],
                                       documents=[c.text for c in part],
                                       metadatas=[{"paper_id": c.paper_id, "position": c.position} for c in part])
                bar.update(len(part))
        return len(todo)

    def _manifest(self, state: IndexState, paths: list[Path]) -> dict:
        previous = self.state.manifest if state.manifest else {}
        dimension = previous.get("dimension")
        if dimension is None and state.chunks:
            dimension = self.embedder.dimension
        files = dict(previous.get("files", {}))
        for path in paths:
            files[Path(path).name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
        return {"version": STORE_VERSION, "fingerprint": self.settings.index_fingerprint(), "dimension": dimension,
                "collection": self.collection_name, "papers": len(state.papers), "chunks": len(state.chunks),
                "corpus_fingerprint": corpus_fingerprint(state.papers), "files": files,
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _copy_state(state: IndexState) -> IndexState:
    return IndexState(manifest=dict(state.manifest),
                      papers={pid: Paper.from_dict(p.to_dict()) for pid, p in state.papers.items()},
                      chunks=list(state.chunks))


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def chroma_client(settings: Settings, index_dir: Path):
    """A Chroma client: HTTP when a server is configured, else embedded in the index folder."""
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    config = ChromaConfig(anonymized_telemetry=False)
    if settings.chroma.host:
        return chromadb.HttpClient(host=settings.chroma.host, port=settings.chroma.port, settings=config)
    (index_dir / "chroma").mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=config)
