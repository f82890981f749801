"""The index on disk: the seed build, incremental ingest, settings fingerprints and a killed ingest."""

from __future__ import annotations

import json
import os
import random
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.config import SEEDS_DIR, Settings
from assistant.corpus import seed_files
from assistant.errors import IndexMismatchError
from assistant.formats import load_file
from assistant.index import chunk_paper, corpus_fingerprint
from assistant.ingest import INGEST_BATCH
from assistant.minilm import onnx_fingerprint

pytestmark = pytest.mark.slow

STABLE_SPAM_QUESTION = "How does Stable-SPAM stabilise 4-bit training?"
STABLE_SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"
SEED_CHUNKS = 219  # one abstract is long enough for two chunks

LONG_ABSTRACT = " ".join(
    f"In experiment {i}, the quokka tracker followed {i + 3} marsupials across the Rottnest dunes and logged "
    f"their burrow temperatures, foraging routes and nightly sleep patterns for season {i % 4 + 1}."
    for i in range(40)
)  # about 1,000 tokens: more than one 512-token chunk
NEW_PAPERS = [
    {"title": "Quokka Tracking at Scale", "abstract": LONG_ABSTRACT},
    {
        "title": "Sourdough Fermentation Kinetics",
        "abstract": "We measure how wild yeast and lactobacilli in sourdough starters compete for maltose, and model "
        "the rise of a loaf as a function of hydration, flour type and kitchen temperature.",
    },
    {
        "title": "Lighthouse Keepers' Logbooks as Climate Records",
        "abstract": "Nineteenth-century lighthouse logbooks record wind, fog and sea state every four hours; we digitise "
        "12,000 pages and show they reproduce reanalysis storm tracks around the North Sea.",
    },
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_seed_index__store_and_manifest_describe_218_papers(seed_index_dir, seed_assistant):
    manifest = json.loads((seed_index_dir / "manifest.json").read_text())
    assert seed_assistant.index.manifest == manifest
    assert (seed_index_dir / "store.sqlite").exists() and not (seed_index_dir / "store.json").exists()
    assert len(seed_assistant.index.state.papers) == len(seed_assistant.papers()) == manifest["papers"] == 218
    assert len(seed_assistant.index.state.chunks) == manifest["chunks"] == SEED_CHUNKS
    assert manifest["version"] == 3
    assert manifest["fingerprint"] == {
        "embedding_provider": "onnx",
        "embedding_model": "all-MiniLM-L6-v2",
        "embedding_weights": onnx_fingerprint(),
        "chunk_size": 512,
        "chunk_overlap": 32,
        "tokenizer": "cl100k_base",
    }
    assert manifest["dimension"] == 384
    assert manifest["corpus_fingerprint"] == corpus_fingerprint(seed_assistant.index.state.papers)
    assert re.fullmatch(r"[0-9a-f]{16}", manifest["corpus_fingerprint"])
    assert sorted(manifest["files"]) == [p.name for p in seed_files(SEEDS_DIR)]
    assert manifest["collection"] == f"papers-{Settings().index_key()}"


def test_seed_index__chunk_ids_number_each_papers_chunks_and_start_with_its_title(seed_assistant):
    papers = seed_assistant.index.state.papers
    per_paper: dict[str, list[int]] = {}
    for chunk in seed_assistant.index.state.chunks:
        assert chunk.chunk_id == f"{chunk.paper_id}:{chunk.position}"
        assert chunk.text.startswith(papers[chunk.paper_id].title + "\n\n")
        per_paper.setdefault(chunk.paper_id, []).append(chunk.position)
    assert sorted(per_paper) == sorted(papers)
    assert all(positions == list(range(len(positions))) for positions in per_paper.values())


def test_seed_index__chroma_holds_exactly_the_committed_chunks(seed_assistant):
    stored = seed_assistant.index.chroma_collection.get(include=["metadatas"])
    committed = {c.chunk_id: c.paper_id for c in seed_assistant.index.state.chunks}
    assert sorted(stored["ids"]) == sorted(committed)
    assert all(committed[cid] == meta["paper_id"] for cid, meta in zip(stored["ids"], stored["metadatas"]))


def test_seed_index__reopening_needs_no_embedding(seed_index_dir):
    class NoEmbedder:
        def embed(self, texts):
            raise AssertionError("reopening an index must not embed anything")

    assistant = Assistant(index_dir=seed_index_dir, embedder=NoEmbedder())
    assert len(assistant.papers()) == 218
    assert assistant.search("4-bit training", k=1, mode="bm25")[0].title == STABLE_SPAM_TITLE


def test_ingest__seed_files_again_embed_nothing(fresh_index_copy, embedder):
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    before = {pid: p.to_dict() for pid, p in assistant.index.state.papers.items()}
    summary = assistant.ingest(seed_files(SEEDS_DIR))
    assert (summary.files, summary.entries, summary.papers) == (5, 222, 218)
    assert (summary.new_papers, summary.chunks_embedded, summary.total_papers) == (0, 0, 218)
    assert {pid: p.to_dict() for pid, p in assistant.index.state.papers.items()} == before  # no source added twice
    assert len(assistant.index.state.chunks) == SEED_CHUNKS


def test_ingest__new_file_embeds_only_its_own_chunks_and_twice_adds_nothing(fresh_index_copy, embedder, tmp_path):
    path = write_jsonl(tmp_path / "three.jsonl", NEW_PAPERS)
    chunks = [c for p in load_file(path) for c in chunk_paper(p, 512, 32)]
    assert len(chunks) > 3  # the long abstract gives more than one chunk
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)

    first = assistant.ingest([path])
    assert (first.new_papers, first.chunks_embedded, first.total_papers) == (3, len(chunks), 221)
    assert [c.chunk_id for c in assistant.index.state.chunks[SEED_CHUNKS:]] == [c.chunk_id for c in chunks]
    assert assistant.search("sourdough starter yeast maltose", k=1)[0].title == "Sourdough Fermentation Kinetics"

    second = assistant.ingest([path])
    assert (second.new_papers, second.chunks_embedded, second.total_papers, second.duplicates_merged) == (0, 0, 221, 0)
    reopened = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    assert len(reopened.papers()) == 221
    assert len(reopened.index.state.chunks) == SEED_CHUNKS + len(chunks) == reopened.index.chroma_collection.count()
    assert json.loads((fresh_index_copy / "manifest.json").read_text())["files"]["three.jsonl"]


def test_ingest__copy_of_a_seed_abstract_adds_a_source_not_a_paper(
    fresh_index_copy, embedder, seed_assistant, tmp_path
):
    seed = next(p for p in seed_assistant.papers() if p.title == STABLE_SPAM_TITLE)
    copy = {
        "title": "Stable SPAM (preprint)",
        "abstract": "  " + seed.abstract.upper() + " ",
        "authors": ["Ann Lee"],
        "date": "2025-02-24",
        "url": "https://example.org/stable-spam",
    }
    path = write_jsonl(tmp_path / "repeat.jsonl", [copy, NEW_PAPERS[1]])
    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    summary = assistant.ingest([path])
    assert (summary.new_papers, summary.duplicates_merged, summary.total_papers) == (1, 1, 219)
    assert summary.chunks_embedded == 1  # the sourdough paper only
    paper = assistant.paper(seed.paper_id)
    assert [(s.listing[:3], s.position) for s in paper.sources] == [("000", 8), ("rep", 0)]
    assert paper.title == STABLE_SPAM_TITLE and paper.abstract == seed.abstract  # the first copy's text is kept
    assert (paper.authors, paper.date, paper.url) == (
        ["Tianlong Chen", "Ann Lee"],
        "2025-02-24",
        "https://example.org/stable-spam",
    )
    reopened = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    assert reopened.paper(seed.paper_id).listings == [paper.sources[0].listing, "repeat.jsonl"]


@pytest.mark.parametrize(
    "settings, named",
    [
        (
            {"embedding": {"model": "other-model"}},
            "embedding_model: index has 'all-MiniLM-L6-v2', settings ask for 'other-model'",
        ),
        (
            {"embedding": {"provider": "local"}},
            f"embedding_weights: index has {onnx_fingerprint()!r}, settings ask for 'sentence-transformers'",
        ),
        ({"chunk": {"size": 256}}, "chunk_size: index has 512, settings ask for 256"),
        ({"chunk": {"overlap": 0}}, "chunk_overlap: index has 32, settings ask for 0"),
    ],
)
def test_open__index_built_with_other_settings_is_refused_with_the_rebuild_command(
    seed_index_dir, embedder, settings, named
):
    with pytest.raises(IndexMismatchError) as caught:
        Assistant(index_dir=seed_index_dir, settings=Settings(**settings), embedder=embedder)
    assert "`assistant ingest --rebuild`" in str(caught.value) and named in str(caught.value)


def test_open__batch_retrieval_and_progress_settings_do_not_shape_the_index(seed_index_dir, embedder):
    settings = Settings(embedding={"batch_size": 8}, retrieval={"k": 2, "mode": "bm25"}, progress=True)
    assert len(Assistant(index_dir=seed_index_dir, settings=settings, embedder=embedder).papers()) == 218


def test_cli_ingest_rebuild__replaces_an_index_built_with_other_settings(fresh_index_copy, tmp_path):
    path = write_jsonl(tmp_path / "three.jsonl", NEW_PAPERS)
    env = dict(os.environ, ASSISTANT_CHUNK__SIZE="256")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "--index-dir",
            str(fresh_index_copy),
            "ingest",
            "--rebuild",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["new_papers"], summary["total_papers"]) == (3, 3)
    manifest = json.loads((fresh_index_copy / "manifest.json").read_text())
    assert (manifest["fingerprint"]["chunk_size"], manifest["papers"], sorted(manifest["files"])) == (
        256,
        3,
        ["three.jsonl"],
    )
    with pytest.raises(IndexMismatchError):
        Assistant(index_dir=fresh_index_copy)  # default settings (512 tokens) now mismatch


def test_cli_ingest_rebuild_without_files__re_embeds_the_papers_the_index_holds(fresh_index_copy, tmp_path):
    before = Assistant(index_dir=fresh_index_copy, corpus=None).papers()
    files_before = json.loads((fresh_index_copy / "manifest.json").read_text())["files"]
    command = [sys.executable, "-m", "assistant.cli", "--index-dir", str(fresh_index_copy), "ingest"]
    env = dict(os.environ, ASSISTANT_CHUNK__SIZE="128", ASSISTANT_PROGRESS="false")
    refused = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert refused.returncode == 2 and "needs files to read" in refused.stderr
    empty = [sys.executable, "-m", "assistant.cli", "--index-dir", str(tmp_path / "empty"), "ingest", "--rebuild"]
    nothing = subprocess.run(empty, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert nothing.returncode == 2 and "nothing to rebuild" in nothing.stderr and "Traceback" not in nothing.stderr
    result = subprocess.run(
        [*command, "--rebuild", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["total_papers"]) == (0, 218)
    manifest = json.loads((fresh_index_copy / "manifest.json").read_text())
    assert manifest["fingerprint"]["chunk_size"] == 128 and manifest["files"] == files_before
    after = Assistant(index_dir=fresh_index_copy, settings=Settings(chunk={"size": 128}), corpus=None)
    assert [p.to_dict() for p in after.papers()] == [p.to_dict() for p in before]
    assert manifest["chunks"] > 219  # 128-token chunks: more of them than the 219 of 512 tokens
    assert after.search("Stable-SPAM 4-bit training", k=1)[0].title.startswith("Stable-SPAM")


# ---- a killed ingest -------------------------------------------------------------------------

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "sparse",
    "dense",
    "kernel",
    "tensor",
    "graph",
    "node",
    "edge",
    "latent",
    "prior",
    "posterior",
    "sample",
    "batch",
    "token",
    "vector",
    "matrix",
    "gradient",
    "loss",
    "margin",
    "robust",
    "noisy",
    "label",
    "signal",
    "filter",
    "layer",
    "block",
    "head",
    "query",
    "key",
    "value",
    "memory",
    "cache",
    "router",
    "expert",
    "agent",
    "policy",
    "reward",
    "planner",
    "critic",
    "actor",
    "world",
    "model",
    "dataset",
    "corpus",
    "benchmark",
    "metric",
    "score",
    "ranking",
    "retrieval",
    "index",
    "shard",
    "replica",
    "cluster",
    "server",
    "client",
    "protocol",
    "budget",
    "schedule",
]
PROGRESS_RE = re.compile(r"ingesting papers:\s+\d+%.*\|\s*(\d+)/")
KILLED_INGEST = """
import sys
from assistant.api import Assistant
from assistant.config import Settings
Assistant(index_dir=sys.argv[1], corpus=None, settings=Settings(progress=True)).ingest([sys.argv[2]])
"""


def synthetic_papers(n: int, words: int = 60) -> list[dict]:
    rng = random.Random(1234)
    return [
        {"title": f"Synthetic study {i}", "abstract": f"Study {i}: " + " ".join(rng.choices(WORDS, k=words)) + "."}
        for i in range(n)
    ]


def wait_for_progress(process: subprocess.Popen, timeout: float, beyond: int = 0) -> str:
    """Read the child's stderr until tqdm shows more than `beyond` papers; returns what was read.

    The bar moves per embedded batch, before Chroma holds the vectors. Batch k+1 is embedded while batch k
    is upserted, so `beyond=2 * INGEST_BATCH` (the third batch is being embedded) means the first batch's
    vectors are in Chroma.
    """
    seen, deadline = b"", time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=1.0):
                continue
            data = os.read(process.stderr.fileno(), 65536)
            if not data:
                break
            seen += data
            text = seen.decode(errors="replace")
            shown = [int(m.group(1)) for part in re.split(r"[\r\n]", text) if (m := PROGRESS_RE.search(part))]
            if shown and max(shown) > beyond:
                return text
    process.kill()
    pytest.fail(
        f"no 'ingesting papers' progress with a finished batch (exit {process.poll()}):\n"
        f"{seen.decode(errors='replace')[-3000:]}"
    )


def test_ingest__killed_midway_leaves_the_old_index_and_resumes_without_re_embedding(
    fresh_index_copy, embedder, tmp_path
):
    big = write_jsonl(tmp_path / "big.jsonl", synthetic_papers(3000))
    env = dict(os.environ, ASSISTANT_PROGRESS="true")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_INGEST, str(fresh_index_copy), str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        wait_for_progress(process, timeout=240, beyond=2 * INGEST_BATCH)
        assert process.poll() is None, "the ingest finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    assistant = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    assert len(assistant.papers()) == 218
    assert len(assistant.index.state.chunks) == SEED_CHUNKS
    hits = assistant.search(STABLE_SPAM_QUESTION, k=5)
    assert hits[0].title == STABLE_SPAM_TITLE and len(hits) == 5
    assert all(not h.title.startswith("Synthetic study") for h in assistant.search("sparse kernel tensor graph", k=10))
    left_over = (
        assistant.index.chroma_collection.count() - SEED_CHUNKS
    )  # chunks the killed run added but never committed
    assert left_over >= Settings().embedding.batch_size

    summary = assistant.ingest([big])
    new_chunks = len(assistant.index.state.chunks) - SEED_CHUNKS
    assert (summary.new_papers, summary.total_papers) == (3000, 218 + 3000)
    assert summary.chunks_embedded == new_chunks - left_over < new_chunks
    assert assistant.index.chroma_collection.count() == len(assistant.index.state.chunks)
    assert len(Assistant(index_dir=fresh_index_copy, embedder=embedder).papers()) == 3218


# ---- the SQLite store: migration, writers, identity, removal, scale ----------------------------

HASHED_INGEST = """
import sys
from assistant.api import Assistant
from assistant.config import Settings
from assistant.embeddings import HashingEmbedder
Assistant(index_dir=sys.argv[1], corpus=None, embedder=HashingEmbedder(),
          settings=Settings(progress=True)).ingest([sys.argv[2]])
"""


def hashed(index_dir: Path) -> Assistant:
    from assistant.embeddings import HashingEmbedder

    return Assistant(index_dir=index_dir, corpus=None, embedder=HashingEmbedder())


def consistent(assistant: Assistant) -> tuple[int, int]:
    """Check the store's own invariants; returns (papers, chunks)."""
    db = assistant.index.store.db
    papers = db.execute("SELECT count(*) FROM papers").fetchone()[0]
    chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert (papers, chunks) == (assistant.index.manifest["papers"], assistant.index.manifest["chunks"])
    assert (
        db.execute("SELECT count(*) FROM papers WHERE paper_id NOT IN (SELECT paper_id FROM chunks)").fetchone()[0] == 0
    )
    assert (
        db.execute("SELECT count(*) FROM chunks WHERE paper_id NOT IN (SELECT paper_id FROM papers)").fetchone()[0] == 0
    )
    assert db.execute("SELECT count(*) FROM chunk_fts").fetchone()[0] == chunks
    return papers, chunks


def write_v2_store(index_dir: Path, assistant: Assistant, version: int = 2) -> None:
    """Write what version 2 kept (store.json) from an index, and drop the SQLite store."""
    manifest = {**assistant.index.manifest, "version": version}
    payload = {
        "manifest": manifest,
        "papers": [p.to_dict() for p in assistant.papers()],
        "chunks": [c.__dict__ for c in assistant.index.state.chunks],
    }
    assistant.index.store.close()
    for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm"):
        (index_dir / name).unlink(missing_ok=True)
    (index_dir / "store.json").write_text(json.dumps(payload))


def test_open__version_2_store_json_is_migrated_without_embedding(fresh_index_copy, embedder):
    write_v2_store(fresh_index_copy, Assistant(index_dir=fresh_index_copy, embedder=embedder))

    class NoEmbedder:
        def embed(self, texts):
            raise AssertionError("migrating must not embed anything")

    migrated = Assistant(index_dir=fresh_index_copy, embedder=NoEmbedder())
    assert not (fresh_index_copy / "store.json").exists() and (fresh_index_copy / "store.json.v2-migrated").exists()
    assert consistent(migrated) == (218, SEED_CHUNKS)
    assert migrated.search("4-bit training", k=1, mode="bm25")[0].title == STABLE_SPAM_TITLE
    dense = Assistant(index_dir=fresh_index_copy, embedder=embedder).search(
        "pruning", k=5, mode="dense", filters={"year": 2024}
    )
    assert len(dense) == 5 and {h.metadata["year"] for h in dense} == {2024}  # the year went into Chroma's metadata


def test_open__older_store_json_is_refused_with_the_rebuild_command(fresh_index_copy, embedder):
    write_v2_store(fresh_index_copy, Assistant(index_dir=fresh_index_copy, embedder=embedder), version=1)
    with pytest.raises(IndexMismatchError, match=r"store version 1.*`assistant ingest --rebuild FILES`"):
        Assistant(index_dir=fresh_index_copy, embedder=embedder)


def test_writers__two_cli_ingests_and_a_long_lived_assistant_lose_no_paper(fresh_index_copy, embedder, tmp_path):
    files = [
        write_jsonl(
            tmp_path / f"writer{w}.jsonl",
            [
                {"title": f"Writer {w} study {i}", "abstract": p["abstract"].replace("Study", f"Writer{w}")}
                for i, p in enumerate(synthetic_papers(40 * (w + 1))[40 * w :])
            ],
        )
        for w in range(3)
    ]
    long_lived = Assistant(index_dir=fresh_index_copy, embedder=embedder)
    assert len(long_lived.papers()) == 218
    cli = [
        [sys.executable, "-m", "assistant.cli", "--quiet", "--index-dir", str(fresh_index_copy), "ingest", str(f)]
        for f in files[:2]
    ]
    processes = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path) for cmd in cli
    ]
    summary = long_lived.ingest([files[2]])
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert summary.new_papers == 40
    for view in (long_lived, Assistant(index_dir=fresh_index_copy, embedder=embedder)):
        assert len(view.papers()) == 218 + 120
        assert consistent(view) == (338, view.index.chroma_collection.count())
        for w in range(3):
            assert view.search(f"Writer{w} kernel", k=3, mode="bm25")[0].title.startswith(f"Writer {w} study")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ingest__killed_at_a_random_point_leaves_old_or_new_index_and_resumes(tmp_path, seed):
    index_dir = tmp_path / "index"
    first = write_jsonl(tmp_path / "first.jsonl", synthetic_papers(50))
    big = write_jsonl(
        tmp_path / "big.jsonl",
        [
            {"title": f"Big {i}", "abstract": p["abstract"].replace("Study", "Big")}
            for i, p in enumerate(synthetic_papers(6000))
        ],
    )
    hashed(index_dir).ingest([first])
    process = subprocess.Popen(
        [sys.executable, "-c", HASHED_INGEST, str(index_dir), str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_for_progress(process, timeout=240) if seed != 1 else None  # seed 1: killed before any progress
        time.sleep(random.Random(seed).uniform(0.0, 4.0))
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()

    assistant = hashed(index_dir)
    papers, chunks = consistent(assistant)
    assert papers in (50, 6050)  # the old index, or the new one if the kill came after the commit
    held = assistant.index.chroma_collection.count()
    assert held >= chunks
    summary = assistant.ingest([big])
    assert consistent(assistant) == (6050, 6050) and summary.total_papers == 6050
    assert summary.chunks_embedded == 6050 - held  # what the killed run put into Chroma is not embedded again
    assert assistant.search("Big kernel tensor", k=5, mode="bm25")


def test_identity__record_with_known_id_replaces_the_paper_and_its_chunks(tmp_path, embedder):
    index_dir = tmp_path / "index"
    old = {"doi": "10.1234/quokka", "title": "Quokka Tracking", "abstract": NEW_PAPERS[0]["abstract"][:400]}
    new = {
        "doi": "10.1234/quokka",
        "title": "Quokka Tracking, revised",
        "abstract": "We revise the wombat census with thermal drones flying over the Rottnest dunes at night.",
    }
    assistant = Assistant(index_dir=index_dir, corpus=None, embedder=embedder)
    assistant.ingest([write_jsonl(tmp_path / "a.jsonl", [old, NEW_PAPERS[1]])])
    paper_id = next(p.paper_id for p in assistant.papers() if p.doi == "10.1234/quokka")
    summary = assistant.ingest([write_jsonl(tmp_path / "b.jsonl", [new])])
    assert (summary.new_papers, summary.chunks_embedded, summary.total_papers) == (0, 1, 2)
    paper = assistant.paper(paper_id)
    assert (paper.title, paper.listings) == ("Quokka Tracking, revised", ["a.jsonl", "b.jsonl"])
    chunks = assistant.index.store.chunks_of(paper_id)
    assert [c.text for c in chunks] == [f"{new['title']}\n\n{new['abstract']}"]
    held = assistant.index.chroma_collection.get(where={"paper_id": paper_id}, include=["documents"])
    assert held["documents"] == [chunks[0].text]
    assert assistant.search("wombat thermal drones", k=1, mode="bm25")[0].paper_id == paper_id
    assert assistant.search("marsupials burrow", k=5, mode="bm25") == []  # the old text left the lexical index
    again = assistant.ingest([tmp_path / "b.jsonl"])
    assert (again.new_papers, again.chunks_embedded) == (0, 0)


def test_remove__by_id_and_by_source_takes_chunks_out_of_chroma_and_bm25(tmp_path, embedder):
    index_dir = tmp_path / "index"
    assistant = Assistant(index_dir=index_dir, corpus=None, embedder=embedder)
    assistant.ingest([write_jsonl(tmp_path / "one.jsonl", NEW_PAPERS)])
    assistant.ingest([write_jsonl(tmp_path / "two.jsonl", [NEW_PAPERS[1]])])  # sourdough: in both files
    sourdough = next(p.paper_id for p in assistant.papers() if p.title.startswith("Sourdough"))
    lighthouse = next(p.paper_id for p in assistant.papers() if p.title.startswith("Lighthouse"))
    assert assistant.remove([lighthouse, "no-such-id"]) == 1
    assert assistant.search("lighthouse logbooks fog", k=3, mode="bm25") == []
    assert not assistant.index.chroma_collection.get(where={"paper_id": lighthouse})["ids"]

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "--index-dir",
            str(index_dir),
            "remove",
            "--source",
            str(tmp_path / "one.jsonl"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip() == "removed: 1 papers", result.stderr
    assert [(p.paper_id, p.listings) for p in assistant.papers()] == [(sourdough, ["two.jsonl"])]
    assert consistent(assistant) == (1, 1) == (1, assistant.index.chroma_collection.count())
    assert assistant.search("sourdough starter", k=3)[0].paper_id == sourdough


@pytest.mark.slow
def test_ingest__one_file_of_many_records_in_batches_within_chroma_limits(tmp_path):
    """One 100k-record file (the old code failed above ~32k ids with `too many SQL variables`)."""
    path = write_jsonl(tmp_path / "many.jsonl", synthetic_papers(100_000, words=30))
    assistant = hashed(tmp_path / "index")
    summary = assistant.ingest([path])
    assert (summary.entries, summary.new_papers, summary.total_papers) == (100_000, 100_000, 100_000)
    assert consistent(assistant) == (100_000, 100_000) == (100_000, assistant.index.chroma_collection.count())
    assert assistant.search("Study 99999", k=1, mode="bm25")[0].title == "Synthetic study 99999"


def test_ingest__a_copy_in_the_next_batch_is_merged_while_the_first_is_still_being_embedded(tmp_path):
    """Batch k+1 is read while batch k is embedded: a copy of one of its papers is merged, not embedded again."""
    records = synthetic_papers(INGEST_BATCH + 1)
    records[-1] = dict(records[0])  # the same record again, in the second batch
    assistant = hashed(tmp_path / "index")
    summary = assistant.ingest([write_jsonl(tmp_path / "copies.jsonl", records)])
    assert (summary.entries, summary.new_papers, summary.duplicates_merged) == (INGEST_BATCH + 1, INGEST_BATCH, 1)
    assert summary.chunks_embedded == INGEST_BATCH == assistant.index.chroma_collection.count()
    assert consistent(assistant) == (INGEST_BATCH, INGEST_BATCH)


def test_ingest__embedder_failing_in_a_later_batch_leaves_the_index_as_it_was(tmp_path):
    """The worker thread's error reaches the ingest, which rolls back: no paper, no vector is left."""
    from assistant.embeddings import HashingEmbedder
    from assistant.errors import EmbeddingError

    class FailsOnThirdCall(HashingEmbedder):
        calls = 0

        def embed(self, texts):
            FailsOnThirdCall.calls += 1
            if FailsOnThirdCall.calls == 3:
                raise EmbeddingError("embeddings endpoint failed: connection reset")
            return super().embed(texts)

    first = write_jsonl(tmp_path / "first.jsonl", synthetic_papers(10))
    assistant = Assistant(index_dir=tmp_path / "index", corpus=None, embedder=FailsOnThirdCall())
    assistant.ingest([first])  # call 1
    big = write_jsonl(tmp_path / "big.jsonl", synthetic_papers(3 * INGEST_BATCH, words=20)[10:])
    with pytest.raises(EmbeddingError, match="connection reset"):
        assistant.ingest([big])  # calls 2, 3 (fails while batch 2 is embedded), ...
    assert consistent(assistant) == (10, 10)
    assert assistant.index.chroma_collection.count() == 10
    assert {p.title for p in assistant.papers()} == {f"Synthetic study {i}" for i in range(10)}


def test_ingest__the_embedding_worker_sees_the_callers_context_variables(tmp_path):
    """The UI's progress bar (Gradio's tqdm tracking) is found through context variables set by the caller."""
    import contextvars

    from assistant.embeddings import HashingEmbedder

    request = contextvars.ContextVar("request", default=None)
    seen: list = []

    class Recording(HashingEmbedder):
        def embed(self, texts):
            seen.append(request.get())
            return super().embed(texts)

    request.set("ui-event-7")
    assistant = Assistant(index_dir=tmp_path / "index", corpus=None, embedder=Recording())
    assistant.ingest([write_jsonl(tmp_path / "papers.jsonl", synthetic_papers(2 * INGEST_BATCH + 1))])
    assert seen == ["ui-event-7"] * 3


def test_ingest__a_year_filled_in_by_a_copy_in_the_next_batch_reaches_chroma(tmp_path):
    """The first copy is still being embedded when its copy (with the year) is read: Chroma gets the year."""
    records = synthetic_papers(INGEST_BATCH + 1)
    records[0]["doi"] = "10.1000/late-year"
    records[-1] = {**records[0], "year": 2021}  # the same paper, in the second batch, now with its year
    assistant = hashed(tmp_path / "index")
    assistant.ingest([write_jsonl(tmp_path / "papers.jsonl", records)])
    paper = next(p for p in assistant.papers() if p.doi == "10.1000/late-year")
    held = assistant.index.chroma_collection.get(ids=[f"{paper.paper_id}:0"], include=["metadatas"])
    assert paper.year == 2021 and held["metadatas"][0]["year"] == 2021
    assert [h.paper_id for h in assistant.search("Study 0:", k=3, filters={"year": 2021})] == [paper.paper_id]


def test_ingest__a_chunk_re_made_twice_across_batches_ends_with_the_stored_text(tmp_path):
    """Stored with its title; the next ingest first meets a title-less copy (a derived title), then the titled
    one in the next batch: Chroma must end with the titled text, as the store does, not the derived one."""
    titled = {**synthetic_papers(1)[0], "doi": "10.1000/twice"}
    assistant = hashed(tmp_path / "index")
    assistant.ingest([write_jsonl(tmp_path / "first.jsonl", [titled])])
    untitled = {k: v for k, v in titled.items() if k != "title"}
    others = synthetic_papers(INGEST_BATCH + 1, words=20)[1:]
    assistant.ingest([write_jsonl(tmp_path / "second.jsonl", [untitled, *others[: INGEST_BATCH - 1], titled])])
    paper = next(p for p in assistant.papers() if p.doi == "10.1000/twice")
    stored = assistant.index.store.chunk_texts([f"{paper.paper_id}:0"])
    held = assistant.index.chroma_collection.get(ids=[f"{paper.paper_id}:0"], include=["documents"])
    assert paper.title == titled["title"] and not paper.title_derived
    assert held["documents"] == [stored[f"{paper.paper_id}:0"]] and held["documents"][0].startswith(titled["title"])
