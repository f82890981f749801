"""The index: chunking papers, embedding chunks into Chroma, and the paper store beside it.

State lives in one folder: `store.sqlite` (papers, sources, chunks, the lexical index and the
manifest; see `store`), `manifest.json` (a readable copy of the manifest, rewritten after each
commit), `.writer.lock` (held by whoever writes) and `chroma/` (embedded Chroma), unless a
Chroma server is configured. The store's commit is the commit point: Chroma may hold chunks a
killed ingest added before committing; queries ignore them and a later ingest reuses them
without embedding again. Writers (ingest, remove) take an inter-process lock on the folder and
run in one SQLite transaction, so concurrent writers queue instead of losing papers. Readers
query the store each time and so see every commit. Out of scope: ranking (see `retrieve`).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

from .chunking import chunk_paper  # noqa: F401  (part of this module's API)
from .config import Settings
from .corpus import normalise
from .embeddings import make_embedder
from .errors import IndexMismatchError
from .records import Chunk, IngestSummary, Paper
from .store import LEGACY_STORE, REBUILD_HINT, STORE_VERSION, PaperStore, id_hash, norm_key

STORE_FILE = "store.sqlite"


def corpus_fingerprint(paper_ids) -> str:
    """A hash of a set of paper ids, kept up to date by XOR as papers come and go.

    Example: corpus_fingerprint([]) == "0000000000000000"
    """
    value = 0
    for paper_id in paper_ids:
        value ^= id_hash(paper_id)
    return f"{value:016x}"


class PapersView(Mapping):
    """The committed papers as a read-only mapping read through to the store (no copy in memory)."""

    def __init__(self, store: PaperStore):
        self.store = store

    def __getitem__(self, paper_id: str) -> Paper:
        paper = self.store.paper(paper_id) if self.store.exists else None
        if paper is None:
            raise KeyError(paper_id)
        return paper

    def __iter__(self):
        return iter(self.store.paper_ids())

    def __len__(self) -> int:
        return self.store.count_papers()

    def __contains__(self, paper_id) -> bool:
        return self.get(paper_id) is not None

    def values(self):
        return self.store.all_papers()

    def items(self):
        return [(p.paper_id, p) for p in self.store.all_papers()]


class IndexView:
    """What earlier versions held in memory (`index.state`), read through to the store on each access."""

    def __init__(self, index: PaperIndex):
        self._index = index

    @property
    def manifest(self) -> dict:
        return self._index.manifest

    @property
    def papers(self) -> PapersView:
        return PapersView(self._index.store)

    @property
    def chunks(self) -> list[Chunk]:
        return self._index.store.all_chunks()


class PaperIndex:
    """One index folder: the SQLite paper store plus its Chroma collection."""

    def __init__(self, index_dir: Path, settings: Settings, embedder=None, chroma_client=None):
        self.dir = Path(index_dir)
        self.settings = settings
        self._embedder = embedder
        self._client = chroma_client
        self._collection = None
        self._lock = threading.RLock()
        self._papers_cache: tuple[int, list[Paper]] | None = None
        self.store = PaperStore(self.dir / STORE_FILE)
        self._open()

    # ---- state on disk -------------------------------------------------------------------
    @property
    def state(self) -> IndexView:
        return IndexView(self)

    @property
    def manifest(self) -> dict:
        return self.store.manifest()

    def _open(self) -> None:
        if (self.dir / LEGACY_STORE).exists():
            from .migrate import migrate_json_store

            migrate_json_store(self)
        version = self.store.meta("version") if self.store.exists else None
        if version not in (None, STORE_VERSION):
            raise IndexMismatchError(
                f"the index in {self.dir} was written by another version of assistant "
                f"(store version {version}, expected {STORE_VERSION}); {REBUILD_HINT}"
            )

    def check_compatible(self) -> None:
        """Raise IndexMismatchError if the index was built with other embedding/chunking settings."""
        built = self.manifest.get("fingerprint")
        wanted = self.settings.index_fingerprint()
        if built and built != wanted:
            diff = ", ".join(
                f"{k}: index has {built.get(k)!r}, settings ask for {wanted[k]!r}"
                for k in wanted
                if built.get(k) != wanted[k]
            )
            raise IndexMismatchError(
                f"the index in {self.dir} was built with other settings ({diff}). Rebuild it with "
                f"`assistant ingest --rebuild` (or point ASSISTANT_INDEX_DIR at a new folder)."
            )

    def count_papers(self) -> int:
        return self.store.count_papers()

    def papers(self) -> list[Paper]:
        """Every committed paper in listing order; cached until the next commit by anyone."""
        generation = self.store.generation()
        if self._papers_cache is None or self._papers_cache[0] != generation:
            ordered = sorted(
                self.store.all_papers(),
                key=lambda p: (p.sources[0].listing, p.sources[0].position) if p.sources else ("", 0),
            )
            self._papers_cache = (generation, ordered)
        return list(self._papers_cache[1])

    def paper(self, paper_id: str) -> Paper:
        return self.state.papers[paper_id]

    @contextmanager
    def writer(self):
        """Exclusive right to write this index: a thread lock plus a lock file other processes honour."""
        from filelock import FileLock

        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock, FileLock(str(self.dir / ".writer.lock")):
            yield

    def write_manifest_copy(self) -> None:
        """Rewrite manifest.json, the human-readable copy of the committed manifest."""
        _atomic_write(self.dir / "manifest.json", json.dumps(self.manifest, indent=2))

    def manifest_fields(self, files: dict | None = None) -> None:
        """Set the manifest entries every commit refreshes (inside the writer's transaction)."""
        store = self.store
        store.set_meta("version", STORE_VERSION)
        store.set_meta("fingerprint", self.settings.index_fingerprint())
        if store.meta("dimension") is None and store.count_chunks():
            store.set_meta("dimension", self.embedder.dimension)
        store.set_meta("collection", self.collection_name)
        store.set_meta("files", {**store.meta("files", {}), **(files or {})})
        store.set_meta("updated", time.strftime("%Y-%m-%dT%H:%M:%S%z"))

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
    def chroma_collection(self):
        """The Chroma collection holding this index's chunk vectors."""
        with self._lock:  # concurrent first questions (UI queue) must not open Chroma twice
            if self._collection is None:
                client = self._client or chroma_client(self.settings, self.dir)
                self._client = client
                self._collection = client.get_or_create_collection(
                    self.collection_name, metadata={"hnsw:space": "cosine"}
                )
            return self._collection

    @property
    def max_batch(self) -> int:
        """Most records per Chroma call (the client's limit, and SQL variable limits for gets)."""
        _ = self.chroma_collection  # opens the client, whose limit is read next
        return max(1, min(self._client.get_max_batch_size(), 5000))

    def dense_query(
        self, vector, n: int, where: dict | None = None, accept=None, fetch: int | None = None
    ) -> list[tuple[str, str, float]]:
        """Nearest committed chunks to a query vector: [(chunk_id, paper_id, cosine similarity)].

        `accept(metadata)` filters the `fetch` nearest (default n) after the query, instead of `where` inside it.
        """
        total = self.store.count_chunks()
        if not total or n <= 0:
            return []
        result = self.chroma_collection.query(
            query_embeddings=[list(map(float, vector))],
            n_results=min((fetch or n) + 16, total),
            where=where,
            include=["distances", "metadatas"],
        )
        ids = result["ids"][0]
        committed = set(self.store.chunk_texts(ids))  # skips chunks of an uncommitted or failed ingest
        found = [
            (cid, meta["paper_id"], 1.0 - dist)
            for cid, meta, dist in zip(ids, result["metadatas"][0], result["distances"][0])
            if cid in committed and (accept is None or accept(meta))
        ]
        return found[:n]

    def forget_chunks(self, chunk_ids: list[str]) -> None:
        """Delete chunks from Chroma (after the store committed their removal)."""
        for start in range(0, len(chunk_ids), self.max_batch):
            self.chroma_collection.delete(ids=chunk_ids[start : start + self.max_batch])

    # ---- writing ---------------------------------------------------------------------------
    def ingest(self, paths: list[Path], rebuild: bool = False, strict: bool = False) -> IngestSummary:
        """Stream files into the index in one transaction, embedding only chunks Chroma lacks."""
        from .ingest import IngestRun

        return IngestRun(self, [Path(p) for p in paths], rebuild=rebuild, strict=strict).run()

    def remove(self, paper_ids: list[str] | None = None, source: str | Path | None = None) -> int:
        """Take papers out (by id, or every paper whose only source is a listing file); returns how many."""
        removed, dropped = 0, []
        with self.writer():
            with self.store.transaction():
                for paper_id in dict.fromkeys(paper_ids or []):
                    if self.store.paper(paper_id) is not None:
                        dropped += self.store.delete_paper(paper_id)
                        removed += 1
                if source is not None:
                    n, chunks = self._remove_source(Path(source).name)
                    removed, dropped = removed + n, dropped + chunks
                self.manifest_fields()
            self.forget_chunks(dropped)
            self.write_manifest_copy()
        return removed

    def _remove_source(self, listing: str) -> tuple[int, list[str]]:
        removed, dropped = 0, []
        for paper_id in self.store.paper_ids_in_listing(listing):
            paper = self.store.paper(paper_id)
            assert paper is not None, "a sources row exists only with its paper (put_paper, delete_paper)"
            paper.sources = [s for s in paper.sources if s.listing != listing]
            if paper.sources:
                self.store.put_paper(paper, norm_key(normalise(paper.abstract)))
            else:
                dropped += self.store.delete_paper(paper_id)
                removed += 1
        files = self.store.meta("files", {})
        files.pop(listing, None)
        self.store.set_meta("files", files)
        return removed, dropped


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
