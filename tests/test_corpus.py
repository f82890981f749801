"""Parsing the bundled scraped listings into papers, paper identity, and merging copies of one paper (no model)."""

from __future__ import annotations

import copy

import pytest

from assistant.config import SEEDS_DIR
from assistant.corpus import (
    AUTHORS_RE,
    DATE_RE,
    code_links,
    derive_title,
    detect_layout,
    links_in,
    merge,
    merge_report,
    method_name,
    normalise,
    other_links,
    paper_id_for,
    paper_id_for_record,
    paper_identity,
    parse_listing,
    seed_files,
)
from assistant.formats import load_file
from assistant.records import Paper, Source

SEEDS = {path.name[:3]: path for path in seed_files(SEEDS_DIR)}


@pytest.fixture(scope="module")
def listings() -> dict:
    """Single-source papers of each seed listing, keyed by its 3-digit prefix (read-only: merge changes papers)."""
    return {prefix: load_file(path) for prefix, path in SEEDS.items()}


@pytest.fixture(scope="module")
def merged(listings):
    papers = [paper for prefix in sorted(listings) for paper in listings[prefix]]
    return merge(copy.deepcopy(papers))


def by_title(papers, start: str):
    found = [p for p in papers if p.title.startswith(start)]
    assert len(found) == 1, f"{len(found)} papers titled {start!r}…"
    return found[0]


@pytest.mark.parametrize(
    "prefix, layout, entries",
    [
        ("000", "author", 10),
        ("001", "listing", 63),
        ("002", "listing", 66),
        ("003", "bare", 10),
        ("004", "listing", 73),
    ],
)
def test_parse_listing__finds_each_seed_files_layout_and_entry_count(prefix, layout, entries):
    found_layout, found = parse_listing(SEEDS[prefix].read_text(encoding="utf-8"))
    assert (found_layout, len(found)) == (layout, entries)


def test_merge__222_seed_entries_become_218_unique_papers(listings, merged):
    unique, copies_merged = merged
    assert sum(len(papers) for papers in listings.values()) == 222
    assert (len(unique), copies_merged) == (218, 4)
    assert len({p.paper_id for p in unique}) == 218


@pytest.mark.parametrize(
    "title_start, listings_held",
    [
        ("Symbolic Mixture-of-Experts: Adaptive Skill-based Routing", ["000", "004"]),
        ("GRNFormer: A Biologically-Guided Framework", ["000", "003"]),
        ("ToolBeHonest: A Multi-level Hallucination Diagnostic Benchmark", ["001", "002"]),
        ("Bidirectional Learning for Offline Model-based Biological Sequence Design", ["002", "004"]),
    ],
)
def test_merge__paper_in_two_listings_keeps_both_sources(merged, title_start, listings_held):
    paper = by_title(merged[0], title_start)
    assert [name[:3] for name in paper.listings] == listings_held
    assert len(paper.sources) == 2


def test_merge__only_the_four_known_papers_have_two_sources(merged):
    assert sorted(p.title.split(":")[0][:20] for p in merged[0] if len(p.sources) > 1) == [
        "Bidirectional Learni",
        "GRNFormer",
        "Symbolic Mixture-of-",
        "ToolBeHonest",
    ]


def test_merge__untitled_copy_takes_the_title_and_venue_of_the_titled_copy(listings):
    untitled = copy.deepcopy(by_title(listings["003"], "GRNFormer:"))
    titled = copy.deepcopy(by_title(listings["000"], "GRNFormer:"))
    assert untitled.title_derived and not titled.title_derived
    (paper,), copies_merged = merge([untitled, titled])  # the untitled copy comes first and is kept
    assert copies_merged == 1
    assert paper.title == titled.title and not paper.title_derived
    assert paper.venue == "arXiv.org Artificial Intelligence" and paper.authors == ["Tianlong Chen"]
    assert [s.listing[:3] for s in paper.sources] == ["003", "000"]


def test_merge__keeps_metadata_of_the_listing_that_states_it(merged):
    paper = by_title(merged[0], "ToolBeHonest:")
    assert (paper.authors_count, paper.date, paper.year) == (13, "Jun 28, 2024", 2024)


@pytest.mark.parametrize(
    "prefix, title, abstract_start",
    [
        (
            "000",
            "DANCE: DAta-Network Co-optimization for Efficient Segmentation Model Training and Inference",
            "Semantic segmentation for scene understanding is nowadays widely demanded",
        ),
        (
            "000",
            "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam",
            "This paper comprehensively evaluates several recently proposed optimizers",
        ),
        (
            "000",
            "MedHallu: A Comprehensive Benchmark for Detecting Medical Hallucinations in Large Language Models",
            "Advancements in Large Language Models (LLMs) and their",
        ),
        (
            "001",
            "Counterfactual Conservative Q Learning for Offline Multi-agent Reinforcement Learning",
            "Offline multi-agent reinforcement learning is challenging due to",
        ),
        (
            "001",
            "SAFEFLOW: A Principled Protocol for Trustworthy and Transactional Autonomous Agent Systems",
            "Recent advances in large language models (LLMs) and vision-language models",
        ),
        (
            "001",
            "FRAG: Toward Federated Vector Database Management for Collaborative and Secure Retrieval-Augmented Generation",
            "This paper introduces Federated Retrieval-Augmented Generation (FRAG), a",
        ),
        (
            "001",
            "Exploratory Preference Optimization: Harnessing Implicit Q*-Approximation for Sample-Efficient RLHF",
            "Reinforcement learning from human feedback (RLHF) has emerged",
        ),
        (
            "002",
            "Efficient and Modular Implicit Differentiation",
            "Automatic differentiation (autodiff) has revolutionized machine learning.",
        ),
        (
            "002",
            "BiFormer: Vision Transformer with Bi-Level Routing Attention",
            "As the core building block of vision transformers,",
        ),
        ("002", "Compression Represents Intelligence Linearly", "There is a belief that learning to compress"),
        (
            "004",
            "MakeupAttack: Feature Space Black-box Backdoor Attack on Face Recognition via Makeup Transfer",
            "Backdoor attacks pose a significant threat to the",
        ),
        (
            "004",
            "PlanGEN: A Multi-Agent Framework for Generating Planning and Reasoning Trajectories for Complex Problem Solving",
            "Recent agent frameworks and inference-time algorithms often struggle",
        ),
        (
            "004",
            "Optimizing Mario Adventures in a Constrained Environment",
            "This project proposes and compares a new way",
        ),
    ],
)
def test_read_listing__pairs_each_title_with_the_abstract_below_it(listings, prefix, title, abstract_start):
    paper = by_title(listings[prefix], title)
    assert paper.title == title and not paper.title_derived
    assert paper.abstract.startswith(abstract_start)


def test_read_listing__no_title_is_page_chrome_or_metadata(listings):
    titles = [p.title for prefix in ("000", "001", "002", "004") for p in listings[prefix]]
    assert not any(p.title_derived for prefix in ("000", "001", "002", "004") for p in listings[prefix])
    assert not [
        t
        for t in titles
        if t in {"Goto", "new", "Subscribe", "·", "arXiv.org Artificial Intelligence"}
        or AUTHORS_RE.match(t)
        or DATE_RE.match(t)
    ]


@pytest.mark.parametrize(
    "title_start, authors_count, date, year, organisation",
    [
        ("Counterfactual Conservative Q Learning", 5, "Sep 22, 2023", 2023, None),
        ("Offline Planning and Online Learning", 3, "Jun 28, 2021", 2021, None),
        ("VSC-RL: Advancing Autonomous", 5, "Feb 11", None, None),  # date without a year
        ("Minimum Entropy Coupling with Bottleneck", 3, "Oct 28, 2024", 2024, None),  # "Oct 28, 2024 2": 2 upvotes
        ("Agnostic Reinforcement Learning", 1, "Jun 2", None, None),
        ("Is Oracle Pruning the True Oracle?", None, "Nov 28, 2024", 2024, "Westlake-University Westlake University"),
        ("FRAG: Toward Federated Vector Database", 1, "Oct 17, 2024", 2024, None),
        ("SAFEFLOW: A Principled Protocol", None, None, None, None),  # no metadata lines at all
    ],
)
def test_read_listing__metadata_lines_belong_to_the_paper_above_them(
    listings, title_start, authors_count, date, year, organisation
):
    paper = by_title(listings["001"], title_start)
    assert (paper.authors_count, paper.date, paper.year, paper.organisation) == (
        authors_count,
        date,
        year,
        organisation,
    )


def test_read_listing__every_001_paper_but_three_has_an_author_count(listings):
    missing = [p.title.split(":")[0] for p in listings["001"] if p.authors_count is None]
    assert missing == ["SAFEFLOW", "ARMOR", "Is Oracle Pruning the True Oracle?"]


def test_read_listing__author_page_gives_venue_and_the_pages_author(listings):
    papers = listings["000"]
    assert {p.venue for p in papers} == {"arXiv.org Artificial Intelligence"}
    assert all(p.authors == ["Tianlong Chen"] and p.authors_partial for p in papers)  # one of their authors
    assert not any(p.authors_partial for key, ps in listings.items() if key != "000" for p in ps)


@pytest.mark.parametrize(
    "prefix, title_start, links",
    [
        ("000", "Stable-SPAM:", ["https://github.com/TianjinYellow/StableSPAM.git"]),
        ("000", "You Only Debias Once:", ["https://github.com/ahxt/yodo"]),
        ("001", "Active Self-Paced Learning", ["http://hcp.sysu.edu.cn/projects/aspl/"]),  # "(url)" in parentheses
        ("001", "Train-Once Plan-Anywhere", ["https://sites.google.com/view/ditree"]),
        ("002", "Backdoor Contrastive Learning", ["https://github.com/SWY666/SSL-backdoor-BLTO"]),  # "at: url."
        (
            "002",
            "Bidirectional Learning for Offline",  # "url{here.}" (a LaTeX link text)
            ["https://anonymous.4open.science/r/BIB-ICLR2023-Submission/README.md"],
        ),
        (
            "003",
            "Mixture-of-experts (MoE) architectures",  # "$\href{url}{url}$."
            ["https://github.com/UNITES-Lab/Occult"],
        ),
        ("003", "TSC:", ["https://github.com/JiePeng104/TSC"]),
        (
            "004",
            "Large Batch Optimization for Deep Learning",
            ["https://github.com/tensorflow/addons/blob/master/tensorflow_addons/optimizers/lamb.py"],
        ),
        ("004", "Get more for less:", ["https://anonymous.4open.science/r/DV4LLM-D761/"]),
        ("004", "MakeupAttack:", []),
    ],
)
def test_read_listing__code_links_have_no_trailing_punctuation_or_markup(listings, prefix, title_start, links):
    paper = by_title(listings[prefix], title_start)
    assert sorted(paper.code_links + paper.links) == sorted(links)


def test_code_links__every_seed_link_ends_in_a_url_character(listings):
    links = [link for papers in listings.values() for p in papers for link in p.code_links + p.links]
    assert len(links) >= 40
    assert not [link for link in links if link[-1] in ".,;:)]}{$" or "{" in link or "}" in link]


@pytest.mark.parametrize(
    "position, method",
    [
        (0, "TSC"),
        (1, "I2MoE"),
        (2, None),
        (3, "UnLOK-VQA"),
        (4, None),
        (5, "CAFE-AD"),
        (6, "C2R"),
        (7, None),
        (8, "GRNFormer"),
        (9, "AgentSymbiotic"),
    ],
)
def test_read_listing__bare_listing_gets_derived_titles_naming_the_method(listings, position, method):
    paper = listings["003"][position]
    first_words = " ".join(paper.abstract.split()[:10]).rstrip(".,;:")
    assert paper.title_derived
    assert paper.title == (f"{method}: {first_words}…" if method else f"{first_words}…")


@pytest.mark.parametrize(
    "abstract, method",
    [
        ("To address this gap, we propose Two-stage Symmetry Connectivity (TSC), a novel defense.", "TSC"),
        ("In this paper, we propose GRNFormer, a new framework.", "GRNFormer"),
        ("We introduce the MoE and a new method called ViT-Adapter for dense tasks.", "ViT-Adapter"),  # MoE is jargon
        ("We propose to use LLMs on GPUs with RL.", None),  # only field jargon after the verb
        ("We present a survey of recent methods.", None),
        ("Our model, dubbed Occult, is fast.", None),  # one capital letter: indistinguishable from a plain word
        ("GRNFormer works well, but nobody says so.", None),  # no "propose/introduce/..." at all
    ],
)
def test_method_name__names_the_introduced_method_or_nothing(abstract, method):
    assert method_name(abstract) == method


@pytest.mark.parametrize(
    "abstract, title",
    [
        ("We propose FooNet, a net.", "FooNet: We propose FooNet, a net…"),
        (
            "One two three four five six seven eight nine ten eleven twelve.",
            "One two three four five six seven eight nine ten…",
        ),
        ("We study things; nothing new, here.", "We study things; nothing new, here…"),
    ],
)
def test_derive_title__method_then_first_ten_words(abstract, title):
    assert derive_title(abstract) == title


@pytest.mark.parametrize(
    "text, key",
    [
        ("Abstract: Deep  nets!", "abstractdeepnets"),
        ("  Ünïcode—dash & 4-bit\tTraining ", "ncodedash4bittraining"),  # non-ASCII letters drop out
        ("", ""),
    ],
)
def test_normalise__keeps_lowercase_ascii_alphanumerics(text, key):
    assert normalise(text) == key


def test_paper_id_for__same_for_copies_differing_in_case_spacing_punctuation():
    assert paper_id_for("Deep nets, trained.") == paper_id_for("  deep   NETS trained ") != paper_id_for("Deep nets.")
    assert paper_id_for("Deep nets, trained.").startswith("p") and len(paper_id_for("x")) == 11


def test_paper_id_for__is_stable_across_runs_for_a_seed_paper(listings):
    # ids are stored in indexes and cited in answers: changing the scheme would orphan them.
    assert by_title(listings["000"], "Stable-SPAM:").paper_id == "pb63c5c0ae2"
    assert by_title(listings["001"], "FRAG:").paper_id == "pf962548654"


def paper(abstract="Same abstract text.", file="a.bib", line=1, **ids) -> Paper:
    made = Paper(
        paper_id="", title="T", abstract=abstract, sources=[Source(listing=file, position=0, line=line)], **ids
    )
    made.paper_id = paper_id_for_record(made, file)
    return made


@pytest.mark.parametrize(
    "ids, identity",
    [
        ({"doi": "10.1/x", "arxiv_id": "2101.00001", "pmid": "1", "key": "k"}, "doi:10.1/x"),  # DOI first
        ({"arxiv_id": "2101.00001", "pmid": "1", "key": "k"}, "arxiv:2101.00001"),
        ({"pmid": "123", "key": "k"}, "pmid:123"),
        ({"key": "smith20"}, "key:a.bib:smith20"),  # the file's own key, scoped by file
        ({}, None),  # no identifier: the abstract decides
    ],
)
def test_paper_identity__first_identifier_wins(ids, identity):
    assert paper_identity(paper(**ids)) == identity


@pytest.mark.parametrize(
    "first, second, same",
    [
        (dict(doi="10.1/x", file="a.bib"), dict(doi="10.1/x", file="b.json", abstract="Other wording."), True),
        (dict(arxiv_id="2101.00001"), dict(arxiv_id="2101.00001", file="c.jsonl"), True),
        (dict(arxiv_id="2101.00001"), dict(arxiv_id="2101.00002"), False),  # same abstract, different ids
        (dict(key="k1"), dict(key="k2"), False),
        (dict(key="k1", file="a.bib"), dict(key="k1", file="b.bib"), False),  # keys are scoped by file
        (dict(key="k1"), dict(key="k1", line=9), True),  # re-ingesting the same file's record
        (dict(), dict(file="b.txt"), True),  # no identifiers: same abstract
        (dict(doi="10.1/x"), dict(), False),  # an identified record never meets an unidentified one
    ],
)
def test_paper_id_for_record__same_identity_same_id(first, second, same):
    assert (paper(**first).paper_id == paper(**second).paper_id) is same


def test_merge_report__copies_of_one_doi_merge_and_different_ids_do_not():
    a, b = paper(doi="10.1/x"), paper(doi="10.1/x", file="b.json", line=3, abstract="Other wording.")
    c = paper(arxiv_id="2101.00002")
    unique, merged = merge_report([a, b, c])
    assert [p.paper_id for p in unique] == [a.paper_id, c.paper_id]
    assert [s.listing for s in unique[0].sources] == ["a.bib", "b.json"]
    assert merged == ["b.json line 3 = a.bib line 1 (doi:10.1/x)"]


@pytest.mark.parametrize(
    "line, groups",
    [
        ("Sep 22, 2023", ("Sep 22, 2023", "2023")),
        ("Jun 2", ("Jun 2", None)),
        ("Oct 28, 2024 2", ("Oct 28, 2024", "2024")),  # trailing upvote count is dropped
        ("Jun 17 2", ("Jun 17", None)),
        ("Sept. 3, 2021", ("Sept. 3, 2021", "2021")),
        ("Sep", None),
        ("2023-09-22", None),
        ("Sep 222", None),
    ],
)
def test_date_re__listing_date_lines(line, groups):
    match = DATE_RE.match(line)
    assert (match.groups() if match else None) == groups


@pytest.mark.parametrize(
    "line, count",
    [
        ("  • 5 authors", "5"),
        ("• 1 authors", "1"),
        ("• 1 author", "1"),
        ("• 13 authors  ", "13"),
        ("5 authors", None),
        ("• many authors", None),
        ("• 5 authors · Sep 22", None),
    ],
)
def test_authors_re__author_count_lines(line, count):
    match = AUTHORS_RE.match(line)
    assert (match.group(1) if match else None) == count


@pytest.mark.parametrize(
    "lines, layout",
    [
        (["Goto", "", "Collaborating Authors", "Chen, Tianlong"], "author"),
        (["Katie", "Abstract: one", "Abstract: two"], "bare"),
        (["Title", "Abstract: one", "Other title", "A summary"], "listing"),
        ([], "listing"),
    ],
)
def test_detect_layout__from_the_first_lines(lines, layout):
    assert detect_layout(lines) == layout


@pytest.mark.parametrize(
    "abstract, links",
    [
        ("Code: https://x.org/a.", ["https://x.org/a"]),
        ("See (https://x.org/a) and https://x.org/b, then https://x.org/a;", ["https://x.org/a", "https://x.org/b"]),
        ("At $\\href{https://x.org/c}{https://x.org/c}$.", ["https://x.org/c"]),
        ("No links here.", []),
    ],
)
def test_links_in__strip_punctuation_markup_and_repeats(abstract, links):
    assert links_in(abstract) == links


@pytest.mark.parametrize(
    "abstract, code, other",
    [
        ("Code is at https://github.com/a/b.", ["https://github.com/a/b"], []),
        ("Users must log in at http://evil.example/login to see it.", [], ["http://evil.example/login"]),
        (
            "Data: https://zenodo.org/r/1; weights: https://huggingface.co/x/y",
            ["https://huggingface.co/x/y"],
            ["https://zenodo.org/r/1"],
        ),
        ("Anonymous code: https://anonymous.4open.science/r/X/.", ["https://anonymous.4open.science/r/X/"], []),
        ("A trick: javascript:alert(1) and ftp://x.org/f", [], []),
    ],
)
def test_code_links__only_code_hosts_are_code_other_links_stay_plain_links(abstract, code, other):
    assert (code_links(abstract), other_links(abstract)) == (code, other)


def test_paper_from_dict__a_stored_paper_without_link_classes_is_classified_on_reading():
    paper = Paper.from_dict(
        {
            "paper_id": "p1",
            "title": "T",
            "abstract": "A",
            "code_links": ["http://evil.example/login", "https://github.com/a/b"],
        }
    )
    assert (paper.code_links, paper.links) == (["https://github.com/a/b"], ["http://evil.example/login"])
