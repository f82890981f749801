"""Migrating a version-2 index (`store.json`) into the SQLite store, keeping Chroma's vectors.

Out of scope: writing new papers (see `ingest`), the store's tables (see `store`).
"""

from __future__ import annotations

import json

from .corpus import normalise
from .errors import IndexMismatchError
from .ingest import GET_BATCH, chroma_metadata
from .records import Chunk, Paper
from .store import LEGACY_STORE, REBUILD_HINT, STORE_VERSION, norm_key


def migrate_json_store(index) -> None:
    """Move a version-2 `store.json` into the SQLite store; Chroma's vectors are kept (years added)."""

    legacy = index.dir / LEGACY_STORE
    with index.writer():
        if not legacy.exists():  # another process migrated it while we waited
            return
        data = json.loads(legacy.read_text(encoding="utf-8"))
        manifest = data.get("manifest", {})
        if manifest.get("version") != 2:
            raise IndexMismatchError(
                f"the index in {index.dir} was written by another version of assistant "
                f"(store version {manifest.get('version')}, expected 2 or {STORE_VERSION}); {REBUILD_HINT}"
            )
        papers = [Paper.from_dict(p) for p in data["papers"]]
        chunks = [Chunk(**c) for c in data["chunks"]]
        with index.store.transaction():
            index.store.clear()
            for paper in papers:
                index.store.put_paper(paper, norm_key(normalise(paper.abstract)))
            index.store.put_chunks(chunks)
            for key in ("fingerprint", "dimension", "collection", "files"):
                index.store.set_meta(key, manifest.get(key))
            index.store.set_meta("version", STORE_VERSION)
        years = {p.paper_id: p.year for p in papers}
        dated = [c for c in chunks if years.get(c.paper_id) is not None]
        for start in range(0, len(dated), GET_BATCH):
            part = dated[start : start + GET_BATCH]
            index.chroma_collection.update(
                ids=[c.chunk_id for c in part], metadatas=[chroma_metadata(c, years[c.paper_id]) for c in part]
            )
        legacy.rename(legacy.with_name(LEGACY_STORE + ".v2-migrated"))
        index.write_manifest_copy()
