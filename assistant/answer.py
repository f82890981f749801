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

from . import abstain as known
from . import extractive, finding, tables
from .abstain import CollectionTerms, Decision, distinctive_papers, question_names
from .answerability import decide
from .backends import Deadline, make_backend, resolve_backend
from .catalogue import answer_from_metadata, metadata_query
from .citations import split_sentences, with_markers
from .config import settings_with
from .embeddings import count_tokens
from .errors import BackendError
from .followup import acceptable_rewrite, clean_rewrite, lexical_rewrite
from .passages import best_passages
from .prompts import CANNOT_ANSWER, render
from .records import Answer, Citation, Hit, Paper
from .retrieve import Filters
from .support import SupportCheck, abstain
from .text import render_math
from .untrusted import passage
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
        self.support = SupportCheck(verifier, judge)
        self.extractor = extractor
        self._terms: tuple | None = None

    @property
    def judge(self):
        """A `judge.AnswerJudge` (settings.verify.judge == "llm"), or None: the verifier decides."""
        return self.support.judge

    @judge.setter
    def judge(self, value) -> None:
        self.support.judge = value

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
        decision = self.decision(own, hits[: retrieval.k] if listing else hits, hits, filters, answer)
        if decision.abstain:
            abstain(answer, decision.reason)
            answer.model = ""
            answer.timings_ms = {**timings, "total": _ms(started)}
            yield answer.text
            yield answer
            return
        t = time.perf_counter()
        raw = yield from self._answer_text(standalone, hits, name, model, answer, deadline)
        if answer.backend != "extractive" and tables.COMPARE_RE.search(standalone):
            named = self.named_papers(standalone, answer.sources)  # the papers the prompt numbered
            if len(named) >= 2:  # the table beside a generated comparison: quotes, checked by construction
                answer.table = tables.comparison(self.extractor, self.terms(), standalone, answer.sources, named)[0]
        timings["generate"] = _ms(t)
        t = time.perf_counter()
        self._check(standalone, answer, raw, strict)
        missing = known.unknown_names(standalone, self.terms())
        if missing and not answer.abstained and (answer.backend != "extractive" or answer.table):  # no lead shown
            answer.notes.append(f"no indexed paper mentions {', '.join(missing)}: the answer covers the rest")
        timings["verify"] = _ms(t)
        answer.timings_ms = {**timings, "total": _ms(started)}
        yield answer

    def _answer_text(self, question: str, hits: list[Hit], name: str, model, answer: Answer, deadline):
        """Stream the chosen backend's text (or quotes); on a backend failure, the extractive answer with a note.
        Returns what the support check reads: the generated text, or the quotes as (sentence, [number])."""
        try:
            if name == "extractive":
                raw = self._extractive(question, hits, answer)
                yield from _as_deltas(_joined(raw))
                return raw
            return (yield from self._generate(question, hits, self.backend(name, model), answer, deadline))
        except BackendError as err:
            if not self.settings.llm.fallback_extractive:
                raise
            answer.notes.append(f"{name} backend failed: {err}; answered with the extractive backend instead")
            answer.backend = "extractive"
            answer.sources = hits  # the extractive answer numbers all hits, not the prompt's subset
            raw = self._extractive(question, hits, answer)
            yield "\n\n"
            yield from _as_deltas(_joined(raw))
            return raw

    def _check(self, question: str, answer: Answer, raw, strict: bool) -> None:
        """Cite and check the sentences, then the finding of a generated yes/no answer and the table's numbers."""
        self.support.finish(answer, raw, strict)
        if answer.finding is None and not answer.abstained and finding.is_yes_no(question):
            finding.of_generated(self.verifier, question, answer, self.settings.retrieval.finding_papers)
        if answer.table and answer.abstained:
            answer.table = None
        if answer.table:  # rows carry the final citation numbers
            numbers = {c.paper_id: c.number for c in answer.citations}
            for row in answer.table.rows:  # a compared paper the generated text left uncited is cited by its row
                if row.paper_id not in numbers:
                    quotes = [part for cell in row.cells.values() for part in split_sentences(cell)]
                    numbers[row.paper_id] = len(answer.citations) + 1
                    answer.citations.append(Citation(numbers[row.paper_id], row.paper_id, row.title, quotes[:2]))
            for row in answer.table.rows:
                row.number = numbers[row.paper_id]

    def decision(self, own: str, evidence: list[Hit], hits: list[Hit], filters, answer: Answer) -> Decision:
        """Answer or abstain: the answerability model over the `evidence` hits (a list question's wider retrieval is
        not its evidence: the model was fitted on retrieval.k hits), a comparison of named papers, the selection."""
        decision = decide(own, evidence, self.terms())
        if decision.abstain and tables.COMPARE_RE.search(own) and len(compared := self.compared(own, hits)) >= 2:
            # "How do MedHallu and ToolBeHonest differ in …": the named papers answer side by side, whatever share
            # of the other words they hold
            decision = Decision(False, "the question compares papers it names", compared, decision.known_names)
        return self.within_selection(own, decision, filters, answer) if filters else decision

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

    def named_papers(self, question: str, hits: list[Hit]) -> list[str]:
        """The papers a question names (DANCE, MedHallu), best-ranked first, whatever the answerability. When a name
        no paper mentions is among them ("Compare GaLore and DANCE"), only the known coined names count (no
        capitalised words, no title phrases)."""
        terms = self.terms()
        names = question_names(question)
        if any(not terms.knows(n) for n in names):  # only coined names then: "DANCE" beside "GaLore", not "India"
            names = [n for n in names if terms.knows(n) and known.coined(n)]
            return distinctive_papers(question, hits, terms, names)[0] if names else []
        return distinctive_papers(question, hits, terms, names)[0]

    def compared(self, question: str, hits: list[Hit]) -> list[str]:
        """The papers a comparison names (`compared_papers`), best-ranked first, when all of them are among the hits
        and the named papers (so their table can be made); else []."""
        wanted = set(known.compared_papers(question, self.terms()))
        found = [pid for pid in self.named_papers(question, hits) if pid in wanted]
        return found if len(found) == len(wanted) and wanted <= {h.paper_id for h in hits} else []

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
        # a partial answer first says what the collection lacks
        missing = known.unknown_names(question, self.terms())
        if not missing:
            return self._quotes(question, hits, answer)
        quotes = self._quotes(question, hits, answer, finding_lead=False)  # no yes/no finding on half a question
        lead = extractive.Listing(f"No indexed paper mentions {', '.join(missing)}.")
        return [(lead, []), *quotes] if quotes else []

    def _quotes(
        self, question: str, hits: list[Hit], answer: Answer, finding_lead: bool = True
    ) -> list[tuple[str, list[int]]]:
        named = self.named_papers(question, hits)
        if tables.COMPARE_RE.search(question) and len(named) >= 2:
            answer.table, quotes = tables.comparison(self.extractor, self.terms(), question, hits, named)
            if answer.table:
                return quotes
        chosen = [(render_math(sentence), number) for sentence, number in self.extractor.choose(question, hits, named)]
        if extractive.question_kind(question) == "papers" and not named:  # every match: a count, then the list
            return extractive.paper_list(chosen, hits, self.settings.retrieval.list_shown)
        if missing := extractive.no_figure(question, chosen, hits):  # "How much faster is it?" with no figure
            return missing
        # math as Unicode, as in every answer; a quote in the authors' voice ("we", "our") names its paper
        quotes = [(extractive.attributed(sentence, hits[number - 1].title), [number]) for sentence, number in chosen]
        if finding_lead and finding.is_yes_no(question) and self.verifier.claim_model is not None:
            return finding.quoted_answer(
                self.verifier, question, hits, quotes, answer, self.settings.retrieval.finding_papers
            )
        return quotes

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


def _joined(quotes: list[tuple[str, list[int]]]) -> str:
    """Example: _joined([("A holds.", [1])]) == "A holds [1]." """
    return " ".join(with_markers(sentence, numbers) for sentence, numbers in quotes)


def _as_deltas(text: str) -> Iterator[str]:
    for i, word in enumerate(text.split(" ")):
        yield word if i == 0 else " " + word


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
