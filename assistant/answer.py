"""The answering chain: condense → retrieve → abstain? → generate → cite → verify.

The chain is built from what it uses, handed in: a search function, the papers, the settings,
the verifier, the extractor and (optionally) ready-made LLM backends.

Out of scope: retrieval internals (see `retrieve`), transport to LLMs (see `backends`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Protocol

from . import extractive, finding
from .abstain import CollectionTerms, Decision, decide, distinctive_papers, question_names
from .backends import Deadline, make_backend, resolve_backend
from .catalogue import answer_from_metadata, metadata_query
from .citations import (
    attach_stray_markers,
    cite,
    known_markers,
    normalise_markers,
    parse_markers,
    split_sentences,
    with_markers,
)
from .config import settings_with
from .embeddings import count_tokens
from .errors import BackendError
from .followup import acceptable_rewrite, clean_rewrite, lexical_rewrite
from .passages import best_passages
from .prompts import CANNOT_ANSWER, example_sentences, render
from .records import Answer, Comparison, ComparisonRow, Hit, Paper, Sentence
from .retrieve import Filters
from .text import render_math, simplify
from .untrusted import addresses_reader, passage
from .verify import Verifier

LEAD_FINDING_RE = re.compile(
    r"^((?:Yes|No)\.)\s+(?=\S)"
)  # an LLM's opening "Yes." / "No." (not split: "No." abbreviates)
CONTRADICTED = 0.6  # the claim model's confidence that marks a sentence contradicted (hand-set: no model ships)


class LLM(Protocol):
    """What the chain needs of an LLM backend (`backends.OpenAIBackend`, or a test's fake)."""

    model: str
    usage: dict

    def stream(self, messages: list[dict], max_tokens: int, temperature: float, **options) -> Iterator[str]: ...

    def complete(self, messages: list[dict], max_tokens: int, temperature: float, **options) -> str: ...


class Search(Protocol):
    def __call__(self, query: str, k: int = 10, filters=None) -> list[Hit]: ...


class Chain:
    """Answers questions over a collection of papers.

    `search(query, k=, filters=)` retrieves hits; `papers()` lists the collection; `backends` maps a
    backend name ('openai', 'local') to a ready-made LLM, others are built from `settings` on first use;
    `corpus_version()` changes whenever the papers do (default: their ids), so the collection's terms are rebuilt.
    Example: Chain(index_search, store.papers, Settings(), Verifier(embedder), Extractor(embedder)).ask("What is DANCE?")
    """

    def __init__(
        self,
        search: Search,
        papers: Callable[[], list[Paper]],
        settings,
        verifier: Verifier,
        extractor: extractive.Extractor,
        backends: dict[str, LLM] | None = None,
        corpus_version: Callable[[], object] | None = None,
        judge=None,
    ):
        self.search = search
        self.papers = papers
        self.settings = settings
        self._backends: dict[str, LLM] = dict(backends or {})
        self.corpus_version = corpus_version or (lambda: tuple(p.paper_id for p in self.papers()))
        self._backend_lock = threading.Lock()
        self.verifier = verifier
        self.judge = judge  # a `judge.AnswerJudge` (settings.verify.judge == "llm"), or None: the verifier decides
        self.extractor = extractor
        self._terms: tuple | None = None

    def backend(self, name: str, model: str | None = None):
        """The backend called `name`; for 'openai', `model` picks another model than settings.llm.model."""
        model = model if name == "openai" and model and model != self.settings.llm.model else None
        key = f"{name}:{model}" if model else name
        with self._backend_lock:  # concurrent first questions must share one backend (one server, one set of slots)
            if key not in self._backends:
                settings = settings_with({"llm.model": model}, self.settings) if model else self.settings
                self._backends[key] = make_backend(name, settings)
            return self._backends[key]

    # ---- the chain --------------------------------------------------------------------------
    def stream(
        self, question: str, history=None, filters=None, k=None, strict=None, backend=None, model: str | None = None
    ) -> Iterator:
        """Yield text deltas, then the final Answer; `model` is the openai backend's model for this question."""
        if not question or not question.strip():
            raise ValueError("the question is empty")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        name = resolve_backend(self.settings, backend)
        strict = self.settings.llm.strict if strict is None else strict
        deadline = self.deadline()  # one per question: the rewrite call and the answer call share it
        notes: list[str] = []
        standalone = self.condense(question, history or [], name, model, deadline, notes)
        # abstention sees the user's own words (with the previous question only for a real follow-up), never the rewrite
        own = lexical_rewrite(question, [m["content"] for m in history or [] if m.get("role") == "user"])
        timings["condense"] = _ms(started)
        t = time.perf_counter()
        listing = k is None and name == "extractive" and extractive.question_kind(standalone) == "papers"
        retrieval = self.settings.retrieval
        hits = self.search(standalone, k=k or (retrieval.list_k if listing else retrieval.k), filters=filters)
        timings["retrieve"] = _ms(t)
        answer = Answer(question=question, text="", sources=hits, backend=name, notes=notes)
        meta = metadata_query(standalone, self.papers()) if not filters else None
        if meta is not None:
            answer_from_metadata(answer, meta, self.search, self.settings.retrieval.min_similarity, k)
            answer.timings_ms = {**timings, "total": _ms(started)}
            yield from _as_deltas(answer.text)
            yield answer
            return
        hits = self.with_named_papers(standalone, hits, filters)
        answer.sources = hits
        # the answerability model was fitted on retrieval.k hits: a list question's wider retrieval is not its evidence
        decision = decide(own, hits[: retrieval.k] if listing else hits, self.terms())
        if filters:
            decision = self.within_selection(own, decision, filters, answer)
        if decision.abstain:
            abstain(answer, decision.reason)
            answer.model = ""
            answer.timings_ms = {**timings, "total": _ms(started)}
            yield answer.text
            yield answer
            return
        t = time.perf_counter()
        try:
            if name == "extractive":
                raw = self._extractive(standalone, hits, answer)
                yield from _as_deltas(_joined(raw))
            else:
                raw = yield from self._generate(standalone, hits, self.backend(name, model), answer, deadline)
        except BackendError as err:
            if not self.settings.llm.fallback_extractive:
                raise
            answer.notes.append(f"{name} backend failed: {err}; answered with the extractive backend instead")
            answer.backend = "extractive"
            answer.sources = hits  # the extractive answer numbers all hits, not the prompt's subset
            raw = self._extractive(standalone, hits, answer)
            yield "\n\n"
            yield from _as_deltas(_joined(raw))
        timings["generate"] = _ms(t)
        t = time.perf_counter()
        self.finish(answer, raw, strict)
        if answer.finding is None and not answer.abstained and finding.is_yes_no(standalone):
            self._llm_finding(standalone, answer)
        if answer.table:  # rows carry the final citation numbers
            numbers = {c.paper_id: c.number for c in answer.citations}
            answer.table.rows = [r for r in answer.table.rows if r.paper_id in numbers]
            for row in answer.table.rows:
                row.number = numbers[row.paper_id]
        timings["verify"] = _ms(t)
        answer.timings_ms = {**timings, "total": _ms(started)}
        yield answer

    def ask(self, question: str, **kwargs) -> Answer:
        return [item for item in self.stream(question, **kwargs)][-1]

    def deadline(self) -> Deadline:
        cfg = self.settings.llm
        return Deadline.start(cfg.first_token_timeout, cfg.timeout)

    def condense(
        self,
        question: str,
        history: list[dict],
        backend: str,
        model: str | None = None,
        deadline: Deadline | None = None,
        notes: list[str] | None = None,
    ) -> str:
        """A standalone question for retrieval: the LLM's rewrite when it keeps the user's question, else lexical."""
        previous = [m["content"] for m in history if m.get("role") == "user"]
        if not previous:
            return question
        lexical = lexical_rewrite(question, previous)
        if backend in ("openai", "local"):
            try:
                turns = "\n".join(f"{m['role']}: {m['content']}" for m in history[-4:])
                prompt = render("condense", history=turns, question=question)
                text = self.backend(backend, model).complete(
                    [{"role": "user", "content": prompt}], 80, 0.0, deadline=deadline
                )
                rewrite = clean_rewrite(text)
                if rewrite and CANNOT_ANSWER not in rewrite and acceptable_rewrite(question, rewrite):
                    return rewrite
                if notes is not None and rewrite:
                    notes.append(
                        f"the model's rewrite of the follow-up was not used (not a question keeping "
                        f"its key terms): {rewrite[:160]!r}"
                    )
            except BackendError:
                pass  # fall back to the lexical rewrite below; the answer step reports real failures
        return lexical

    def with_named_papers(self, question: str, hits: list[Hit], filters=None) -> list[Hit]:
        """The hits with the papers the question names (DANCE, MedHallu) first, fetched when retrieval missed them."""
        named = self.named_papers(question, hits)
        if not named:
            return hits
        missing = [pid for pid in named if pid not in {h.paper_id for h in hits}]
        if missing and not filters:  # a filtered question keeps to its filters
            hits = hits + self.search(question, k=len(missing), filters={"paper_ids": missing})
        order = {pid: i for i, pid in enumerate(named)}
        ranked = sorted(hits, key=lambda h: order.get(h.paper_id, len(order)))
        return [replace(h, rank=i) for i, h in enumerate(ranked, 1)]

    def within_selection(self, question: str, decision: Decision, filters, answer: Answer) -> Decision:
        """A question naming papers that are all outside the selected ones abstains, pointing at them."""
        scope = Filters.of(filters)
        named_ids, names = distinctive_papers(question, [], self.terms(), question_names(question))
        if scope is None or not named_ids:
            return decision
        if self.search(
            question, k=len(named_ids), filters=replace(scope, paper_ids=named_ids)
        ):  # the filters themselves decide the scope
            return decision
        named = self.search(question, k=len(named_ids), filters={"paper_ids": named_ids})
        what = ", ".join(names) or "what the question names"
        titles = "; ".join(f"“{h.title}”" for h in named[:3])
        answer.notes.append(
            f"{len(named)} indexed paper{'s' * (len(named) > 1)} outside the selection "
            f"mention{'s' * (len(named) == 1)} {what}: {titles}"
        )
        return Decision(True, f"none of the selected papers mentions {what}")

    def _table(
        self, question: str, hits: list[Hit], named: list[str]
    ) -> tuple[Comparison | None, list[tuple[str, list[int]]]]:
        """The named papers side by side (up to 4): verbatim sentences per column, and the same sentences as the
        answer's quotes (row by row); no table when fewer than two papers fill it."""
        numbers = [n for n, h in enumerate(hits, 1) if h.paper_id in named][:4]
        rows, quotes = [], []
        for n, cells in self.extractor.table(question, hits, numbers):
            if not cells:
                continue
            hit = hits[n - 1]
            rendered = {column: [render_math(s) for s in sentences] for column, sentences in cells.items()}
            rows.append(ComparisonRow(hit.paper_id, hit.title, n, {c: " ".join(ss) for c, ss in rendered.items()}))
            quotes += [
                (extractive.labelled(hit.title, s), [n]) for c in extractive.COLUMNS for s in rendered.get(c, [])
            ]
        if len(rows) < 2:
            return None, []
        return Comparison(list(extractive.COLUMNS), rows), quotes

    def named_papers(self, question: str, hits: list[Hit]) -> list[str]:
        """The papers a question names (DANCE, MedHallu), best-ranked first, whatever the answerability."""
        terms = self.terms()
        names = question_names(question)
        if any(not terms.knows(n) for n in names):
            return []
        return distinctive_papers(question, hits, terms, names)[0]

    def terms(self) -> CollectionTerms:
        """Which papers name each word of the collection; rebuilt when the corpus changes."""
        key = self.corpus_version()
        if self._terms is None or self._terms[0] != key:
            self._terms = (key, CollectionTerms(self.papers()))
        return self._terms[1]

    # ---- generation ------------------------------------------------------------------------
    def _extractive(self, question: str, hits: list[Hit], answer: Answer) -> list[tuple[str, list[int]]]:
        """The extractive answer as (verbatim sentence, [source number]) pairs, already split."""
        answer.model = extractive.MODEL
        named = self.named_papers(question, hits)
        if extractive.COMPARE_RE.search(question) and len(named) >= 2:
            answer.table, quotes = self._table(question, hits, named)
            if answer.table:
                return quotes
        chosen = [(render_math(sentence), number) for sentence, number in self.extractor.choose(question, hits, named)]
        if extractive.question_kind(question) == "papers" and not named:  # every match: a count, then the list
            return extractive.paper_list(chosen, hits, self.settings.retrieval.list_shown)
        if missing := extractive.no_figure(question, chosen, hits):  # "How much faster is it?" with no figure
            return missing
        quotes = [(sentence, [number]) for sentence, number in chosen]  # math as Unicode, as in every answer
        if finding.is_yes_no(question) and self.verifier.claim_model is not None:
            return self._yes_no(question, hits, quotes, answer)
        return quotes

    def _finding(self, question: str, hits: list[Hit]) -> tuple[str, list[tuple[str, list[int]]]]:
        """The papers' finding on a yes/no question, and the sentences that decide it as (sentence, [number])."""
        vector = self.verifier.embedder.embed_query(question)
        papers = hits[: self.settings.retrieval.finding_papers]
        verdicts = [self.verifier.entail(question, h.abstract, vector, h.title) for h in papers]
        deciding = []
        for number, (hit, verdict) in enumerate(zip(papers, verdicts), 1):
            if verdict.label == "not_enough_info":
                continue
            flat = " ".join(hit.abstract.split())
            for text in verdict.evidence[:1]:
                deciding += [(render_math(s), [number]) for s in split_sentences(text) if s in flat]
        return finding.combine(verdicts), deciding

    def _yes_no(
        self, question: str, hits: list[Hit], quotes: list[tuple[str, list[int]]], answer: Answer
    ) -> list[tuple[str, list[int]]]:
        """A yes/no question's extractive answer: the finding, then the sentences that decide it, then the best
        other quotes (four sentences in all)."""
        answer.finding, deciding = self._finding(question, hits)
        seen = {s for s, _ in deciding}
        rest = [(s, n) for s, n in quotes if s not in seen]
        return [(finding.Finding(finding.SENTENCES[answer.finding]), []), *(deciding + rest)[:4]]

    def _generate(self, question: str, hits: list[Hit], backend, answer: Answer, deadline: Deadline | None = None):
        answer.model = backend.model
        messages, used = self.messages(
            question, hits, getattr(backend, "context_window", None), getattr(backend, "source_tokens", None)
        )
        answer.sources = used
        chunks = []
        for delta in backend.stream(
            messages, self.settings.llm.max_tokens, self.settings.llm.temperature, deadline=deadline
        ):
            chunks.append(delta)
            yield delta
        text = "".join(chunks)
        answer.tokens = {
            "prompt": backend.usage.get("prompt") or sum(count_tokens(m["content"]) for m in messages),
            "completion": backend.usage.get("completion") or count_tokens(text),
        }
        if backend.usage.get("finish_reason") == "length":
            answer.notes.append("the model stopped at the token limit; the last sentence may be cut off")
        return text

    def _llm_finding(self, question: str, answer: Answer) -> None:
        """A generated answer's finding, from the same claim check over the papers it cites (else the sources);
        a note when the model's own opening yes or no disagrees."""
        if self.verifier.claim_model is None:
            return
        cited = {c.paper_id for c in answer.citations}
        papers = [h for h in answer.sources if h.paper_id in cited] or answer.sources
        answer.finding, _ = self._finding(question, papers)
        said = finding.stated(answer.text)
        if said and said != answer.finding:
            answer.notes.append(
                f"the model answered {said!r}, but the claim check of its sources finds {answer.finding!r}"
            )

    def messages(
        self, question: str, hits: list[Hit], window: int | None = None, source_tokens: int | None = None
    ) -> tuple[list[dict], list[Hit]]:
        """Chat messages with numbered sources: each paper's best passages within the backend's source budget
        (`source_tokens`, else settings.llm.source_tokens), dropping the lowest-ranked papers to fit the context
        window (the backend's `window` when it knows it, else settings.llm.context_window)."""
        system = render("system", cannot_answer=CANNOT_ANSWER)
        budget = (
            min(window or self.settings.llm.context_window, self.settings.llm.context_window)
            - self.settings.llm.max_tokens
            - 64
        )
        passages = best_passages(question, hits, self.extractor, source_tokens or self.settings.llm.source_tokens)
        used = list(hits)
        while True:
            sources = "\n\n".join(
                render("source", number=i, title=h.title, abstract=passage(p))
                for i, (h, p) in enumerate(zip(used, passages), 1)
            )
            prompt = render("answer", sources=sources, question=question, max_sentences=4)
            if count_tokens(system) + count_tokens(prompt) <= budget or len(used) <= 1:
                return [{"role": "system", "content": system}, {"role": "user", "content": prompt}], used
            used = used[:-1]

    # ---- citations and support -------------------------------------------------------------
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
            if strict and sentence.verdict != "supported":
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
        if not answer.sentences:
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
        if self._contradicted(sentence, sources, evidence, vector):
            return
        if (
            question
            and finding.is_yes_no(question)
            and finding.echoes(text, question)
            and self._unfound(sentence, sources, vector)
        ):
            return
        checks = {n: self.verifier.check(text, sources[n - 1].abstract, vector, sources[n - 1].title) for n in cited}
        verdict = max(checks.values(), key=lambda v: v.score)  # supported if any one cited paper supports it
        if judging:
            verdict = judging.check(text, [sources[n - 1].abstract for n in cited], verdict)
        sentence.verdict, sentence.score, sentence.judge = verdict.label, round(verdict.score, 3), verdict.judge
        for n, check in checks.items():
            _add(evidence, n, check.evidence[:1])

    def _unfound(self, sentence: Sentence, sources: list[Hit], vector) -> bool:
        """A sentence that restates a yes/no question is a finding only if the claim model finds a cited paper
        supporting it: the question's words in a paper's objective sentence are no support. Marks it unsupported."""
        model = self.verifier.claim_model
        if model is None:
            return False
        verdicts = [
            self.verifier.entail(sentence.text, sources[n - 1].abstract, vector, sources[n - 1].title)
            for n in sentence.citations
        ]
        if any(v.label == "supports" for v in verdicts):
            return False
        sentence.verdict, sentence.score, sentence.judge = "unsupported", 0.0, model.name
        return True

    def _contradicted(self, sentence: Sentence, sources: list[Hit], evidence: dict[int, list[str]], vector) -> bool:
        """Mark a sentence contradicted when the claim model finds that a cited paper says otherwise and none of
        them supports it (whatever the support check says: a restated question is not a finding)."""
        model = self.verifier.claim_model
        if model is None:
            return False
        verdicts = {
            n: self.verifier.entail(sentence.text, sources[n - 1].abstract, vector, sources[n - 1].title)
            for n in sentence.citations
        }
        against = {n: v for n, v in verdicts.items() if v.label == "contradicts" and v.score >= CONTRADICTED}
        if not against or any(v.label == "supports" for v in verdicts.values()):
            return False
        worst = max(against.values(), key=lambda v: v.score)
        sentence.verdict, sentence.score, sentence.judge = "contradicted", round(1 - worst.score, 3), model.name
        for n, verdict in against.items():
            _add(evidence, n, verdict.evidence[:1])
        return True

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


def _joined(quotes: list[tuple[str, list[int]]]) -> str:
    """Example: _joined([("A holds.", [1])]) == "A holds [1]." """
    return " ".join(with_markers(sentence, numbers) for sentence, numbers in quotes)


def _as_deltas(text: str) -> Iterator[str]:
    for i, word in enumerate(text.split(" ")):
        yield word if i == 0 else " " + word


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
