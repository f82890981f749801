"""Labelled answerability examples from several fields: (question, hits, answerable?) with their features.

Fields: the bundled corpus (short questions and the question set), PubMedQA (a question with its paper
indexed is answerable; the same question with its paper taken out is not), SciFact (a claim with its
abstract indexed, and without). Taking a paper out is done by dropping it from the hits of a search
for k + 1 papers, which is what removing it from the index gives up to BM25's document counts.
Indexes are built once into eval/cache/answerability/. Used by eval/fit_answerability.py.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from assistant import Assistant
from assistant.abstain import CollectionTerms, scaled_idf
from assistant.answerability import answerability_features
from assistant.errors import IndexMismatchError
from assistant.followup import lexical_rewrite
from assistant.text import content_words

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "eval" / "cache" / "answerability"
K = 10


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def index_of(name: str, papers_file: Path | None, embedder=None) -> Assistant:
    """An assistant over one collection, built once (bundled corpus when `papers_file` is None); a cached index
    built with another embedder or chunking is re-made from the papers it holds."""
    key = hashlib.sha1(str(papers_file).encode()).hexdigest()[:8] if papers_file else "bundled"
    folder = CACHE / f"{name}-{key}"
    try:
        Assistant(index_dir=folder, corpus=None, embedder=embedder)
    except IndexMismatchError:
        Assistant(index_dir=folder, corpus=None, embedder=embedder, check_index=False).ingest([], rebuild=True)
    if papers_file is None:
        return Assistant(index_dir=folder, embedder=embedder)
    assistant = Assistant(index_dir=folder, corpus=None, embedder=embedder)
    if not assistant.papers():
        assistant.ingest([papers_file])
    return assistant


class Without:
    """A collection's terms as they would be with some papers taken out (what removing them from the index gives)."""

    def __init__(self, terms: CollectionTerms, papers: list):
        self.terms, self.gone = terms, {p.paper_id for p in papers}
        self.gone_words: dict[str, int] = {}
        for paper in papers:
            for word in content_words(f"{paper.title} {paper.abstract}"):
                self.gone_words[word] = self.gone_words.get(word, 0) + 1
        self.titles = {pid: t for pid, t in terms.titles.items() if pid not in self.gone}
        self.document_frequency = {w: terms.document_frequency.get(w, 0) - n for w, n in self.gone_words.items()}
        self.document_frequency = _Overlay(terms.document_frequency, self.document_frequency)
        self.coined_in_titles = _Overlay(
            terms.coined_in_titles, {k: v - self.gone for k, v in terms.coined_in_titles.items() if v & self.gone}
        )

    def papers_naming(self, name: str, titles_only: bool = False) -> set[str]:
        return self.terms.papers_naming(name, titles_only) - self.gone

    def knows(self, name: str) -> bool:
        return bool(self.papers_naming(name))

    def idf(self, word: str) -> float:
        return scaled_idf(len(self.titles), self.document_frequency.get(word, 0))


class _Overlay(dict):
    """A dict whose own entries override a base mapping's (read with .get only)."""

    def __init__(self, base: dict, changed: dict):
        super().__init__(changed)
        self.base = base

    def get(self, key, default=None):
        return super().get(key, self.base.get(key, default))


def example(
    assistant, terms: CollectionTerms, field: str, split: str, question: str, drop: set[str], label: int, qid: str
) -> dict:
    hits = [h for h in assistant.search(question, k=K + len(drop)) if h.paper_id not in drop][:K]
    if drop:
        terms = Without(terms, [assistant.paper(pid) for pid in drop])
    else:  # as the chain does: the papers the question names come first (with the paper taken out, none can)
        hits = assistant.chain.with_named_papers(question, hits)
    return {
        "field": field,
        "split": split,
        "id": qid,
        "question": question,
        "answerable": label,
        "features": answerability_features(question, hits, terms),
    }


def bundled(embedder=None) -> list[dict]:
    """Short questions (dev/test) and the question set (answerable types and unanswerable ones; 'check' split)."""
    assistant = index_of("bundled", None, embedder)
    terms = CollectionTerms(assistant.papers())
    rows = []
    for q in jsonl(ROOT / "eval" / "short_questions.jsonl"):
        rows.append(
            example(
                assistant, terms, "bundled", q["split"], q["question"], set(), int(q["type"] != "unanswerable"), q["id"]
            )
        )
    for q in jsonl(ROOT / "eval" / "questions.jsonl"):
        if q["type"] == "metadata":  # answered from the catalogue, not by this decision
            continue
        own = lexical_rewrite(q["question"], [m["content"] for m in q.get("history") or [] if m.get("role") == "user"])
        rows.append(
            example(assistant, terms, "bundled", "check", own, set(), int(q["type"] != "unanswerable"), q["id"])
        )
    return rows


def pubmedqa(embedder=None) -> list[dict]:
    """Each question twice: with its paper (answerable), and with its paper taken out (not answerable)."""
    folder = DATASETS / "pubmedqa"
    assistant = index_of("pubmedqa", folder / "papers.jsonl", embedder)
    terms_all = CollectionTerms(assistant.papers())
    ids = {p.external_id or p.key: p.paper_id for p in assistant.papers()}
    rows = []
    for q in jsonl(folder / "questions.jsonl"):
        gold = ids[q["gold_id"]]
        rows.append(example(assistant, terms_all, "pubmedqa", q["split"], q["question"], set(), 1, q["id"]))
        rows.append(example(assistant, terms_all, "pubmedqa", q["split"], q["question"], {gold}, 0, q["id"] + "-out"))
    return rows


def scifact_subset(others: int = 600, seed: int = 0) -> Path:
    """The train claims' cited abstracts plus `others` chosen at random, written once into the cache."""
    folder = DATASETS / "scifact"
    claims = jsonl(folder / "claims_train.jsonl")
    cited = {str(d) for c in claims for d in c["cited_doc_ids"]}
    subset = CACHE / f"scifact-train-subset-{others}-{seed}.jsonl"
    if not subset.exists():
        papers = jsonl(folder / "papers.jsonl")
        rest = [p for p in papers if p["id"].split(":")[1] not in cited]
        chosen = [p for p in papers if p["id"].split(":")[1] in cited] + random.Random(seed).sample(rest, others)
        subset.parent.mkdir(parents=True, exist_ok=True)
        subset.write_text("".join(json.dumps(p) + "\n" for p in chosen), encoding="utf-8")
    return subset


def scifact(embedder=None, others: int = 600, seed: int = 0) -> list[dict]:
    """Train claims (split 'train') over their cited abstracts plus others; each claim with and without its abstracts."""
    claims = jsonl(DATASETS / "scifact" / "claims_train.jsonl")
    assistant = index_of("scifact", scifact_subset(others, seed), embedder)
    terms = CollectionTerms(assistant.papers())
    ids = {(p.external_id or p.key or "").split(":")[-1]: p.paper_id for p in assistant.papers()}
    rows = []
    for c in claims:
        if not c["evidence"]:  # the cited abstract does not speak to the claim: no answerable example
            continue
        gold = {ids[str(d)] for d in c["cited_doc_ids"] if str(d) in ids}
        if not gold:
            continue
        rows.append(example(assistant, terms, "scifact", "train", c["claim"], set(), 1, f"sf{c['id']}"))
        rows.append(example(assistant, terms, "scifact", "train", c["claim"], gold, 0, f"sf{c['id']}-out"))
    return rows
