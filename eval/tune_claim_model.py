"""Choose the claim model's relevance threshold on claims kept out of its training (never a held-out split).

Usage: python eval/tune_claim_model.py [--datasets ../shared/datasets] [--model DIR]
Reads the calibration share of SciFact's train claims (`claim_training.calibration`) against the abstracts
they cite, and the dev split of eval/claims.jsonl against their papers, and prints, for each threshold,
three-way accuracy, the two balanced accuracies of the SciFact task and our claim set's balanced accuracy
(supports against everything else). Out of scope: training (scripts/train_claim_model.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from claim_training import DATASETS, calibration, read_jsonl  # noqa: E402
from make_verifier_training import load_abstracts, load_titles  # noqa: E402

from assistant.entailment import ClaimModel, decide  # noqa: E402
from assistant.evaluation.scifact import gold_pairs, gold_scores  # noqa: E402
from assistant.minilm import OnnxEmbedder  # noqa: E402
from assistant.text import content_words  # noqa: E402
from assistant.verify import CANDIDATES, Verifier, titled  # noqa: E402

THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def candidates(verifier: Verifier, claim: str, title: str, abstract: str) -> list[str]:
    text = titled(title, abstract)
    units, vectors = verifier.units(text)
    return verifier.aligned(content_words(claim), text, vectors @ verifier.embedder.embed_query(claim))[:CANDIDATES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--model", type=Path, default=None, help="a claim model folder (default: the shipped one)")
    args = parser.parse_args()
    model = ClaimModel(args.model) if args.model else ClaimModel()
    verifier = Verifier(OnnxEmbedder(), claim_model=model)
    folder = args.datasets / "scifact"
    corpus = {row["doc_id"]: row for row in read_jsonl(folder / "corpus.jsonl")}
    claims = [c for c in read_jsonl(folder / "claims_train.jsonl") if calibration(f"scifact:{c['id']}")]
    scored = []
    for claim, doc, gold in gold_pairs(claims):
        paper = corpus[doc]
        passages = candidates(verifier, claim["claim"], paper["title"], " ".join(paper["abstract"]))
        scored.append((gold, model.probabilities(claim["claim"], passages), passages))
    own = [json.loads(line) for line in (ROOT / "eval" / "claims.jsonl").read_text().splitlines() if line.strip()]
    own = [r for r in own if r["split"] == "dev"]
    abstracts, titles = load_abstracts(), load_titles()
    own_scored = []
    for row in own:
        passages = candidates(verifier, row["claim"], titles[row["paper_id"]], abstracts[row["paper_id"]])
        support = verifier.check(row["claim"], abstracts[row["paper_id"]], title=titles[row["paper_id"]]).supported
        own_scored.append((row["label"], model.probabilities(row["claim"], passages), passages, support))
    print(f"{len(scored)} SciFact calibration pairs, {len(own_scored)} own dev claims")
    print("threshold  acc3   BA(S/C)  BA(S/NEI)  own BA model  own BA verifier+model")
    for threshold in THRESHOLDS:
        rows = [{"gold": g, "label": decide(p, s, threshold).label} for g, p, s in scored]
        scores = gold_scores(rows)
        own_rows = [(label, decide(p, s, threshold).label, support) for label, p, s, support in own_scored]

        def balanced(pairs):
            pos = [said for gold, said in pairs if gold == "supported"]
            neg = [said for gold, said in pairs if gold != "supported"]
            return (sum(pos) / max(1, len(pos)) + 1 - sum(neg) / max(1, len(neg))) / 2

        model_ba = balanced([(g, said == "supports") for g, said, _ in own_rows])
        both_ba = balanced([(g, support and said != "contradicts") for g, said, support in own_rows])
        print(
            f"{threshold:9.2f}  {scores['accuracy']:.3f}  {scores['balanced_accuracy_support_vs_contradict']:.3f}"
            f"    {scores['balanced_accuracy_support_vs_no_evidence']:.3f}      {model_ba:.3f}        {both_ba:.3f}"
        )
    verifier_ba = sum(s == (g == "supported") for g, _, _, s in own_scored) / len(own_scored)
    print(f"own dev claims, verifier alone: accuracy {verifier_ba:.3f}")


if __name__ == "__main__":
    main()
