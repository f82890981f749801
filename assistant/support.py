"""Citing and checking an answer's sentences: markers parsed, each sentence's verdict, evidence, references.

A verbatim quote is its own evidence; otherwise the claim model (when there is one) may find a cited
paper contradicting the sentence, or, for a sentence that restates a yes/no question, no paper
supporting it; otherwise the offline verifier (or the LLM judge) decides. An unmarked sentence is cited
after the fact when a retrieved paper supports it.
Out of scope: retrieval and generation (see `answer`), the verifier itself (see `verify`).
"""

from __future__ import annotations

import re

from . import extractive, finding
from .citations import (
    attach_stray_markers,
    cite,
    known_markers,
    normalise_markers,
    parse_markers,
    split_sentences,
    with_markers,
)
from .prompts import CANNOT_ANSWER, example_sentences
from .records import Answer, Hit, Sentence
from .text import render_math, simplify
from .untrusted import addresses_reader
from .verify import Verifier

LEAD_FINDING_RE = re.compile(
    r"^((?:Yes|No)\.)\s+(?=\S)"
)  # an LLM's opening "Yes." / "No." (not split: "No." abbreviates)
FAILED = ("unsupported", "contradicted", "uncited")  # what --strict drops; listings and findings are no claims
CONTRADICTED = 0.6  # the claim model's confidence that marks a sentence contradicted (hand-set: no model ships)


class SupportCheck:
    """Turns generated or quoted sentences into an answer's cited, checked sentences and its references.

    `verifier` judges support (and holds the claim model, if any); `judge` is an `judge.AnswerJudge` when
    settings.verify.judge == "llm", else None.
    """

    def __init__(self, verifier: Verifier, judge=None):
        self.verifier = verifier
        self.judge = judge

    def finish(self, answer: Answer, raw: str | list[tuple[str, list[int]]], strict: bool) -> None:
        """Parse markers, verify each sentence, then number the citations once and build them with evidence."""
        if isinstance(raw, str) and CANNOT_ANSWER.lower().rstrip(".") in raw.lower():
            abstain(answer)
            return
        # An extractive answer comes as sentences already (a title label may hold "?" or ". "); text is split here.
        if isinstance(raw, str):
            raw = normalise_markers(raw, len(answer.sources))
        parsed = (
            raw if isinstance(raw, list) else attach_stray_markers([parse_markers(s) for s in split_sentences(raw)])
        )
        if isinstance(raw, str) and parsed and (lead := LEAD_FINDING_RE.match(parsed[0][0])):  # "No. X [1]." is two
            parsed = [(lead.group(1), []), (parsed[0][0][lead.end() :], parsed[0][1]), *parsed[1:]]
        numbers, removed = known_markers([n for _, n in parsed], set(range(1, len(answer.sources) + 1)))
        if removed:
            answer.notes.append(f"removed {removed} citation marker(s) that pointed at no retrieved paper")
        evidence: dict[int, list[str]] = {}  # keyed by source number (1-based position in answer.sources)
        judging = self.judge.for_answer() if self.judge else None
        examples = example_sentences() if isinstance(raw, str) else set()
        for position, ((text, _), cited) in enumerate(zip(parsed, numbers)):
            if simplify(text) in examples:  # the prompt's worked example copied into the answer
                answer.notes.append(f"dropped a sentence copied from the prompt's example: {text!r}")
                continue
            if position == 0 and not cited and finding.stated(text) and len(text.split()) <= 8:
                text = finding.Finding(text)  # the model's opening "Yes." / "No.": checked against the claim check
            if addresses_reader(text):  # text from a source that addresses the reader is data, never an answer
                answer.notes.append(f"dropped a sentence that addresses the reader: {text!r}")
                continue
            sentence = Sentence(text=render_math(text), citations=cited)  # "$l_2$-norm" reads "l₂-norm"
            if isinstance(text, extractive.Listing):  # the list's count or further titles: metadata, not a claim
                sentence.verdict, sentence.judge = "listing", "catalogue"
            elif isinstance(text, finding.Finding):  # stated from the claim check of the sentences that follow
                sentence.verdict, sentence.judge = "finding", getattr(self.verifier.claim_model, "name", "claim-check")
            elif cited:
                self._check(sentence, answer.sources, evidence, judging, answer.question)
            else:
                self._attribute(sentence, answer.sources, evidence, judging)
            if strict and sentence.verdict in FAILED:
                answer.notes.append(f"dropped a sentence that failed the support check: {text!r}")
                continue
            answer.sentences.append(sentence)
        answer.notes.extend(judging.notes() if judging else [])
        attributed = sum(s.attributed for s in answer.sentences)
        if attributed:
            answer.notes.append(
                f"{attributed} sentence(s) written without a citation were cited after the support check "
                "(post-hoc attribution)"
            )
        answer.citations = cite(answer.sentences, answer.sources, evidence)
        answer.text = " ".join(with_markers(s.text, s.citations) for s in answer.sentences)
        if not any(s.citations or s.verdict not in ("listing", "finding") for s in answer.sentences):
            # no sentences, or only a lead ("No indexed paper mentions …") or a count that cites nothing: no answer
            abstain(answer)

    def _check(
        self, sentence: Sentence, sources: list[Hit], evidence: dict[int, list[str]], judging=None, question: str = ""
    ) -> None:
        """Verdict and evidence for a sentence citing sources: a verbatim quote is its own evidence, else the claim
        model's contradiction, else (for a sentence restating a yes/no `question`) the claim model's support, else
        the verifier's."""
        text, cited = sentence.text, sentence.citations
        found = {n: _quote_in(text, sources[n - 1]) for n in cited} if len(text.split()) >= 5 else {}
        quotes = {n: quote for n, quote in found.items() if quote}
        verbatim = list(quotes)
        if verbatim:  # quoted word for word from a cited abstract (its math rendered or not): its own evidence
            sentence.verdict, sentence.score, sentence.judge = "supported", 1.0, "verbatim"
            for n in verbatim:
                _add(evidence, n, [quotes[n]])
            return
        vector = self.verifier.embedder.embed_query(text)
        restates = bool(question) and finding.is_yes_no(question) and finding.echoes(text, question)
        if self._claim_model_verdict(sentence, sources, evidence, vector, restates):
            return
        checks = {n: self.verifier.check(text, sources[n - 1].abstract, vector, sources[n - 1].title) for n in cited}
        verdict = max(checks.values(), key=lambda v: v.score)  # supported if any one cited paper supports it
        if judging:
            verdict = judging.check(text, [sources[n - 1].abstract for n in cited], verdict)
        sentence.verdict, sentence.score, sentence.judge = verdict.label, round(verdict.score, 3), verdict.judge
        for n, check in checks.items():
            _add(evidence, n, check.evidence[:1])

    def _claim_model_verdict(
        self, sentence: Sentence, sources: list[Hit], evidence: dict[int, list[str]], vector, restates: bool
    ) -> bool:
        """With a claim model, its verdict where it overrides the support check (True when it decided):
        - contradicted: a cited paper says otherwise (confidence ≥ CONTRADICTED) and none supports the sentence;
        - unsupported: the sentence `restates` a yes/no question and no cited paper supports it (the question's
          words in a paper's objective sentence are no support)."""
        model = self.verifier.claim_model
        if model is None:
            return False
        verdicts = {
            n: self.verifier.entail(sentence.text, sources[n - 1].abstract, vector, sources[n - 1].title)
            for n in sentence.citations
        }
        if any(v.label == "supports" for v in verdicts.values()):
            return False
        against = {n: v for n, v in verdicts.items() if v.label == "contradicts" and v.score >= CONTRADICTED}
        if against:
            worst = max(against.values(), key=lambda v: v.score)
            sentence.verdict, sentence.score, sentence.judge = "contradicted", round(1 - worst.score, 3), model.name
            for n, verdict in against.items():
                _add(evidence, n, verdict.evidence[:1])
            return True
        if restates:
            sentence.verdict, sentence.score, sentence.judge = "unsupported", 0.0, model.name
            return True
        return False

    def _attribute(self, sentence: Sentence, sources: list[Hit], evidence: dict[int, list[str]], judging=None) -> bool:
        """Post-hoc attribution: cite the retrieved paper that supports an unmarked sentence, if one does.

        The verifier ranks the papers; with an LLM judge, the judge decides about the best-ranked one."""
        if not sources or not sentence.text:
            return False
        vector = self.verifier.embedder.embed_query(sentence.text)
        verdicts = [
            (self.verifier.check(sentence.text, h.abstract, vector, h.title), n) for n, h in enumerate(sources, 1)
        ]
        best, n = max(verdicts, key=lambda pair: pair[0].score)
        if judging:
            best = judging.check(sentence.text, [sources[n - 1].abstract], best)
        sentence.judge = best.judge
        if best.label != "supported":
            return False
        _add(evidence, n, best.evidence[:1])
        sentence.citations, sentence.verdict, sentence.score, sentence.attributed = (
            [n],
            "supported",
            round(best.score, 3),
            True,
        )
        return True


def abstain(answer: Answer, reason: str | None = None) -> Answer:
    """The one way an answer abstains: the refusal phrase, no sentences or citations, the reason as a note."""
    answer.text, answer.abstained, answer.sentences, answer.citations = CANNOT_ANSWER, True, [], []
    if reason:
        answer.notes.append(reason)
    return answer


def _quote_in(text: str, hit: Hit) -> str | None:
    """The quoted part of an answer sentence when it is a passage of the paper's abstract, with the abstract's
    math as written or rendered (answers show "l₂-norm" for "$l_2$-norm"); else None."""
    for title in dict.fromkeys((hit.title, render_math(hit.title))):
        quote = extractive.quoted_text(text, title)
        if quote in hit.abstract or quote in render_math(hit.abstract):
            return quote
    return None


def _add(evidence: dict[int, list[str]], number: int, quotes: list[str]) -> None:
    evidence.setdefault(number, []).extend(q for q in quotes if q not in evidence[number])
