"""Retrieval: rank fusion and filters as pure steps, then real searches over the seed index (embedded and server Chroma)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.api import Assistant
from assistant.config import Settings
from assistant.records import Paper, Source
from assistant.retrieve import Filters, rrf

STABLE_SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"
QUERIES = [
    ("How does Stable-SPAM stabilise 4-bit training?", STABLE_SPAM_TITLE),
    (
        "backdoor attack on face recognition via makeup transfer",
        "MakeupAttack: Feature Space Black-box Backdoor Attack on Face Recognition via Makeup Transfer",
    ),
    (
        "hallucination benchmark for tool-augmented language models",
        "ToolBeHonest: A Multi-level Hallucination Diagnostic Benchmark for Tool-Augmented Large Language Models",
    ),
    (
        "integrating gene regulatory networks into single-cell RNA foundation models",
        "GRNFormer: A Biologically-Guided Framework for Integrating Gene Regulatory Networks into RNA Foundation Models",
    ),
    (
        "is oracle pruning with minimal train loss really the best pruning criterion",
        "Is Oracle Pruning the True Oracle?",
    ),
    (
        "vision transformer with bi-level routing attention",
        "BiFormer: Vision Transformer with Bi-Level Routing Attention",
    ),
    (
        "reducing all-to-all communication in mixture-of-experts by collaborative experts",  # untitled, from listing 003
        "Mixture-of-experts (MoE) architectures could achieve impressive computational efficiency with expert…",
    ),
]
QUERY_IDS = [title.split(":")[0][:24] for _, title in QUERIES]


# ---- pure steps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rankings, k, expected",
    [
        ([["a", "b"], ["b"]], 60, {"a": 1 / 61, "b": 1 / 62 + 1 / 61}),
        ([["a", "b", "c"]], 0, {"a": 1.0, "b": 1 / 2, "c": 1 / 3}),
        ([["x", "y"], ["y", "x"]], 60, {"x": 1 / 61 + 1 / 62, "y": 1 / 62 + 1 / 61}),
        ([["a"], []], 60, {"a": 1 / 61}),
        ([[], []], 60, {}),
        ([], 60, {}),
    ],
    ids=[
        "docstring-example",
        "k0-is-plain-reciprocal-rank",
        "swapped-orders-tie",
        "one-empty-ranking",
        "both-empty",
        "no-rankings",
    ],
)
def test_rrf__sums_reciprocal_ranks(rankings, k, expected):
    scores = rrf(rankings, k=k)
    assert scores == pytest.approx(expected) and set(scores) == set(expected)


@pytest.mark.parametrize(
    "rankings, weights, expected",
    [
        ([["a"], ["b"]], [0.5, 1.0], {"a": 0.5 / 61, "b": 1 / 61}),
        ([["a", "b"], ["b", "a"]], [0.7, 1.0], {"a": 0.7 / 61 + 1 / 62, "b": 0.7 / 62 + 1 / 61}),
        ([["a"], ["b"]], [0.0, 1.0], {"a": 0.0, "b": 1 / 61}),
        ([["a"], ["b"]], None, {"a": 1 / 61, "b": 1 / 61}),
    ],
    ids=["docstring-example", "lighter-first-ranking-loses-the-tie", "zero-weight", "no-weights-means-ones"],
)
def test_rrf__weights_scale_each_rankings_share(rankings, weights, expected):
    scores = rrf(rankings, k=60, weights=weights)
    assert scores == pytest.approx(expected) and set(scores) == set(expected)


def test_rrf__weights_must_match_the_rankings():
    with pytest.raises(ValueError):
        rrf([["a"], ["b"]], weights=[1.0])


def test_rrf__item_in_both_rankings_beats_items_in_one():
    scores = rrf([["a", "b", "c"], ["c", "d"]], k=60)
    assert max(scores, key=scores.get) == "c"


def paper(listings=("001_b720bd91aaceb19e.txt",), year=None, authors=(), organisation=None) -> Paper:
    return Paper(
        paper_id="p0",
        title="T",
        abstract="A",
        year=year,
        authors=list(authors),
        organisation=organisation,
        sources=[Source(listing=name, position=0) for name in listings],
    )


@pytest.mark.parametrize(
    "filters, candidate, accepted",
    [
        (Filters(), paper(), True),
        (Filters(listing="001"), paper(), True),
        (Filters(listing="001_b720"), paper(), True),
        (Filters(listing="003"), paper(), False),
        (Filters(listing="003"), paper(listings=("000_53dcfdf69b90de57.txt", "003_6d6de5551029f48b.txt")), True),
        (Filters(year=2024), paper(year=2024), True),
        (Filters(year=2024), paper(year=2023), False),
        (Filters(year=2024), paper(year=None), False),
        (Filters(year_from=2020, year_to=2023), paper(year=2020), True),
        (Filters(year_from=2020, year_to=2023), paper(year=2023), True),
        (Filters(year_from=2020, year_to=2023), paper(year=2024), False),
        (Filters(year_from=2020, year_to=2023), paper(year=2019), False),
        (Filters(year_from=2020), paper(year=None), False),
        (Filters(year_to=2020), paper(year=None), False),
        (Filters(author="tianlong"), paper(authors=["Tianlong Chen"]), True),
        (Filters(author="CHEN"), paper(authors=["Ann Lee", "Tianlong Chen"]), True),
        (Filters(author="wang"), paper(authors=["Tianlong Chen"]), False),
        (Filters(author="westlake"), paper(organisation="Westlake-University Westlake University"), True),
        (Filters(author="westlake"), paper(), False),
        (Filters(listing="001", year=2024, author="lee"), paper(year=2024, authors=["Ann Lee"]), True),
        (Filters(listing="001", year=2024, author="lee"), paper(year=2023, authors=["Ann Lee"]), False),
    ],
    ids=[
        "no-filter",
        "listing-prefix",
        "listing-longer-substring",
        "other-listing",
        "second-source-listing",
        "year",
        "other-year",
        "no-year",
        "range-start",
        "range-end",
        "after-range",
        "before-range",
        "from-without-year",
        "to-without-year",
        "author-lowercase",
        "author-uppercase-surname",
        "other-author",
        "organisation",
        "no-organisation",
        "all-three",
        "all-three-wrong-year",
    ],
)
def test_filters_accepts(filters, candidate, accepted):
    assert filters.accepts(candidate) is accepted


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ({}, Filters()),
        ({"listing": "003", "year": 2024}, Filters(listing="003", year=2024)),
        ({"year_from": 2020, "year_to": 2021, "author": "x"}, Filters(year_from=2020, year_to=2021, author="x")),
    ],
)
def test_filters_of__builds_from_a_dict(value, expected):
    assert Filters.of(value) == expected


def test_filters_of__passes_a_filters_object_through():
    filters = Filters(year=2020)
    assert Filters.of(filters) is filters


def test_filters_of__rejects_unknown_keys_naming_them():
    with pytest.raises(ValueError, match=r"unknown filter\(s\): topic, venue; use listing, year"):
        Filters.of({"year": 2024, "venue": "ICLR", "topic": "x"})


# ---- the embedded seed index --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("query, title", QUERIES, ids=QUERY_IDS)
def test_search_hybrid__distinctive_query_finds_its_paper_first(seed_assistant, query, title):
    assert seed_assistant.search(query, k=5)[0].title == title


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "bm25"])
@pytest.mark.parametrize("query, title", QUERIES, ids=QUERY_IDS)
def test_search_single_retriever__distinctive_query_finds_its_paper_in_top_5(seed_assistant, query, title, mode):
    assert title in [hit.title for hit in seed_assistant.search(query, k=5, mode=mode)]


@pytest.mark.parametrize("weight, same_as", [(0.0, "bm25"), (1000.0, "dense")], ids=["bm25-alone", "dense-dominates"])
def test_search__dense_weight_moves_the_hybrid_ranking_toward_one_retriever(
    seed_assistant, monkeypatch, weight, same_as
):
    query = "pruning large language models for efficient inference"
    monkeypatch.setattr(seed_assistant.index.settings.retrieval, "dense_weight", weight)
    hybrid = [hit.paper_id for hit in seed_assistant.search(query, k=5, mode="hybrid")]
    assert hybrid == [hit.paper_id for hit in seed_assistant.search(query, k=5, mode=same_as)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search__one_hit_per_paper_ranked_by_descending_score(seed_assistant, mode):
    hits = seed_assistant.search("pruning large language models for efficient inference", k=10, mode=mode)
    assert len(hits) == 10
    assert [h.rank for h in hits] == list(range(1, 11))
    assert len({h.paper_id for h in hits}) == 10
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    papers = seed_assistant.index.state.papers
    for hit in hits:
        assert (hit.title, hit.abstract) == (papers[hit.paper_id].title, papers[hit.paper_id].abstract)
        assert hit.chunk_text.startswith(hit.title + "\n\n")
        assert set(hit.metadata) >= {"listings", "year", "authors", "organisation", "venue", "code_links"}
    found_by = [(h.dense_similarity is not None, h.bm25_score is not None) for h in hits]
    if mode == "dense":
        assert set(found_by) == {(True, False)} and all(0 < h.dense_similarity <= 1 for h in hits)
    elif mode == "bm25":
        assert set(found_by) == {(False, True)} and all(h.bm25_score > 0 for h in hits)
    else:
        assert found_by[0] == (True, True) and all(any(pair) for pair in found_by)


@pytest.mark.slow
def test_search__k_beyond_the_index_returns_every_paper_once(seed_assistant):
    hits = seed_assistant.search("training", k=500)
    assert len(hits) == len({h.paper_id for h in hits}) == 218


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize(
    "filters, holds",
    [
        ({"listing": "003"}, lambda h: any(name.startswith("003_") for name in h.metadata["listings"])),
        ({"year": 2024}, lambda h: h.metadata["year"] == 2024),
        ({"author": "tianlong"}, lambda h: "Tianlong Chen" in h.metadata["authors"]),
        (Filters(year_from=2020, year_to=2022), lambda h: 2020 <= h.metadata["year"] <= 2022),
    ],
    ids=["listing-003", "year-2024", "author-tianlong", "years-2020-2022"],
)
def test_search__filters_restrict_every_hit(seed_assistant, filters, holds, mode):
    hits = seed_assistant.search(
        "learning models for backdoor attacks, pruning and reasoning", k=8, filters=filters, mode=mode
    )
    assert hits and all(holds(h) for h in hits)


@pytest.mark.slow
def test_search__filter_on_author_page_finds_stable_spam(seed_assistant):
    hits = seed_assistant.search("4-bit training", k=3, filters={"author": "tianlong"})
    assert hits[0].title == STABLE_SPAM_TITLE


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search__filter_matching_no_paper_gives_no_hits(seed_assistant, mode):
    assert seed_assistant.search("pruning", k=5, filters={"year": 1990}, mode=mode) == []


@pytest.mark.slow
@pytest.mark.parametrize("query", ["the of and", "xyzzyqwerty"])
def test_search_bm25__query_without_indexed_words_gives_no_hits(seed_assistant, query):
    assert seed_assistant.search(query, k=5, mode="bm25") == []
    assert len(seed_assistant.search(query, k=5, mode="hybrid")) == 5  # dense still answers


@pytest.mark.slow
@pytest.mark.parametrize("query", ["", "   \n"])
def test_search__empty_query_is_refused(seed_assistant, query):
    with pytest.raises(ValueError, match="empty"):
        seed_assistant.search(query)


@pytest.mark.slow
def test_search__unknown_filter_is_refused(seed_assistant):
    with pytest.raises(ValueError, match="unknown filter"):
        seed_assistant.search("pruning", filters={"venue": "ICLR"})


@pytest.mark.slow
def test_cli_search__json_lists_k_hits_with_metadata(fresh_index_copy, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "--index-dir",
            str(fresh_index_copy),
            "search",
            QUERIES[0][0],
            "--k",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list) and len(hits) == 3
    assert all({"paper_id", "title", "abstract", "score", "metadata"} <= set(hit) for hit in hits)
    assert [hit["rank"] for hit in hits] == [1, 2, 3]
    assert hits[0]["title"] == STABLE_SPAM_TITLE
    assert hits[0]["metadata"]["code_links"] == ["https://github.com/TianjinYellow/StableSPAM.git"]


# ---- a real Chroma server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_settings(chroma_server) -> Settings:
    host, port = chroma_server
    return Settings(chroma={"host": host, "port": port, "collection": "papers-test"})


@pytest.fixture(scope="module")
def server_assistant(server_settings, embedder, tmp_path_factory) -> Assistant:
    """The seed index built into the Chroma server; only store.json lives in the index folder."""
    return Assistant(
        index_dir=tmp_path_factory.mktemp("server-index") / "index", settings=server_settings, embedder=embedder
    )


@pytest.mark.slow
def test_server__seed_index_lives_in_the_server_collection(server_assistant, chroma_server):
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    host, port = chroma_server
    client = chromadb.HttpClient(host=host, port=port, settings=ChromaConfig(anonymized_telemetry=False))
    assert len(server_assistant.papers()) == 218
    assert client.get_collection(server_assistant.index.collection_name).count() == len(
        server_assistant.index.state.chunks
    )
    assert server_assistant.index.collection_name.startswith("papers-test-")
    assert not (server_assistant.settings.index_dir / "chroma").exists()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize("query, title", QUERIES, ids=QUERY_IDS)
def test_server__same_first_hit_as_the_embedded_index(server_assistant, seed_assistant, query, title, mode):
    server_hit = server_assistant.search(query, k=5, mode=mode)[0]
    assert server_hit.paper_id == seed_assistant.search(query, k=5, mode=mode)[0].paper_id
    if mode == "hybrid":
        assert server_hit.title == title


@pytest.mark.slow
def test_server__filters_apply_to_dense_search(server_assistant):
    hits = server_assistant.search("large language models", k=5, mode="dense", filters={"author": "tianlong"})
    assert len(hits) == 5 and all(h.metadata["authors"] == ["Tianlong Chen"] for h in hits)


def test_settings__chroma_host_and_port_from_conventional_env_vars(monkeypatch):
    monkeypatch.setenv("CHROMA_HOST", "chroma.internal")
    monkeypatch.setenv("CHROMA_PORT", "8123")
    assert (Settings().chroma.host, Settings().chroma.port) == ("chroma.internal", 8123)


def test_settings__assistant_chroma_vars_win_over_conventional_ones(monkeypatch):
    monkeypatch.setenv("CHROMA_HOST", "chroma.internal")
    monkeypatch.setenv("CHROMA_PORT", "8123")
    monkeypatch.setenv("ASSISTANT_CHROMA__HOST", "mine.internal")
    assert (Settings().chroma.host, Settings().chroma.port) == ("mine.internal", 8000)


def test_settings__no_chroma_env_means_embedded_chroma():
    assert Settings().chroma.host is None


@pytest.mark.slow
def test_server__reached_through_chroma_host_and_port_env_vars(server_assistant, chroma_server, embedder, monkeypatch):
    host, port = chroma_server
    monkeypatch.setenv("CHROMA_HOST", host)
    monkeypatch.setenv("CHROMA_PORT", str(port))
    monkeypatch.setenv("ASSISTANT_CHROMA__COLLECTION", "papers-test")
    assistant = Assistant(index_dir=server_assistant.settings.index_dir, embedder=embedder)
    assert (assistant.settings.chroma.host, assistant.settings.chroma.port) == (host, port)
    # dense search can only find it through the server: the index folder holds no vectors
    assert assistant.search(QUERIES[0][0], k=3, mode="dense")[0].title == STABLE_SPAM_TITLE


# ---- the store's lexical index (SQLite FTS5), without Chroma or a model ---------------------------


@pytest.mark.parametrize(
    "query, terms, match",
    [
        (
            "How does Stable-SPAM stabilise 4-bit training?",
            ["how", "does", "stable", "spam", "stabilise", "bit", "training"],
            '"how" OR "does" OR "stable" OR "spam" OR "stabilise" OR "bit" OR "training"',
        ),
        ("the of and", [], ""),
        ('a "quoted" word, a word', ["quoted", "word"], '"quoted" OR "word"'),
    ],
    ids=["question", "stop-words-only", "quotes-and-repeats"],
)
def test_query_terms_and_fts_query(query, terms, match):
    from assistant.store import fts_query, query_terms

    assert query_terms(query) == terms and fts_query(terms) == match


def small_store(tmp_path, texts: list[str]):
    from assistant.records import Chunk
    from assistant.store import PaperStore

    store = PaperStore(tmp_path / "store.sqlite")
    with store.transaction():
        for i, text in enumerate(texts):
            store.put_paper(
                Paper(
                    paper_id=f"p{i}",
                    title=f"T{i}",
                    abstract=text,
                    year=2020 + i % 2,
                    sources=[Source(listing=f"{i % 2:03d}_x.txt", position=i)],
                    authors=[f"Ann Lee{i}"],
                ),
                key=f"k{i}",
            )
            store.put_chunks([Chunk(chunk_id=f"p{i}:0", paper_id=f"p{i}", text=text, position=0)])
    return store


def test_store_lexical__ranks_by_bm25_within_filters(tmp_path):
    store = small_store(
        tmp_path, ["wombat census drones", "wombat burrows", "sourdough starter", "wombat wombat wombat"]
    )
    assert [cid for cid, _, _ in store.lexical("wombats", 10)] == ["p3:0", "p1:0", "p0:0"]  # shorter text first
    sql, params = store.filter_sql(year=2021)
    assert [cid for cid, _, _ in store.lexical("wombats", 10, sql, params)] == ["p3:0", "p1:0"]
    sql, params = store.filter_sql(listing="000", author="lee2")
    assert [cid for cid, _, _ in store.lexical("sourdough wombat", 10, sql, params)] == ["p2:0"]


def test_store_lexical__terms_in_too_many_chunks_are_left_out_of_a_large_index(tmp_path, monkeypatch):
    import assistant.store

    store = small_store(tmp_path, ["common rare", "common", "common", "common other"])
    monkeypatch.setattr(assistant.store, "MAX_POSTINGS", 2)
    assert store.selective_terms(["common", "rare", "other", "absent"]) == ["rare", "other", "absent"]
    assert [cid for cid, _, _ in store.lexical("common rare", 10)] == ["p0:0"]
    assert store.lexical("common", 10) == []  # dense retrieval answers such queries


@pytest.mark.parametrize(
    "meta, where, expected",
    [
        ({"year": 2024}, {"year": 2024}, True),
        ({"year": 2023}, {"year": 2024}, False),
        ({"paper_id": "p1"}, {"year": 2024}, False),
        ({"year": 2021}, {"$and": [{"year": {"$gte": 2020}}, {"year": {"$lte": 2022}}]}, True),
        ({"year": 2023}, {"$and": [{"year": {"$gte": 2020}}, {"year": {"$lte": 2022}}]}, False),
        ({"year": 2019}, {"year": {"$gte": 2020}}, False),
        ({"paper_id": "p1"}, {"paper_id": {"$in": ["p0", "p1"]}}, True),
    ],
    ids=["equal", "other-year", "no-year", "in-range", "after-range", "before-from", "id-in-list"],
)
def test_matches_where__evaluates_chroma_conditions_on_metadata(meta, where, expected):
    from assistant.retrieve import matches_where

    assert matches_where(meta, where) is expected
