"""The paper store: papers, their sources, chunks, a lexical (FTS5 BM25) index and the manifest, in SQLite.

One database file in WAL mode (`store.sqlite` in the index folder). Writers run inside one
`transaction()` (BEGIN IMMEDIATE ... COMMIT): its commit is the commit point of an ingest, so a
killed writer leaves the previous content. Readers query the database on every call and so
always see the latest commit; `generation()` is a cheap counter for callers that cache. The
lexical index is an FTS5 table kept in step with `chunks` by triggers (Porter stemming;
English stop words are dropped from queries). Out of scope: vectors (Chroma, see `index`),
identity rules (see `index`), ranking fusion (see `retrieve`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from .records import Chunk, Paper

STORE_VERSION = 3
LEGACY_STORE = "store.json"  # version 2: one JSON file, migrated on open
REBUILD_HINT = "rebuild it with `assistant ingest --rebuild FILES` or delete the folder"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS papers(ord INTEGER PRIMARY KEY AUTOINCREMENT, paper_id TEXT UNIQUE NOT NULL,
    norm_key TEXT NOT NULL, year INTEGER, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS papers_norm_key ON papers(norm_key);
CREATE INDEX IF NOT EXISTS papers_year ON papers(year);
CREATE TABLE IF NOT EXISTS sources(paper_id TEXT NOT NULL, listing TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sources_listing ON sources(listing);
CREATE INDEX IF NOT EXISTS sources_paper ON sources(paper_id);
CREATE TABLE IF NOT EXISTS listings(name TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE IF NOT EXISTS people USING fts5(names, tokenize='trigram');
CREATE TABLE IF NOT EXISTS chunks(rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, paper_id TEXT NOT NULL,
    position INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_paper ON chunks(paper_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(text, content='chunks', content_rowid='rowid',
    tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunk_fts(rowid, text) VALUES (new.rowid, new.text); END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunk_fts(chunk_fts, rowid, text) VALUES ('delete', old.rowid, old.text); END;
"""
BATCH = 900  # ids per IN (...) list: well inside SQLite's variable limit
# A query term found in more chunks than this is left out of the lexical query once the index is
# larger: its IDF is low, and scoring its postings would make a query cost grow with the index.
MAX_POSTINGS = 5_000
TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")
# bm25s's English stop words (bm25s.stopwords.STOPWORDS_EN), copied: importing bm25s costs 1.5 s of scipy.
STOPWORDS_EN = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)


def norm_key(normalised_abstract: str) -> str:
    """The key under which copies of one abstract meet (a hash of its normalised text)."""
    return hashlib.sha1(normalised_abstract.encode()).hexdigest()[:20]


def id_hash(paper_id: str) -> int:
    return int(hashlib.sha256(paper_id.encode()).hexdigest()[:16], 16)


def query_terms(text: str) -> list[str]:
    """Lower-cased words of a query without English stop words (FTS5 stems them).

    Example: query_terms("the 4-bit training of it") == ["bit", "training"]
    """
    return list(dict.fromkeys(t for t in TOKEN_RE.findall(text.lower()) if t not in STOPWORDS_EN))


def fts_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: any of the terms, each quoted."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class PaperStore:
    """One SQLite database; a connection per thread, opened lazily."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=600, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database and truncate it, so new readers open fast."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error); bumps the generation counter."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self.set_meta("generation", self.generation() + 1)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # ---- manifest --------------------------------------------------------------------------
    def meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def manifest(self) -> dict:
        if not self.exists:
            return {}
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta") if k != "generation"}

    def generation(self) -> int:
        """A counter bumped by every commit: callers cache derived data against it."""
        return self.meta("generation", 0) if self.exists else 0

    # ---- papers ----------------------------------------------------------------------------
    def count_papers(self) -> int:
        return self.meta("papers", 0) if self.exists else 0

    def count_chunks(self) -> int:
        return self.meta("chunks", 0) if self.exists else 0

    def paper(self, paper_id: str) -> Paper | None:
        row = self.db.execute("SELECT data FROM papers WHERE paper_id = ?", (paper_id,)).fetchone()
        return Paper.from_dict(json.loads(row[0])) if row else None

    def papers_by_id(self, paper_ids: list[str]) -> dict[str, Paper]:
        found = {}
        for part in _batches(list(paper_ids)):
            sql = f"SELECT data FROM papers WHERE paper_id IN ({_marks(part)})"
            for (data,) in self.db.execute(sql, part):
                paper = Paper.from_dict(json.loads(data))
                found[paper.paper_id] = paper
        return found

    def all_papers(self) -> list[Paper]:
        if not self.exists:
            return []
        return [Paper.from_dict(json.loads(d)) for (d,) in self.db.execute("SELECT data FROM papers ORDER BY ord")]

    def paper_ids(self) -> list[str]:
        return [pid for (pid,) in self.db.execute("SELECT paper_id FROM papers ORDER BY ord")] if self.exists else []

    def paper_with_key(self, key: str) -> Paper | None:
        row = self.db.execute("SELECT data FROM papers WHERE norm_key = ? ORDER BY ord LIMIT 1", (key,)).fetchone()
        return Paper.from_dict(json.loads(row[0])) if row else None

    def put_paper(self, paper: Paper, key: str) -> None:
        """Insert or overwrite one paper and its filter rows (sources, listings, people)."""
        db = self.db
        old = db.execute("SELECT ord FROM papers WHERE paper_id = ?", (paper.paper_id,)).fetchone()
        data = json.dumps(paper.to_dict(), ensure_ascii=False)
        if old:
            db.execute(
                "UPDATE papers SET norm_key = ?, year = ?, data = ? WHERE ord = ?", (key, paper.year, data, old[0])
            )
            db.execute("DELETE FROM sources WHERE paper_id = ?", (paper.paper_id,))
            db.execute("DELETE FROM people WHERE rowid = ?", (old[0],))
            ord_ = old[0]
        else:
            ord_ = db.execute(
                "INSERT INTO papers(paper_id, norm_key, year, data) VALUES (?, ?, ?, ?)",
                (paper.paper_id, key, paper.year, data),
            ).lastrowid
            self._add_count("papers", 1)
            self._flip_fingerprint(paper.paper_id)
        listings = sorted({s.listing for s in paper.sources})
        db.executemany("INSERT INTO sources(paper_id, listing) VALUES (?, ?)", [(paper.paper_id, n) for n in listings])
        db.executemany("INSERT OR IGNORE INTO listings(name) VALUES (?)", [(n,) for n in listings])
        names = " | ".join(paper.authors + [paper.organisation or ""])
        db.execute("INSERT INTO people(rowid, names) VALUES (?, ?)", (ord_, names))

    def delete_paper(self, paper_id: str) -> list[str]:
        """Remove a paper and its chunks; returns the removed chunk ids."""
        row = self.db.execute("SELECT ord FROM papers WHERE paper_id = ?", (paper_id,)).fetchone()
        if not row:
            return []
        removed = self.delete_chunks(paper_id)
        self.db.execute("DELETE FROM people WHERE rowid = ?", (row[0],))
        self.db.execute("DELETE FROM sources WHERE paper_id = ?", (paper_id,))
        self.db.execute("DELETE FROM papers WHERE ord = ?", (row[0],))
        self._add_count("papers", -1)
        self._flip_fingerprint(paper_id)
        return removed

    def paper_ids_in_listing(self, listing: str) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT paper_id FROM sources WHERE listing = ?", (listing,))
        return [pid for (pid,) in rows]

    def _add_count(self, key: str, delta: int) -> None:
        self.set_meta(key, self.meta(key, 0) + delta)

    def _flip_fingerprint(self, paper_id: str) -> None:
        """XOR a paper id into the corpus fingerprint: a hash of the id set, updated in O(1)."""
        current = int(self.meta("corpus_fingerprint", "0" * 16), 16)
        self.set_meta("corpus_fingerprint", f"{current ^ id_hash(paper_id):016x}")

    # ---- chunks ----------------------------------------------------------------------------
    def chunks_of(self, paper_id: str) -> list[Chunk]:
        rows = self.db.execute(
            "SELECT chunk_id, paper_id, text, position FROM chunks WHERE paper_id = ? ORDER BY position", (paper_id,)
        )
        return [Chunk(*row) for row in rows]

    def all_chunks(self) -> list[Chunk]:
        if not self.exists:
            return []
        return [
            Chunk(*row)
            for row in self.db.execute("SELECT chunk_id, paper_id, text, position FROM chunks ORDER BY rowid")
        ]

    def chunk_texts(self, chunk_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in _batches(list(chunk_ids)):
            found.update(self.db.execute(f"SELECT chunk_id, text FROM chunks WHERE chunk_id IN ({_marks(part)})", part))
        return found

    def put_chunks(self, chunks: list[Chunk]) -> None:
        self.db.executemany(
            "INSERT INTO chunks(chunk_id, paper_id, position, text) VALUES (?, ?, ?, ?)",
            [(c.chunk_id, c.paper_id, c.position, c.text) for c in chunks],
        )
        self._add_count("chunks", len(chunks))

    def delete_chunks(self, paper_id: str) -> list[str]:
        ids = [cid for (cid,) in self.db.execute("SELECT chunk_id FROM chunks WHERE paper_id = ?", (paper_id,))]
        self.db.execute("DELETE FROM chunks WHERE paper_id = ?", (paper_id,))
        self._add_count("chunks", -len(ids))
        return ids

    def clear(self) -> None:
        """Delete every paper and chunk (inside a transaction: a rebuild)."""
        for table in ("papers", "sources", "listings", "people", "chunks"):
            self.db.execute(f"DELETE FROM {table}")
        for key in ("papers", "chunks"):
            self.set_meta(key, 0)
        self.set_meta("corpus_fingerprint", "0" * 16)
        self.set_meta("files", {})

    # ---- filtered and lexical queries ------------------------------------------------------
    def listing_names(self, part: str) -> list[str]:
        """Listing names containing `part` (the listings table is small: one row per file)."""
        return [n for (n,) in self.db.execute("SELECT name FROM listings WHERE instr(name, ?) > 0", (part,))]

    def filter_sql(
        self, year=None, year_from=None, year_to=None, listing=None, author=None, paper_ids=None
    ) -> tuple[str, list]:
        """A WHERE clause over `papers p` for the given filters: (sql, params); "1" when none."""
        clauses, params = [], []
        for op, value in (("=", year), (">=", year_from), ("<=", year_to)):
            if value is not None:
                clauses.append(f"p.year {op} ?")
                params.append(value)
        if listing:
            names = self.listing_names(listing)
            clauses.append(
                f"p.paper_id IN (SELECT paper_id FROM sources WHERE listing IN ({_marks(names)}))" if names else "0"
            )
            params += names
        if author:
            clauses.append("p.ord IN (SELECT rowid FROM people WHERE names LIKE ?)")
            params.append("%" + author.replace("%", "").replace("_", "") + "%")
        if paper_ids is not None:
            clauses.append("p.paper_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(paper_ids)))
        return (" AND ".join(clauses) or "1"), params

    def filtered_paper_ids(self, sql: str, params: list, limit: int) -> list[str] | None:
        """Paper ids passing a filter clause, or None when more than `limit` pass."""
        rows = self.db.execute(f"SELECT p.paper_id FROM papers p WHERE {sql} LIMIT ?", [*params, limit + 1]).fetchall()
        return None if len(rows) > limit else [pid for (pid,) in rows]

    def lexical(self, query: str, n: int, sql: str = "1", params: list | None = None) -> list[tuple[str, str, float]]:
        """The n best chunks by BM25 for a query, within a filter: [(chunk_id, paper_id, score)]."""
        terms = self.selective_terms(query_terms(query)) if self.exists else []
        if not terms:
            return []
        if sql == "1":  # FTS5 keeps only the top n while scoring: the cheapest form
            statement = (
                "SELECT c.chunk_id, c.paper_id, -f.rank FROM (SELECT rowid, rank FROM chunk_fts WHERE chunk_fts "
                "MATCH ? ORDER BY rank LIMIT ?) f JOIN chunks c ON c.rowid = f.rowid ORDER BY f.rank"
            )
            rows = self.db.execute(statement, [fts_query(terms), n])
        else:  # score the matches, then check each one's paper against the filter
            statement = (
                "SELECT c.chunk_id, c.paper_id, -f.rank FROM (SELECT rowid, rank FROM chunk_fts WHERE chunk_fts "
                f"MATCH ?) f JOIN chunks c ON c.rowid = f.rowid JOIN papers p ON p.paper_id = c.paper_id WHERE {sql} "
                "ORDER BY f.rank LIMIT ?"
            )
            rows = self.db.execute(statement, [fts_query(terms), *(params or []), n])
        return [(cid, pid, float(s)) for cid, pid, s in rows if s > 0]

    def selective_terms(self, terms: list[str]) -> list[str]:
        """The terms worth scoring: all of them in a small index, else those in at most MAX_POSTINGS chunks."""
        if self.count_chunks() <= MAX_POSTINGS:
            return terms
        if getattr(self._local, "stemmer", None) is None:
            import Stemmer

            self.db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_vocab USING fts5vocab(main, 'chunk_fts', 'row')"
            )
            self._local.stemmer = Stemmer.Stemmer("porter")  # the algorithm of FTS5's porter tokenizer
        stem = self._local.stemmer.stemWord
        frequency = {
            t: self.db.execute("SELECT doc FROM temp.chunk_vocab WHERE term = ?", (stem(t),)).fetchone() for t in terms
        }
        return [t for t in terms if (frequency[t] or (0,))[0] <= MAX_POSTINGS]


def _marks(values: list) -> str:
    return ", ".join("?" for _ in values)


def _batches(values: list, size: int = BATCH):
    for start in range(0, len(values), size):
        yield values[start : start + size]
