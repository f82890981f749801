"""Generate labelled (claim, paper_id) pairs for the offline verifier from the bundled abstracts.

Usage: python eval/make_verifier_training.py [--out eval/verifier_training.jsonl] [--seed 12]
Positives: abstract sentences verbatim and lightly reworded ("we" -> "the authors", lead-ins dropped,
the first clause alone). Negatives: the same sentences with a negation added or removed, a finding
reversed (improves -> degrades, the sides of a comparison swapped), a number changed, a name or a
content word swapped for one from another paper, and sentences of other papers.
Deterministic for a seed. No sentence that a test-split claim of eval/claims.jsonl was written from
(its best word-overlap sentence) is used, and no test claim is ever emitted.
Out of scope: fitting (see eval/tune_verifier.py).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from assistant.citations import split_sentences
from assistant.config import SEEDS_DIR
from assistant.corpus import merge, read_listing, seed_files
from assistant.polarity import ANTONYMS
from assistant.text import content_words, simplify, terms

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "eval" / "claims.jsonl"
REVERSED = (
    {
        "improves": "degrades",
        "improve": "degrade",
        "improved": "degraded",
        "improving": "degrading",
        "improvement": "degradation",
        "improvements": "degradations",
        "increases": "decreases",
        "increase": "decrease",
        "increased": "decreased",
        "higher": "lower",
        "lower": "higher",
        "more": "less",
        "less": "more",
        "fewer": "more",
        "better": "worse",
        "worse": "better",
        "outperforms": "underperforms",
        "outperform": "underperform",
        "outperforming": "underperforming",
        "reduces": "increases",
        "reduce": "increase",
        "reduced": "increased",
        "reduction": "increase",
        "faster": "slower",
        "slower": "faster",
        "surpasses": "trails",
        "superior": "inferior",
        "larger": "smaller",
        "smaller": "larger",
        "gains": "losses",
        "boosts": "lowers",
        "enhances": "degrades",
        "best": "worst",
        "accelerates": "slows",
        "mitigates": "worsens",
        "alleviates": "aggravates",
        "efficient": "inefficient",
        "effective": "ineffective",
        "significantly": "marginally",
    }
    | {a: b for a, b in ANTONYMS if a not in ("improves", "more", "reduces", "reduced", "reduce")}
    | {b: a for a, b in ANTONYMS if b != "increases"}
)
AUXILIARIES = r"\b(is|are|was|were|can|could|will|would|may|should|has|have)\b"
VERBS = (
    r"\b(achieves|improves|outperforms|reduces|enables|provides|requires|shows|demonstrates|leads|yields|uses|learns|"
    r"generates|captures|allows|supports|surpasses|increases|boosts|enhances|maintains|preserves|exhibits|matches|"
    r"attains|obtains|reaches|produces|performs|benefits|helps|offers|delivers|scales|generalizes|converges|"
    r"relies|depends|guarantees|ensures|establishes|reveals|finds|suggests|indicates)\b"
)
UNNEGATE = [
    (r"\bcannot\b", "can"),
    (r"\b(is|are|was|were|do|does|did|can|could|will|would|has|have) not\b", r"\1"),
    (r"\bfails to\b", "manages to"),
    (r"\bno longer\b", "still"),
    (r"\bwithout\b", "with"),
]
LEAD_INS = (
    r"^(Moreover|Furthermore|Additionally|Specifically|Finally|However|In addition|To this end|Therefore|"
    r"Thus|Consequently|In particular|Notably|Importantly|In this paper|In this work|Overall),\s+"
)


def load_abstracts() -> dict[str, str]:
    """paper_id -> abstract of the bundled seed listings, as the index reads them."""
    papers = [p for path in seed_files(SEEDS_DIR) for p in read_listing(path, path.read_text(encoding="utf-8"))]
    return {p.paper_id: p.abstract for p in merge(papers)[0]}


def load_titles() -> dict[str, str]:
    """paper_id -> title of the bundled seed listings (the verifier reads a claim against title and abstract)."""
    papers = [p for path in seed_files(SEEDS_DIR) for p in read_listing(path, path.read_text(encoding="utf-8"))]
    return {p.paper_id: p.title for p in merge(papers)[0]}


def held_out(abstracts: dict[str, str], claims_path: Path = CLAIMS) -> tuple[set[tuple[str, str]], set[str]]:
    """The (paper_id, sentence) pairs test claims were written from, and the test claims simplified."""
    rows = [json.loads(line) for line in claims_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tests = [r for r in rows if r["split"] == "test"]
    used = set()
    for row in tests:
        sentences = split_sentences(abstracts.get(row["paper_id"], ""))
        if sentences:
            words = content_words(row["claim"])
            used.add((row["paper_id"], max(sentences, key=lambda s: len(words & content_words(s)))))
    return used, {simplify(r["claim"]) for r in tests}


def reword(sentence: str, rng: random.Random) -> str | None:
    """A light rewording that keeps the meaning, or None when none applies."""
    options = []
    if re.search(LEAD_INS, sentence):
        options.append(re.sub(LEAD_INS, "", sentence))
    if re.search(r"\b[Ww]e\b|\bour\b", sentence):
        text = re.sub(r"\bWe\b", "The authors", re.sub(r"\bwe\b", "the authors", sentence))
        options.append(re.sub(r"\bour\b", "their", re.sub(r"\bOur\b", "Their", text)))
    first = re.split(r", (?:which|while|where|and|but|thereby)\b|; ", sentence)[0]
    if first != sentence and len(first.split()) >= 8:
        options.append(first.rstrip(".,") + ".")
    return rng.choice(options) if options else None


def negate(sentence: str, rng: random.Random) -> str | None:
    """The sentence with a negation removed, or one added after the first auxiliary or main verb."""
    for pattern, replacement in UNNEGATE:
        if re.search(pattern, sentence):
            return re.sub(pattern, replacement, sentence, count=1)
    if re.search(AUXILIARIES, sentence):
        return re.sub(AUXILIARIES, r"\1 not", sentence, count=1)
    match = re.search(VERBS, sentence)
    if match:
        verb = match.group(1)
        base = (
            verb[:-2]
            if re.search(r"(ches|shes|sses|xes)$", verb)
            else verb[:-3] + "y"
            if verb.endswith("ies")
            else verb[:-1]
        )
        return sentence[: match.start()] + f"does not {base}" + sentence[match.end() :]
    return None


def reverse(sentence: str, rng: random.Random) -> str | None:
    """The finding turned round: a direction word or antonym swapped, or a comparison's sides swapped."""
    swapped = re.sub(
        r"\b([A-Z][\w\-]*|[\w]+-based) (outperforms|surpasses|beats|exceeds) ([A-Z][\w\-]*|[\w]+-based)\b",
        r"\3 \2 \1",
        sentence,
        count=1,
    )
    swapped = (
        swapped
        if swapped != sentence
        else re.sub(
            r"\b([A-Z][\w\-]*|[\w]+-based)\b(.{3,80}?) than ([A-Z][\w\-]*|[\w]+-based)\b",
            r"\3\2 than \1",
            sentence,
            count=1,
        )
    )
    candidates = [m for m in re.finditer(r"[A-Za-z][a-z\-]*", sentence) if m.group(0).lower() in REVERSED]
    if swapped != sentence and (not candidates or rng.random() < 0.5):
        return swapped
    if not candidates:
        return None
    m = rng.choice(candidates)
    word = REVERSED[m.group(0).lower()]
    word = word.capitalize() if m.group(0)[0].isupper() else word
    return sentence[: m.start()] + word + sentence[m.end() :]


def change_number(sentence: str, rng: random.Random) -> str | None:
    """One number changed (an integer by a few units or doubled, a decimal in its last digit)."""
    found = list(re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])", sentence))
    if not found:
        return None
    m = rng.choice(found)
    text = m.group(0)
    if "." in text:
        whole, frac = text.split(".")
        new = f"{whole}.{frac[:-1]}{(int(frac[-1]) + rng.randint(1, 8)) % 10}"
    else:
        value = int(text)
        new = str(rng.choice([value + rng.randint(1, 3), value * 2, max(0, value - rng.randint(1, 3))]))
    return None if new == text else sentence[: m.start()] + new + sentence[m.end() :]


def swap_entity(sentence: str, rng: random.Random, others: list[str]) -> str | None:
    """A name (or else a long content word) replaced by one from another paper's abstract."""
    own = [t for t in re.findall(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", sentence) if t.lower() in terms(sentence)]
    other_text = rng.choice(others)
    pool = sorted(terms(other_text) - {t.lower() for t in own})
    if own and pool:
        name, target = rng.choice(own), rng.choice(pool)
        replacement = next(
            t for t in re.findall(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", other_text) if t.lower() == target
        )
        return re.sub(rf"\b{re.escape(name)}\b", replacement, sentence)
    words = [w for w in re.findall(r"\b[a-z]{6,}\b", sentence) if content_words(w)]
    pool = sorted({w for w in re.findall(r"\b[a-z]{6,}\b", other_text)} - set(re.findall(r"\b[a-z]{6,}\b", sentence)))
    if not words or not pool:
        return None
    word = rng.choice(words)
    return re.sub(rf"\b{word}\b", rng.choice(pool), sentence, count=1)


def generate(abstracts: dict[str, str], seed: int = 12, claims_path: Path = CLAIMS) -> list[dict]:
    """Labelled rows {claim, paper_id, label, kind}, in a fixed order for a seed."""
    rng = random.Random(seed)
    used, test_claims = held_out(abstracts, claims_path)
    ids = sorted(abstracts)
    rows = []
    for pid in ids:
        others = [abstracts[o] for o in ids if o != pid]
        for sentence in split_sentences(abstracts[pid]):
            if (pid, sentence) in used or len(sentence.split()) < 8:
                continue
            rows += rows_for(sentence, pid, rng, others)
        for other in rng.sample(others, 2):
            rows.append(
                {
                    "claim": rng.choice(split_sentences(other)),
                    "paper_id": pid,
                    "label": "unsupported",
                    "kind": "other_paper",
                }
            )
    return [r for r in rows if simplify(r["claim"]) not in test_claims]


def rows_for(sentence: str, pid: str, rng: random.Random, others: list[str]) -> list[dict]:
    """One supported row (verbatim or reworded) and one unsupported row (a changed copy) for a sentence."""
    reworded = reword(sentence, rng)
    positive = reworded if reworded and rng.random() < 0.6 else sentence
    rows = [
        {
            "claim": positive,
            "paper_id": pid,
            "label": "supported",
            "kind": "paraphrase" if positive != sentence else "verbatim",
        }
    ]
    base = positive if rng.random() < 0.5 else sentence
    changed = {
        "negation": negate(base, rng),
        "reversal": reverse(base, rng),
        "number": change_number(base, rng),
        "entity_swap": swap_entity(base, rng, others),
    }
    kinds = [k for k, text in changed.items() if text and text != base]
    if kinds:
        kind = rng.choices(kinds, weights=[2 if k in ("negation", "reversal") else 1 for k in kinds])[0]
        rows.append({"claim": changed[kind], "paper_id": pid, "label": "unsupported", "kind": kind})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "verifier_training.jsonl")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rows = generate(load_abstracts(), args.seed)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kinds = {k: sum(r["kind"] == k for r in rows) for k in sorted({r["kind"] for r in rows})}
    print(f"wrote {len(rows)} rows to {args.out}: {kinds}")


if __name__ == "__main__":
    main()
