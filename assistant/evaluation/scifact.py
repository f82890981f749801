"""The claim task on SciFact: three-way verdicts with the gold abstracts, and label F1 in the open setting.

Gold setting: each dev claim against each abstract it cites; the gold label is the experts' (SUPPORT,
CONTRADICT) where the abstract holds a rationale, else not enough information. Reported: three-way
accuracy and each label's recall, and the two binary figures of the issue that introduced the claim
check ("supports" against contradicted pairs and against pairs with no evidence, balanced accuracy).
Open setting: each dev claim is checked against the k abstracts the assistant's search retrieves from all
5,183 (the same index the retrieval benchmark uses, cached); a (claim, abstract, label) prediction is
right when the experts gave that abstract that label (SciFact's abstract-level, label-only measure).
The data are read in place (`--datasets DIR`); dev claims are the held-out test: score, never tune.
Out of scope: fitting the claim model (see eval/claim_training.py, scripts/train_claim_model.py).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from .inputs import EvalInputError, read_jsonl, writable_folder

GOLD = {"SUPPORT": "supports", "CONTRADICT": "contradicts"}
PUBLISHED = "VeriSci (Wadden et al., 2020), dev, open setting, abstract label-only F1: 46.5"


def scifact_inputs(datasets_dir: Path, split: str = "dev") -> tuple[Path, dict[int, dict], list[dict]]:
    folder = Path(datasets_dir) / "scifact"
    if not (folder / "corpus.jsonl").is_file():
        raise EvalInputError(
            f"SciFact is not in {folder} (no corpus.jsonl); give the folder holding scifact/ with --datasets DIR"
        )
    corpus = {
        row["doc_id"]: row
        for row in read_jsonl(folder / "corpus.jsonl", "SciFact corpus", "--datasets DIR", {"doc_id"})
    }
    claims = read_jsonl(folder / f"claims_{split}.jsonl", "SciFact claims", "--datasets DIR", {"id", "claim"})
    return folder / "papers.jsonl", corpus, claims


def gold_pairs(claims: list[dict]) -> list[tuple[dict, int, str]]:
    """(claim, cited doc id, gold label) for every cited abstract; the first rationale's label decides."""
    pairs = []
    for claim in claims:
        for doc in claim.get("cited_doc_ids", []):
            sets = claim.get("evidence", {}).get(str(doc), [])
            pairs.append((claim, int(doc), GOLD[sets[0]["label"]] if sets else "not_enough_info"))
    return pairs


def gold_scores(rows: list[dict]) -> dict:
    """Accuracy, each label's recall, and the binary 'supports' figures, from rows with `gold` and `label`."""

    def recall(gold: str, predicted: set[str]) -> float:
        chosen = [r for r in rows if r["gold"] == gold]
        return sum(r["label"] in predicted for r in chosen) / max(1, len(chosen))

    support, contradict, nei = (
        recall("supports", {"supports"}),
        recall("contradicts", {"contradicts"}),
        recall("not_enough_info", {"not_enough_info"}),
    )
    says_support = {g: recall(g, {"supports"}) for g in ("supports", "contradicts", "not_enough_info")}
    return {
        "pairs": len(rows),
        "accuracy": round(sum(r["gold"] == r["label"] for r in rows) / max(1, len(rows)), 4),
        "recall_supports": round(support, 4),
        "recall_contradicts": round(contradict, 4),
        "recall_not_enough_info": round(nei, 4),
        "macro_recall": round((support + contradict + nei) / 3, 4),
        "says_supports": {g: round(v, 4) for g, v in says_support.items()},
        "balanced_accuracy_support_vs_contradict": round(
            (says_support["supports"] + 1 - says_support["contradicts"]) / 2, 4
        ),
        "balanced_accuracy_support_vs_no_evidence": round(
            (says_support["supports"] + 1 - says_support["not_enough_info"]) / 2, 4
        ),
    }


def open_scores(claims: list[dict], predictions: dict[int, dict[int, str]]) -> dict:
    """SciFact's abstract-level label-only precision, recall and F1: a predicted (doc, label) is right when the
    experts gave that doc that label; predictions of not enough information are not predictions."""
    gold = {(c["id"], int(doc), GOLD[sets[0]["label"]]) for c in claims for doc, sets in c.get("evidence", {}).items()}
    predicted = {
        (cid, doc, label)
        for cid, docs in predictions.items()
        for doc, label in docs.items()
        if label != "not_enough_info"
    }
    right = len(gold & predicted)
    precision, recall = right / max(1, len(predicted)), right / max(1, len(gold))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "gold": len(gold),
        "predicted": len(predicted),
        "correct": right,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def scifact_claims(
    settings, datasets_dir: Path, out_dir: Path | None = None, limit: int | None = None, k: int = 3, embedder=None
) -> dict:
    """Score the claim check on SciFact's dev claims, in both settings; returns (and writes) the report."""
    from .datasets import _index_without

    papers_file, corpus, claims = scifact_inputs(datasets_dir)
    claims = claims[:limit] if limit else claims
    out_dir = writable_folder(out_dir) if out_dir is not None else None
    cache = Path(settings.cache_dir) / "datasets"
    cache.mkdir(parents=True, exist_ok=True)
    assistant = _index_without(papers_file, set(), cache, embedder, settings, name="scifact")
    verifier = assistant.verifier
    started = time.perf_counter()
    rows = []
    for claim, doc, gold in gold_pairs(claims):
        paper = corpus[doc]
        verdict = verifier.entail(claim["claim"], " ".join(paper["abstract"]), title=paper["title"])
        # ids, labels and scores only: the claims and abstracts stay in the data set, not in the report
        rows.append({"id": claim["id"], "doc": doc, "gold": gold, "label": verdict.label, "score": verdict.score})
    gold_seconds = time.perf_counter() - started
    predictions: dict[int, dict[int, str]] = {}
    for claim in claims:
        check = assistant.check(claim["claim"], k=k)
        predictions[claim["id"]] = {
            int(assistant.paper(p.paper_id).external_id.removeprefix("scifact:")): p.label for p in check.papers
        }
    report = {
        "meta": {
            "data_set": "SciFact (Wadden et al., 2020)",
            "split": "dev",
            "claims": len(claims),
            "judge": getattr(verifier.claim_model, "name", verifier.name),
            "open_setting_k": k,
            "published": PUBLISHED,
            "gold_ms_per_pair": round(1000 * gold_seconds / max(1, len(rows)), 1),
            "seconds": round(time.perf_counter() - started, 1),
        },
        "gold": gold_scores(rows),
        "open": open_scores(claims, predictions),
        "labels": dict(Counter(r["label"] for r in rows)),
        "pairs": rows,
    }
    if out_dir is not None:
        (out_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        (out_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    return report


def markdown(report: dict) -> str:
    meta, gold, found = report["meta"], report["gold"], report["open"]
    says = gold["says_supports"]
    lines = [
        f"# {meta['data_set']}: the claim check, {meta['split']} claims (held out)",
        "",
        f"{meta['claims']} claims; judge `{meta['judge']}`; {meta['gold_ms_per_pair']} ms per (claim, abstract) pair.",
        "",
        "## With the gold abstracts",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| pairs | {gold['pairs']} |",
        f"| three-way accuracy | {gold['accuracy']:.3f} |",
        f"| recall: supports / contradicts / not enough info | {gold['recall_supports']:.3f} / "
        f"{gold['recall_contradicts']:.3f} / {gold['recall_not_enough_info']:.3f} |",
        f'| says "supports" on SUPPORT / CONTRADICT / no-evidence pairs | {says["supports"]:.3f} / '
        f"{says['contradicts']:.3f} / {says['not_enough_info']:.3f} |",
        f"| balanced accuracy, support vs contradict | {gold['balanced_accuracy_support_vs_contradict']:.3f} |",
        f"| balanced accuracy, support vs no evidence | {gold['balanced_accuracy_support_vs_no_evidence']:.3f} |",
        "",
        f"## Open setting: the {meta['open_setting_k']} abstracts the search retrieves from all 5,183",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| abstract-level label-only precision | {found['precision']:.3f} |",
        f"| recall | {found['recall']:.3f} |",
        f"| F1 | {found['f1']:.3f} |",
        "",
        f"Published: {meta['published']}.",
    ]
    return "\n".join(lines) + "\n"
