"""Writing papers into an index: a streaming ingest in one transaction, embedding in a worker thread.

Identity: a paper whose id is already indexed and that carries an external identifier (DOI,
arXiv id, PMID, a record id) replaces the stored one (its chunks are re-made, sources kept);
a paper without identifiers whose normalised abstract is already indexed is merged into that
paper as another source. Everything else is new. Out of scope: reading formats (see
`formats`), the store's tables (see `store`), queries (see `retrieve`), old `store.json` indexes (see `migrate`).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from .chunking import chunk_paper
from .corpus import describe_merge, merge_into, normalise
from .embeddings import embed_with_progress
from .errors import AssistantError, CorpusError
from .formats import SUFFIXES, Problems, iter_papers, refuse_if_strict, streams_as_jsonl
from .records import Chunk, IngestSummary, Paper
from .store import norm_key

INGEST_BATCH = 128  # papers per round of chunking, embedding and upserting: bounds memory, paces the pipeline
GET_BATCH = 1000  # ids per Chroma get: far below SQLite's variable limit
MERGES_REPORTED = 50  # merged copies named in the summary; duplicates_merged counts them all


def has_identifier(paper: Paper) -> bool:
    """Whether a paper carries an identifier of its own (not one derived from its abstract)."""
    return bool(paper.external_id or any(getattr(paper, name, None) for name in ("doi", "arxiv_id", "pmid", "key")))


def chroma_metadata(chunk: Chunk, year: int | None) -> dict:
    """What Chroma keeps beside a chunk vector: enough to filter by paper and year."""
    meta = {"paper_id": chunk.paper_id, "position": chunk.position}
    return meta if year is None else {**meta, "year": year}


class IngestRun:
    """One ingest of some files into an index: all of it commits, or none of it."""

    def __init__(self, index, paths: list[Path], rebuild: bool = False, strict: bool = False):
        self.index, self.store, self.paths, self.rebuild = index, index.store, paths, rebuild
        self.summary = IngestSummary(files=len(paths))
        self.strict, self.problems = strict, Problems()  # records the readers skipped or repaired
        self.touched: set[str] = set()
        self.dropped: list[str] = []  # chunk ids to delete from Chroma once the store has committed
        self.upserted: list[str] = []  # chunk ids this run wrote to Chroma (deleted again if it fails)
        self.dimension: int | None = None
        self.by_citation: dict[tuple, Paper] = {}  # (title, first author, year) -> first paper of this ingest
        self.kept: list[Paper] | None = None  # a rebuild without files re-makes the papers the index holds
        self.kept_files: dict = {}
        self.years: dict[str, int | None] = {}  # paper id -> year as now placed, read when a batch is upserted
        self.stop = threading.Event()  # set when the ingest ends early: the worker stops after its current batch

    def run(self) -> IngestSummary:
        started = time.perf_counter()
        for path in self.paths:
            if not path.is_file():
                raise CorpusError(path, "no such file")
            if SUFFIXES.get(path.suffix.lower()) is None:
                next(iter_papers(path), None)  # raises the format's own "unsupported file type" error
        with self.index.writer():
            if self.rebuild and not self.paths and not self.store.count_papers():
                raise AssistantError(f"nothing to rebuild: the index in {self.index.dir} holds no papers; give files")
            if not self.rebuild:
                self.index.check_compatible()
            try:
                with self.store.transaction():
                    self._write()
            except BaseException:
                self._clean_failed()
                raise
            still_held = self.store.chunk_texts(self.dropped)  # a later record may have re-made a dropped chunk
            self.index.forget_chunks([c for c in dict.fromkeys(self.dropped) if c not in still_held])
            self.index.write_manifest_copy()
            self.store.checkpoint()
        self.summary.papers, self.summary.total_papers = len(self.touched), self.store.count_papers()
        self.problems.fill(self.summary)
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _write(self) -> None:
        if self.rebuild and not self.paths:
            self.kept, self.kept_files = self.index.papers(), self.store.meta("files", {})
        if self.rebuild:
            self._clear()
        settings = self.index.settings
        from tqdm import tqdm

        papers, total = self._papers()
        with tqdm(
            total=total,
            desc="ingesting papers",
            unit="paper",
            disable=not settings.progress,
            file=sys.stderr,
            smoothing=0.1,
        ) as bar:
            self._pipeline(papers, bar, bulk=total >= INGEST_BATCH)
        if self.rebuild:
            self.dropped += [
                cid
                for (cid,) in self.store.db.execute(
                    "SELECT chunk_id FROM old_chunks WHERE chunk_id NOT IN (SELECT chunk_id FROM chunks)"
                )
            ]
        if self.dimension and self.store.meta("dimension") is None:
            self.store.set_meta("dimension", self.dimension)
        self.index.manifest_fields(files={**self.kept_files, **{p.name: file_hash(p) for p in self.paths}})

    def _papers(self):
        """All incoming papers as one stream, and their number when cheap to know (for the ETA)."""
        if self.kept is not None:  # re-chunk and re-embed what the index held (new embedder or chunking)
            return iter(self.kept), len(self.kept)
        streams: list[Iterable[Paper]] = []
        total = 0
        for path in self.paths:
            papers = refuse_if_strict(path, iter_papers(path, self.problems), self.problems, self.strict)
            if streams_as_jsonl(path):  # JSON Lines, the arXiv snapshot included, is streamed
                streams.append(papers)
                total += count_lines(path)
            else:  # small formats are read whole
                whole = list(papers)
                streams.append(whole)
                total += len(whole)
        return (paper for stream in streams for paper in stream), total

    def _clear(self) -> None:
        db = self.store.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS old_chunks(chunk_id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM old_chunks")
        db.execute("INSERT INTO old_chunks SELECT chunk_id FROM chunks")
        self.store.clear()

    def _pipeline(self, papers: Iterable[Paper], bar, bulk: bool = True) -> None:
        """Read, place and store each batch while the previous one is embedded in a worker thread.

        The embedder (OpenVINO, ONNX Runtime, an HTTP server) releases the GIL, so reading, chunking and
        SQLite writes overlap with embedding; vectors are upserted into Chroma in batch order, here.
        """
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-embed")
        pending: Embedding | None = None
        embedder = self.index.embedder  # read here: the writer holds the index's lock
        try:
            pool.submit(warm, embedder, bulk)  # the model loads while the first batch is read and chunked
            while batch := list(islice(papers, INGEST_BATCH)):
                progress = BatchProgress(bar, len(batch))  # moves as the batch's chunks are embedded
                todo = self._add(batch, pending)
                # the caller's context goes with the batch: Gradio finds its progress bar through context variables
                context = contextvars.copy_context()
                work = pool.submit(context.run, embed, embedder, todo, progress, self.stop) if todo else None
                job = Embedding(todo, progress, work)
                if pending is not None:
                    self._upsert(pending)
                pending = job
            if pending is not None:
                self._upsert(pending)
        finally:
            self.stop.set()  # on an error or Ctrl-C, a running batch ends at its next step, unwaited for
            pool.shutdown(wait=False, cancel_futures=True)

    def _add(self, batch: list[Paper], pending: Embedding | None = None) -> list[Chunk]:
        """Place a batch of incoming papers and write their rows; returns the chunks to embed.

        `pending` is the batch being embedded: its chunks are not in Chroma yet.
        """
        size, overlap = self.index.settings.chunk.size, self.index.settings.chunk.overlap
        to_embed, regrouped = [], []
        for incoming in batch:
            self.summary.entries += 1
            paper, old, key = self._place(incoming)
            if paper.paper_id not in self.touched:
                self._note_likely_duplicate(paper)
            self.touched.add(paper.paper_id)
            self.years[paper.paper_id] = paper.year
            if old is not None and paper.to_dict() == old.to_dict():
                continue
            self.store.put_paper(paper, key)
            if old is None or (old.title, old.abstract) != (paper.title, paper.abstract):
                chunks = chunk_paper(paper, size, overlap)
                self.dropped += self.store.delete_chunks(paper.paper_id) if old is not None else []
                self.store.put_chunks(chunks)
                to_embed += chunks
            elif old.year != paper.year:
                regrouped.append(paper.paper_id)
        waiting = {} if pending is None else {c.chunk_id: c.text for c in pending.chunks}
        self._update_years(regrouped, set(waiting))  # pending chunks take the year when they are upserted
        # A copy may re-make a chunk. One waiting with the same text is not embedded twice; one waiting with
        # another text is embedded again whatever Chroma holds now (the waiting text will overwrite it first).
        fresh = list({c.chunk_id: c for c in to_embed}.values())
        remade = [c for c in fresh if c.chunk_id in waiting and waiting[c.chunk_id] != c.text]
        return self._missing([c for c in fresh if c.chunk_id not in waiting]) + remade

    def _place(self, incoming: Paper) -> tuple[Paper, Paper | None, str]:
        """Decide what an incoming paper becomes: (paper to store, the stored one it updates, its abstract key).

        A second record of this run with the same identifier, or one whose abstract is already stored
        under no conflicting identifier, is a copy: it is merged into the stored paper. A record whose
        identifier is stored from an earlier ingest replaces that version (an edited record).
        """
        key = norm_key(normalise(incoming.abstract))
        old = self.store.paper(incoming.paper_id)
        if old is not None and (incoming.paper_id in self.touched or not has_identifier(incoming)):
            return self._merged(incoming, old)  # the same paper twice in this ingest, or the same abstract again
        if old is None:
            same = self.store.paper_with_key(key)
            if same is not None and not conflicting_identifiers(same, incoming):
                return self._merged(incoming, same)
            self.summary.new_papers += 1
            return incoming, None, key
        listings = {s.listing for s in incoming.sources}
        if not listings & {s.listing for s in old.sources}:
            self._report_merge(incoming, old)  # a copy in another file, not a re-ingest of the same file
        incoming.sources = [s for s in old.sources if s.listing not in listings] + incoming.sources
        return incoming, old, key

    def _merged(self, incoming: Paper, old: Paper) -> tuple[Paper, Paper, str]:
        paper = Paper.from_dict(old.to_dict())
        merge_into(paper, incoming)
        if len(paper.sources) > len(old.sources):
            self._report_merge(incoming, old)
        return paper, old, norm_key(normalise(paper.abstract))

    def _note_likely_duplicate(self, paper: Paper) -> None:
        """Name two papers of this ingest that share title, first author and year but were kept apart."""
        citation = citation_key(paper)
        if citation is None:
            return
        first = self.by_citation.setdefault(citation, paper)
        if first.paper_id != paper.paper_id:
            self.summary.likely_duplicates.append(
                f"{describe_source(paper)} and {describe_source(first)}: same title, first author and year, "
                f"but {why_apart(paper, first)}; kept as two papers"
            )

    def _report_merge(self, copy: Paper, kept: Paper) -> None:
        self.summary.duplicates_merged += 1
        if len(self.summary.merged) < MERGES_REPORTED:
            self.summary.merged.append(describe_merge(copy, kept))

    def _missing(self, chunks: list[Chunk]) -> list[Chunk]:
        """The chunks Chroma does not hold with the same text (a killed run's work is kept)."""
        if not chunks:
            return []
        collection = self.index.chroma_collection
        todo = []
        for start in range(0, len(chunks), GET_BATCH):
            part = chunks[start : start + GET_BATCH]
            got = collection.get(ids=[c.chunk_id for c in part], include=["documents"])
            held = dict(zip(got["ids"], got["documents"]))
            todo += [c for c in part if held.get(c.chunk_id) != c.text]
        return todo

    def _upsert(self, job: Embedding) -> None:
        """Wait for a batch's vectors and upsert them into Chroma."""
        if job.vectors is not None:
            vectors, todo = job.vectors.result(), job.chunks
            self.dimension = int(len(vectors[0]))
            collection, step = self.index.chroma_collection, self.index.max_batch
            for start in range(0, len(todo), step):
                part = todo[start : start + step]
                collection.upsert(
                    ids=[c.chunk_id for c in part],
                    documents=[c.text for c in part],
                    embeddings=[list(map(float, v)) for v in vectors[start : start + step]],
                    metadatas=[chroma_metadata(c, self.years.get(c.paper_id)) for c in part],
                )
                self.upserted += [c.chunk_id for c in part]
            self.summary.chunks_embedded += len(todo)
        job.progress.finish()

    def _update_years(self, paper_ids: list[str], waiting: set[str]) -> None:
        chunks = [c for pid in paper_ids for c in self.store.chunks_of(pid) if c.chunk_id not in waiting]
        if chunks:
            self.index.chroma_collection.update(
                ids=[c.chunk_id for c in chunks],
                metadatas=[chroma_metadata(c, self.years[c.paper_id]) for c in chunks],
            )

    def _clean_failed(self) -> None:
        """After a rollback, delete from Chroma what this run added and the store does not hold."""
        try:
            committed = self.store.chunk_texts(self.upserted)
            self.index.forget_chunks([c for c in self.upserted if c not in committed])
        except Exception:  # cleaning is best effort: leftovers are ignored by queries and reused later
            pass


@dataclass
class Embedding:
    """A batch's chunks on their way into Chroma: their vectors are being computed in the worker thread."""

    chunks: list[Chunk]
    progress: BatchProgress
    vectors: Future | None = field(default=None)


class Stopped(Exception):
    """The ingest ended early; the worker drops the batch it was embedding."""


def embed(embedder, chunks: list[Chunk], progress: BatchProgress, stop: threading.Event):
    """The chunks' vectors, moving the batch's share of the bar as they are computed (runs in the worker)."""

    def report(done: int) -> None:
        if stop.is_set():
            raise Stopped
        progress(done / len(chunks))

    return embed_with_progress(embedder, [c.text for c in chunks], report)


def warm(embedder, bulk: bool = True) -> None:
    """Load an embedder's model now (where it loads lazily), so the first batch does not wait for it.

    `bulk`: also prepare what many texts at once need (an ingest with at least one full batch)."""
    load = getattr(embedder, "warm", None)
    if load is not None:
        with contextlib.suppress(Exception):  # the first real embedding reports the problem, with its own message
            load(bulk=bulk)


class BatchProgress:
    """Moves a papers bar through one batch as its chunks are embedded; `finish` completes the batch.

    Example: BatchProgress(bar, 512)(0.5) moves the bar by 256 papers.
    """

    _lock = threading.Lock()  # the worker moves one batch's share while the ingest finishes the previous one

    def __init__(self, bar, papers: int):
        self.bar, self.papers, self.shown = bar, papers, 0

    def __call__(self, fraction: float) -> None:
        with self._lock:
            target = int(self.papers * min(fraction, 1.0))
            self.bar.update(target - self.shown)
            self.shown = target

    def finish(self) -> None:
        self(1.0)


def conflicting_identifiers(a: Paper, b: Paper) -> bool:
    """Whether two records name different DOIs, arXiv ids or PubMed ids (so they are two papers).

    Example: a preprint with arXiv id 2101.1 and its copy with no identifier do not conflict.
    """
    return any(getattr(a, n) and getattr(b, n) and getattr(a, n) != getattr(b, n) for n in ("doi", "arxiv_id", "pmid"))


def citation_key(paper: Paper) -> tuple | None:
    """(normalised title, first author's surname, year): what likely duplicates share; None if incomplete."""
    if paper.title_derived or not paper.authors or not paper.year:
        return None
    surname = normalise(paper.authors[0].split(",")[0] if "," in paper.authors[0] else paper.authors[0].split()[-1])
    return normalise(paper.title), surname, paper.year


def why_apart(a: Paper, b: Paper) -> str:
    for name, label in (("doi", "DOIs"), ("arxiv_id", "arXiv ids"), ("pmid", "PubMed ids")):
        if getattr(a, name) and getattr(b, name) and getattr(a, name) != getattr(b, name):
            return f"different {label} ({getattr(a, name)}, {getattr(b, name)})"
    return "different abstracts"


def describe_source(paper: Paper) -> str:
    source = paper.sources[-1] if paper.sources else None
    if source is None:
        return paper.paper_id
    return source.listing + (f" line {source.line}" if source.line else f" #{source.position + 1}")


def count_lines(path: Path) -> int:
    """Number of lines in a file, read in 1 MB blocks."""
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
