"""The answering chain: deterministic unit tests with a scriptable fake LLM, the extractive backend, `assistant ask`.

The fake stands in for an OpenAI-compatible model so that citations, verdicts, fallbacks and prompts can be
checked exactly; the real model and server are exercised in test_backends_llama.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeLLM

from assistant import extractive
from assistant.abstain import compared_papers
from assistant.answer import Chain
from assistant.api import Assistant
from assistant.backends import resolve_backend
from assistant.config import LLMSettings, Settings
from assistant.embeddings import count_tokens
from assistant.errors import BackendError
from assistant.extractive import Extractor
from assistant.prompts import CANNOT_ANSWER, render
from assistant.records import Answer
from assistant.terminal import answer_to_text
from assistant.verify import Verifier

QUESTION = "How does Stable-SPAM stabilise 4-bit training?"
OFF_TOPIC = "What is the best recipe for sourdough bread?"
STABLE_SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"

# Claims grounded in the abstracts retrieved for QUESTION, and one fabricated claim.
SPAM_CLAIM = "Stable-SPAM stabilizes gradient norms in 4-bit LLM training"
SPAM_CLIPPING_CLAIM = (
    "Stable-SPAM adaptively updates the clipping threshold for spiked gradients by tracking their historical maxima"
)
ANTIDOTE_CLAIM = "Antidote removes harmful parameters with one-shot pruning after harmful fine-tuning"
ADADFQ_CLAIM = "Adaptive Data-Free Quantization revisits DFQ from a zero-sum game perspective"
FABRICATED_CLAIM = (
    "AdaDFQ trains quantized networks on 500 billion tokens of Chinese poetry and beats GPT-4 by 37 points"
)


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> FakeLLM:
    return FakeLLM()


@pytest.fixture(scope="module")
def chain_assistant(seed_index_dir, embedder, fake) -> Assistant:
    """One Assistant for the module, so the verifier's and extractor's sentence embeddings are computed once."""
    settings = Settings(llm=LLMSettings(backend="openai"))
    return Assistant(index_dir=seed_index_dir, settings=settings, embedder=embedder, backends={"openai": fake})


@pytest.fixture
def assistant(chain_assistant, fake) -> Assistant:
    """The module's Assistant with an empty fake; settings changed through monkeypatch are restored after."""
    fake.reset()
    return chain_assistant


@pytest.fixture(scope="module")
def hits(chain_assistant):
    return chain_assistant.search(QUESTION, k=chain_assistant.settings.retrieval.k)


def number_of(hits, title_start: str) -> int:
    """The 1-based source number of the retrieved paper whose title starts with `title_start`."""
    for number, hit in enumerate(hits, 1):
        if hit.title.startswith(title_start):
            return number
    raise AssertionError(f"no retrieved paper titled {title_start!r}: {[h.title for h in hits]}")


def consume(stream) -> tuple[list, Answer]:
    """All items of an ask_stream: (text deltas, final Answer)."""
    items = list(stream)
    assert isinstance(items[-1], Answer), f"the stream did not end with an Answer: {items[-1]!r}"
    assert all(isinstance(item, str) for item in items[:-1])
    return items[:-1], items[-1]


def abstract_of(assistant: Assistant, paper_id: str) -> str:
    return assistant.paper(paper_id).abstract


def shown_abstract(assistant: Assistant, paper_id: str) -> str:
    """The abstract as answers quote it: its inline math rendered ("$2$" reads "2")."""
    from assistant.text import render_math

    return render_math(assistant.paper(paper_id).abstract)


@pytest.fixture(scope="module")
def mixed(chain_assistant, fake, hits):
    """One streamed answer citing three papers out of rank order, with a repeated citation."""
    spam, antidote, adadfq = (number_of(hits, t) for t in ("Stable-SPAM", "Antidote", "Adaptive Data-Free"))
    raw = (
        f"{ANTIDOTE_CLAIM} [{antidote}]. {SPAM_CLAIM} [{spam}]. {ADADFQ_CLAIM} [{adadfq}]. "
        f"{SPAM_CLIPPING_CLAIM} [{spam}][{antidote}]."
    )
    fake.reset()
    fake.enqueue(raw)
    deltas, answer = consume(chain_assistant.ask_stream(QUESTION))
    return {
        "raw": raw,
        "deltas": deltas,
        "answer": answer,
        "history": list(fake.history),
        "expected_papers": [hits[antidote - 1].paper_id, hits[spam - 1].paper_id, hits[adadfq - 1].paper_id],
    }


def test_chain__built_on_its_own_from_a_search_function_the_papers_and_a_fake_llm(chain_assistant, embedder, hits):
    llm = FakeLLM("solo-model").enqueue(f"{SPAM_CLAIM} [{number_of(hits, 'Stable-SPAM')}].")
    papers = [chain_assistant.paper(h.paper_id) for h in hits]
    searched = []

    def search(query, k=10, filters=None):
        searched.append((query, k, filters))
        return hits[:k]

    chain = Chain(
        search,
        lambda: papers,
        Settings(llm=LLMSettings(backend="openai")),
        Verifier(embedder),
        Extractor(embedder),
        backends={"openai": llm},
    )
    answer = chain.ask(QUESTION)
    assert searched == [(QUESTION, 5, None)] and len(llm.history) == 1
    assert answer.model == "solo-model" and [c.title for c in answer.citations] == [STABLE_SPAM_TITLE]
    assert answer.sentences[0].verdict == "supported" and answer.text == f"{SPAM_CLAIM} [1]."


# ---- citations: removal, renumbering, evidence ----------------------------------------------------


def test_chain__markers_pointing_nowhere_are_removed_and_counted_in_notes(assistant, fake, hits):
    spam = number_of(hits, "Stable-SPAM")
    fake.enqueue(f"{SPAM_CLAIM} [{spam}][9]. {SPAM_CLIPPING_CLAIM} [7].")
    answer = assistant.ask(QUESTION)
    assert "removed 2 citation marker(s) that pointed at no retrieved paper" in answer.notes
    # the second sentence lost its only marker; the support check finds the paper that supports it
    assert [s.citations for s in answer.sentences] == [[1], [1]]
    assert [(s.verdict, s.attributed) for s in answer.sentences] == [("supported", False), ("supported", True)]
    assert [(c.number, c.title) for c in answer.citations] == [(1, STABLE_SPAM_TITLE)]
    assert "[9]" not in answer.text and "[7]" not in answer.text


def test_chain__citations_renumbered_in_order_of_first_use(mixed):
    answer = mixed["answer"]
    assert [c.number for c in answer.citations] == [1, 2, 3]
    assert [s.citations for s in answer.sentences] == [[1], [2], [3], [2, 1]]
    assert answer.text == (f"{ANTIDOTE_CLAIM} [1]. {SPAM_CLAIM} [2]. {ADADFQ_CLAIM} [3]. {SPAM_CLIPPING_CLAIM} [2][1].")


def test_chain__citations_point_at_the_papers_the_model_cited(mixed):
    assert [c.paper_id for c in mixed["answer"].citations] == mixed["expected_papers"]
    assert {c.paper_id for c in mixed["answer"].citations} <= {h.paper_id for h in mixed["answer"].sources}


def test_chain__evidence_is_verbatim_from_the_cited_abstract(mixed, chain_assistant):
    for citation in mixed["answer"].citations:
        abstract = abstract_of(chain_assistant, citation.paper_id)
        assert citation.evidence, f"citation [{citation.number}] has no evidence"
        for evidence in citation.evidence:
            assert evidence in abstract, f"[{citation.number}] evidence not verbatim: {evidence!r}"


def test_chain__grounded_sentences_are_supported(mixed):
    assert [s.verdict for s in mixed["answer"].sentences] == ["supported"] * 4
    assert all(0.5 <= s.score <= 1.0 for s in mixed["answer"].sentences)
    assert not mixed["answer"].abstained and mixed["answer"].notes == []


def test_chain__stream_deltas_are_the_model_text_and_end_with_the_answer(mixed):
    assert len(mixed["deltas"]) > 10
    assert "".join(mixed["deltas"]) == mixed["raw"]
    assert mixed["answer"].backend == "openai" and mixed["answer"].model == "fake-model"


def test_chain__tokens_are_counted_when_the_backend_reports_no_usage(mixed):
    messages = mixed["history"][0]
    assert mixed["answer"].tokens == {
        "prompt": sum(count_tokens(m["content"]) for m in messages),
        "completion": count_tokens(mixed["raw"]),
    }


@pytest.mark.parametrize(
    "script",
    [
        "{claim}. [{n}]",
        "{claim}. [{n}]. {clipping}. [{n}]",
        "[{n}]. {claim}. {clipping} [{n}].",
    ],
    ids=["after-the-last-full-stop", "after-each-full-stop-followed-by-a-full-stop", "leading-stray-marker"],
)
def test_chain__markers_outside_sentences_cite_their_neighbour_not_an_empty_sentence(assistant, fake, hits, script):
    fake.enqueue(script.format(claim=SPAM_CLAIM, clipping=SPAM_CLIPPING_CLAIM, n=number_of(hits, "Stable-SPAM")))
    answer = assistant.ask(QUESTION)
    expected = [(f"{SPAM_CLAIM}.", [1], "supported")]
    if "clipping" in script:
        expected.append((f"{SPAM_CLIPPING_CLAIM}.", [1], "supported"))
    assert [(s.text, s.citations, s.verdict) for s in answer.sentences] == expected
    assert answer.text.startswith(f"{SPAM_CLAIM} [1].")


def test_chain__backend_usage_is_reported_and_a_length_stop_is_noted(assistant, fake, hits):
    fake.enqueue(
        f"{SPAM_CLAIM} [{number_of(hits, 'Stable-SPAM')}].",
        finish_reason="length",
        usage={"prompt": 1234, "completion": 56},
    )
    answer = assistant.ask(QUESTION)
    assert answer.tokens == {"prompt": 1234, "completion": 56}
    assert answer.notes == ["the model stopped at the token limit; the last sentence may be cut off"]


# ---- support checking -----------------------------------------------------------------------------


def unsupported_script(hits) -> str:
    spam, antidote, adadfq = (number_of(hits, t) for t in ("Stable-SPAM", "Antidote", "Adaptive Data-Free"))
    return f"{FABRICATED_CLAIM} [{adadfq}]. {SPAM_CLAIM} [{spam}]. {ANTIDOTE_CLAIM} [{antidote}]."


def test_chain__fabricated_claim_citing_a_real_source_is_marked_unsupported(assistant, fake, hits):
    fake.enqueue(unsupported_script(hits))
    answer = assistant.ask(QUESTION, strict=False)
    assert [s.verdict for s in answer.sentences] == ["unsupported", "supported", "supported"]
    assert answer.sentences[0].text == f"{FABRICATED_CLAIM}."
    assert [c.title for c in answer.citations][0] == "Adaptive Data-Free Quantization"
    assert f"{FABRICATED_CLAIM} [1]. [unsupported?]" in answer_to_text(answer)


def test_chain__strict_drops_the_unsupported_sentence_and_renumbers_the_rest(assistant, fake, hits):
    fake.enqueue(unsupported_script(hits))
    answer = assistant.ask(QUESTION, strict=True)
    assert [s.text for s in answer.sentences] == [f"{SPAM_CLAIM}.", f"{ANTIDOTE_CLAIM}."]
    assert [s.citations for s in answer.sentences] == [[1], [2]]
    assert [(c.number, c.title.split(":")[0]) for c in answer.citations] == [(1, "Stable-SPAM"), (2, "Antidote")]
    assert answer.text == f"{SPAM_CLAIM} [1]. {ANTIDOTE_CLAIM} [2]."
    assert answer.notes == [f"dropped a sentence that failed the support check: {FABRICATED_CLAIM + '.'!r}"]


def test_chain__strict_with_nothing_supported_abstains(assistant, fake, hits):
    fake.enqueue(f"{FABRICATED_CLAIM} [{number_of(hits, 'Adaptive Data-Free')}].")
    answer = assistant.ask(QUESTION, strict=True)
    assert answer.abstained and answer.text == CANNOT_ANSWER
    assert answer.sentences == [] and answer.citations == []


def test_chain__unmarked_sentences_get_the_supporting_papers_citation_or_are_flagged_uncited(assistant, fake, hits):
    spam = number_of(hits, "Stable-SPAM")
    fake.enqueue(f"{SPAM_CLAIM} (Source {spam}). {SPAM_CLIPPING_CLAIM}. {FABRICATED_CLAIM}.")
    answer = assistant.ask(QUESTION, strict=False)
    assert [(s.citations, s.verdict, s.attributed) for s in answer.sentences] == [
        ([1], "supported", False),
        ([1], "supported", True),
        ([], "uncited", False),
    ]
    assert [c.title for c in answer.citations] == [STABLE_SPAM_TITLE]
    assert answer.notes == [
        "1 sentence(s) written without a citation were cited after the support check (post-hoc attribution)"
    ]
    text = answer_to_text(answer)
    assert f"{SPAM_CLIPPING_CLAIM} [1]. [cited post hoc]" in text
    assert f"{FABRICATED_CLAIM}. [uncited: no source supports it]" in text
    assert answer.to_dict()["sentences"][2]["verdict"] == "uncited"
    assert answer.to_dict()["sentences"][1]["attributed"] is True


def test_chain__strict_drops_unmarked_sentences_no_paper_supports(assistant, fake, hits):
    fake.enqueue(f"{SPAM_CLAIM} [{number_of(hits, 'Stable-SPAM')}]. {FABRICATED_CLAIM}.")
    answer = assistant.ask(QUESTION, strict=True)
    assert [s.text for s in answer.sentences] == [f"{SPAM_CLAIM}."]
    assert answer.notes == [f"dropped a sentence that failed the support check: {FABRICATED_CLAIM + '.'!r}"]


# ---- abstaining -----------------------------------------------------------------------------------


def test_chain__off_topic_question_abstains_without_calling_the_model(assistant, fake):
    deltas, answer = consume(assistant.ask_stream(OFF_TOPIC))
    assert fake.history == []
    assert answer.abstained and answer.text == CANNOT_ANSWER and deltas == [CANNOT_ANSWER]
    assert answer.citations == [] and answer.sentences == []
    assert answer.sources, "the closest papers are still returned for display"


def test_chain__model_answering_the_refusal_phrase_abstains(assistant, fake):
    fake.enqueue(CANNOT_ANSWER)
    answer = assistant.ask(QUESTION)
    assert len(fake.history) == 1
    assert answer.abstained and answer.text == CANNOT_ANSWER
    assert answer.citations == [] and answer.sentences == []


def test_chain__empty_question_is_refused(assistant):
    with pytest.raises(ValueError, match="empty"):
        assistant.ask("   ")


# ---- backend failures -----------------------------------------------------------------------------

BROKEN = "the connection to the endpoint http://127.0.0.1:9/v1 broke before the answer was complete"


def test_chain__backend_error_mid_stream_falls_back_to_an_extractive_answer(assistant, fake, chain_assistant):
    fake.enqueue(["Stable-SPAM", " clips", BackendError(BROKEN)])
    deltas, answer = consume(assistant.ask_stream(QUESTION))
    assert deltas[:2] == ["Stable-SPAM", " clips"] and "\n\n" in deltas
    assert answer.notes[0] == f"openai backend failed: {BROKEN}; answered with the extractive backend instead"
    assert answer.backend == "extractive" and answer.model == extractive.MODEL
    assert not answer.abstained and not answer.text.startswith("Stable-SPAM clips")
    assert answer.sentences and all(s.citations for s in answer.sentences)
    by_number = {c.number: c.paper_id for c in answer.citations}
    for sentence in answer.sentences:  # verbatim, after the paper's label a first-person quote carries
        assert any(
            extractive.quoted_text(sentence.text, chain_assistant.paper(by_number[n]).title)
            in shown_abstract(chain_assistant, by_number[n])
            for n in sentence.citations
        )


def test_chain__fallback_answer_lists_every_retrieved_paper_even_if_the_prompt_held_fewer(
    assistant, fake, hits, monkeypatch
):
    monkeypatch.setattr(assistant.settings.llm, "context_window", 1200)
    fake.enqueue([BackendError(BROKEN)])
    answer = assistant.ask(QUESTION)
    assert answer.backend == "extractive"
    assert [h.paper_id for h in answer.sources] == [h.paper_id for h in hits]
    assert not any(note.startswith("removed") for note in answer.notes)


def test_chain__backend_error_without_fallback_is_raised(assistant, fake, monkeypatch):
    monkeypatch.setattr(assistant.settings.llm, "fallback_extractive", False)
    fake.enqueue(["Stable-SPAM", BackendError(BROKEN)])
    with pytest.raises(BackendError, match="broke before the answer was complete"):
        assistant.ask(QUESTION)


# ---- follow-ups -----------------------------------------------------------------------------------


def test_chain__follow_up_is_condensed_by_the_model_and_retrieval_uses_it(assistant, fake, monkeypatch):
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Stable-SPAM clips spiked gradients [1]."},
    ]
    follow_up, condensed = "Does it beat Adam?", "Does Stable-SPAM outperform Adam in 4-bit LLM training?"
    searched = []
    search = assistant.search

    def spy(query, **kwargs):
        searched.append(query)
        return search(query, **kwargs)

    monkeypatch.setattr(assistant.chain, "search", spy)
    condensed_hits = search(condensed, k=assistant.settings.retrieval.k)
    fake.enqueue(condensed + "\nExtra line the chain ignores.")
    fake.enqueue(f"{SPAM_CLAIM} [{number_of(condensed_hits, 'Stable-SPAM')}].")
    answer = assistant.ask(follow_up, history=history)

    turns = f"user: {QUESTION}\nassistant: Stable-SPAM clips spiked gradients [1]."
    assert fake.history[0] == [{"role": "user", "content": render("condense", history=turns, question=follow_up)}]
    assert searched == [condensed]
    assert f"Question: {condensed}\n" in fake.history[1][1]["content"]
    assert answer.question == follow_up
    assert [c.title for c in answer.citations] == [STABLE_SPAM_TITLE]


LLM_TRAINING_HISTORY = [
    {"role": "user", "content": "How can a 7B LLM be trained on a single consumer GPU?"},
    {"role": "assistant", "content": "GaLore-style projections cut optimizer memory [1]."},
    {"role": "user", "content": "Which optimizers reduce memory in LLM training?"},
    {"role": "assistant", "content": "Low-rank and 8-bit optimizers do [1]."},
    {"role": "user", "content": QUESTION},
    {"role": "assistant", "content": "Stable-SPAM clips spiked gradients [1]."},
]


@pytest.mark.parametrize(
    "rewrite",
    [
        "Question: How can a 7B LLM be trained on a single consumer GPU?",
        "A 7B LLM can be trained on one GPU with low-rank projections [1].",
    ],
    ids=["rewrite-to-the-earlier-topic", "rewrite-that-answers-instead"],
)
def test_chain__a_hijacking_rewrite_is_discarded_and_the_off_topic_question_abstains(assistant, fake, rewrite):
    fake.enqueue(rewrite)
    answer = assistant.ask(OFF_TOPIC, history=LLM_TRAINING_HISTORY)
    assert len(fake.history) == 1  # the rewrite call only: no answer is generated
    assert answer.abstained and answer.text == CANNOT_ANSWER and answer.citations == []
    assert answer.notes[0].startswith("the model's rewrite of the follow-up was not used")


def test_chain__a_discarded_rewrite_falls_back_to_the_lexical_one_for_retrieval(assistant, fake, monkeypatch):
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Stable-SPAM clips spiked gradients [1]."},
    ]
    searched = []
    search = assistant.search
    monkeypatch.setattr(assistant.chain, "search", lambda query, **kw: searched.append(query) or search(query, **kw))
    fake.enqueue("Stable-SPAM is better.")  # not a question
    fake.enqueue(f"{SPAM_CLAIM} [1].")
    assistant.ask("Does it beat Adam?", history=history)
    assert searched[0] == f"{QUESTION} Does it beat Adam?"


# ---- the prompt -----------------------------------------------------------------------------------


def test_prompt__numbers_every_source_with_title_and_delimited_abstract(mixed, hits):
    system, user = mixed["history"][0]
    assert system == {"role": "system", "content": render("system", cannot_answer=CANNOT_ANSWER)}
    assert CANNOT_ANSWER in system["content"]
    assert user["role"] == "user"
    positions = []
    for number, hit in enumerate(hits, 1):
        block = f"[{number}] Title: {hit.title}\nAbstract: <<<{hit.abstract}>>>"
        assert block in user["content"], f"source {number} missing or not delimited"
        positions.append(user["content"].index(block))
    assert positions == sorted(positions)
    assert f"Question: {QUESTION}\n" in user["content"]


def test_prompt__drops_lowest_ranked_sources_to_fit_the_context_window(assistant, fake, hits, monkeypatch):
    monkeypatch.setattr(assistant.settings.llm, "context_window", 1200)
    fake.enqueue(f"{SPAM_CLAIM} [{number_of(hits, 'Stable-SPAM')}]. {SPAM_CLIPPING_CLAIM} [5].")
    answer = assistant.ask(QUESTION)
    sent = len(answer.sources)
    assert 1 <= sent < len(hits)
    assert [h.paper_id for h in answer.sources] == [h.paper_id for h in hits[:sent]]
    messages = fake.history[0]
    assert sum(count_tokens(m["content"]) for m in messages) <= 1200 - assistant.settings.llm.max_tokens
    assert f"[{sent}] Title: {hits[sent - 1].title}" in messages[1]["content"]
    assert f"[{sent + 1}] Title:" not in messages[1]["content"]
    assert "removed 1 citation marker(s) that pointed at no retrieved paper" in answer.notes


def test_prompt__fits_the_backends_own_smaller_context_window(assistant, fake, hits, monkeypatch):
    # A llama.cpp server started with n_ctx=2048 ends the stream mid-answer when the prompt overflows it.
    monkeypatch.setattr(fake, "context_window", 1200, raising=False)
    assert assistant.settings.llm.context_window > 1200
    fake.enqueue(f"{SPAM_CLAIM} [1].")
    answer = assistant.ask(QUESTION)
    assert 1 <= len(answer.sources) < len(hits)
    assert sum(count_tokens(m["content"]) for m in fake.history[0]) <= 1200 - assistant.settings.llm.max_tokens


# ---- the extractive backend (no LLM) --------------------------------------------------------------


@pytest.fixture(scope="module")
def extractive_answer(chain_assistant, fake):
    fake.reset()
    deltas, answer = consume(chain_assistant.ask_stream(QUESTION, backend="extractive"))
    return {"deltas": deltas, "answer": answer, "history": list(fake.history)}


def test_extractive__cites_the_stable_spam_paper_without_any_llm(extractive_answer):
    answer = extractive_answer["answer"]
    assert extractive_answer["history"] == []
    assert answer.backend == "extractive" and answer.model == extractive.MODEL
    assert STABLE_SPAM_TITLE in [c.title for c in answer.citations]
    assert not answer.abstained and answer.tokens == {}


def test_extractive__every_sentence_is_verbatim_from_a_cited_abstract_and_supported(extractive_answer, chain_assistant):
    answer = extractive_answer["answer"]
    by_number = {c.number: c.paper_id for c in answer.citations}
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert answer.sentences
    for sentence in answer.sentences:
        assert sentence.citations and sentence.verdict == "supported"
        assert any(
            extractive.quoted_text(sentence.text, chain_assistant.paper(by_number[n]).title)
            in shown_abstract(chain_assistant, by_number[n])
            for n in sentence.citations
        ), sentence.text
    for citation in answer.citations:
        assert all(e in shown_abstract(chain_assistant, citation.paper_id) for e in citation.evidence)


def test_extractive__stream_deltas_concatenate_to_the_answer_text(extractive_answer):
    deltas = extractive_answer["deltas"]
    assert len(deltas) > 5
    assert "".join(deltas) == extractive_answer["answer"].text


# ---- choosing a backend ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, requested, expected",
    [
        ({}, None, "extractive"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, None, "openai"),
        ({"OPENAI_API_KEY": "sk-test"}, None, "openai"),
        ({"ASSISTANT_LLM__BASE_URL": "http://127.0.0.1:8080/v1"}, None, "openai"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, "extractive", "extractive"),
        ({}, "local", "local"),
        ({"ASSISTANT_LLM__BACKEND": "local"}, None, "local"),
    ],
    ids=[
        "auto-without-endpoint-is-extractive",
        "auto-with-OPENAI_BASE_URL-is-openai",
        "auto-with-OPENAI_API_KEY-is-openai",
        "auto-with-ASSISTANT_LLM__BASE_URL-is-openai",
        "explicit-request-wins",
        "explicit-local",
        "backend-from-settings",
    ],
)
def test_resolve_backend(env, requested, expected, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_backend(Settings(), requested) == expected


def test_chain__a_model_choice_gets_its_own_openai_backend_and_the_default_stays(assistant, fake, monkeypatch):
    monkeypatch.setattr(assistant.settings.llm, "base_url", "http://127.0.0.1:9/v1")  # built, never called
    chain = assistant.chain
    other = chain.backend("openai", "other-model")
    assert other is not fake and other.model == "other-model" and other.base_url == "http://127.0.0.1:9/v1"
    assert chain.backend("openai", "other-model") is other
    assert chain.backend("openai", assistant.settings.llm.model) is fake and chain.backend("openai") is fake


# ---- the `assistant ask` command ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_runs(seed_index_dir):
    """`assistant ask` with and without --json; both start at once because each process loads the model."""
    executable = Path(sys.executable).parent / "assistant"
    base = [str(executable), "--index-dir", str(seed_index_dir), "--quiet", "ask", QUESTION, "--k", "3"]
    processes = {
        name: subprocess.Popen(
            base + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
        )
        for name, extra in (("json", ["--json"]), ("text", []))
    }
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=400)
        results[name] = (process.returncode, out, err)
    return results


def test_cli_ask_json__prints_one_answer_object_with_the_documented_keys(cli_runs):
    code, out, err = cli_runs["json"]
    assert code == 0, err
    data = json.loads(out)  # exactly one JSON document: trailing text would fail to parse
    assert set(data) == {
        "question",
        "text",
        "citations",
        "sources",
        "sentences",
        "abstained",
        "backend",
        "model",
        "timings_ms",
        "tokens",
        "notes",
        "table",  # a comparison's papers side by side; null for other questions
        "finding",  # a yes/no question's finding (with a claim model); null for other questions
    }
    assert data["table"] is None and data["finding"] is None
    assert data["question"] == QUESTION and data["backend"] == "extractive" and not data["abstained"]
    assert STABLE_SPAM_TITLE in [c["title"] for c in data["citations"]]
    assert len(data["sources"]) == 3
    assert set(data["timings_ms"]) >= {"retrieve", "generate", "verify", "total"}


def test_cli_ask_text__prints_the_answer_and_the_references_list(cli_runs):
    code, out, err = cli_runs["text"]
    assert code == 0, err
    answer_line, _, rest = out.partition("\nReferences:\n")
    assert "[1]" in answer_line
    assert any(line.startswith("  [") and STABLE_SPAM_TITLE in line for line in rest.splitlines())
    assert '      evidence: "' in rest
    assert out.rstrip().endswith(f"— backend: extractive ({extractive.MODEL})")


@pytest.mark.slow
def test_extractive__which_papers_opens_with_a_count_and_lists_every_match(chain_assistant):
    answer = chain_assistant.ask("Which papers study mixture-of-experts efficiency?", backend="extractive")
    head, *lines = answer.sentences
    assert re.fullmatch(r"(At least )?\d+ indexed papers match(; the closest \d+)?:", head.text), head.text
    assert head.verdict == "listing" and not head.citations
    count = int(re.search(r"\d+", head.text).group())
    assert count == len({n for s in lines for n in s.citations}) >= 2  # every match is cited
    assert all(s.verdict in ("supported", "listing") for s in lines)


def test_generated_comparison__the_table_cites_a_compared_paper_the_text_left_out(assistant, fake):
    question = "Compare Stable-SPAM and EvoPress"
    shown = assistant.search(question, k=assistant.settings.retrieval.k)
    spam = number_of(shown, "Stable-SPAM")
    fake.enqueue(f"Stable-SPAM stabilizes 4-bit training with enhanced gradient normalization and clipping [{spam}].")
    answer = assistant.ask(question)
    assert answer.backend == "openai" and answer.table is not None
    by_title = {row.title.split(":")[0]: row for row in answer.table.rows}
    assert set(by_title) == {"Stable-SPAM", "EvoPress"}
    numbers = {c.paper_id: c.number for c in answer.citations}
    assert numbers[by_title["Stable-SPAM"].paper_id] == by_title["Stable-SPAM"].number == 1  # cited by the text
    evopress = answer.citations[by_title["EvoPress"].number - 1]
    assert evopress.paper_id == by_title["EvoPress"].paper_id and evopress.number == 2  # cited by its row
    assert evopress.evidence and all(e in " ".join(by_title["EvoPress"].cells.values()) for e in evopress.evidence)


def test_generated_answer__no_table_when_the_model_cannot_answer(assistant, fake):
    fake.enqueue(CANNOT_ANSWER)
    answer = assistant.ask("Compare Stable-SPAM and EvoPress")
    assert answer.abstained and answer.table is None


def test_extractive__a_comparison_of_two_named_papers_is_answered_whatever_else_it_asks(assistant):
    # the answerability model alone abstained here: few of "domain, size, top models perform" are in the papers
    question = "How do MedHallu and ToolBeHonest differ in domain, size, and how well top models perform?"
    answer = assistant.ask(question, backend="extractive")
    assert not answer.abstained and answer.table is not None
    assert {row.title.split(":")[0] for row in answer.table.rows} == {"MedHallu", "ToolBeHonest"}


@pytest.mark.parametrize(
    "question, unknown, known",
    [
        ("Compare GaLore and DANCE", "GaLore", "DANCE"),
        ("Does DANCE use GaLore?", "GaLore", "DANCE"),
    ],
    ids=["compare", "yes-no"],
)
def test_extractive__a_name_no_paper_mentions_is_said_first_and_the_known_one_is_answered(
    assistant, question, unknown, known
):
    answer = assistant.ask(question, backend="extractive")
    assert not answer.abstained
    head, *rest = answer.sentences
    assert head.text == f"No indexed paper mentions {unknown}." and head.verdict == "listing" and not head.citations
    cited = {c.title.split(":")[0] for c in answer.citations}
    assert cited == {known}, cited  # not papers that merely come next in the ranking
    assert rest and all(s.verdict == "supported" for s in rest)


def test_generated_answer__a_name_no_paper_mentions_is_noted(assistant, fake):
    shown = assistant.search("Compare GaLore and EvoPress", k=assistant.settings.retrieval.k)
    fake.enqueue(f"EvoPress searches for dynamic compression profiles [{number_of(shown, 'EvoPress')}].")
    answer = assistant.ask("Compare GaLore and EvoPress")
    assert answer.backend == "openai" and not answer.abstained
    assert any(n.startswith("no indexed paper mentions GaLore") for n in answer.notes), answer.notes


@pytest.mark.parametrize(
    "question, titles",
    [
        ("How do MedHallu and ToolBeHonest differ in domain and size?", {"MedHallu", "ToolBeHonest"}),
        ("Compare GaLore and DANCE", set()),  # a name no paper mentions: the answerability model decides
        ("How does EvoPress differ from pruning?", set()),  # one named paper is no comparison of papers
        ("Is DANCE better compared to plain training?", set()),
    ],
    ids=["two-coined-titles", "an-unknown-name", "one-name", "one-name-compared-to"],
)
def test_compared_papers__two_papers_named_by_the_names_their_titles_coin(assistant, question, titles):
    found = compared_papers(question, assistant.chain.terms())
    assert {assistant.paper(pid).title.split(":")[0] for pid in found} == titles


@pytest.fixture
def abstaining_model(monkeypatch):
    """The answerability model abstaining on every question, so that only the comparison rule can answer."""
    from assistant import answer as chain_module
    from assistant.abstain import Decision

    monkeypatch.setattr(chain_module, "decide", lambda *args, **kwargs: Decision(True, "stub: abstain"))


MEDHALLU_VS_TOOLBEHONEST = "How do MedHallu and ToolBeHonest differ in domain, size, and how well top models perform?"


def test_comparison_rule__answers_two_named_papers_the_model_abstains_on(assistant, abstaining_model):
    answer = assistant.ask(MEDHALLU_VS_TOOLBEHONEST, backend="extractive")
    assert not answer.abstained and answer.table is not None
    assert {row.title.split(":")[0] for row in answer.table.rows} == {"MedHallu", "ToolBeHonest"}


@pytest.mark.parametrize(
    "question, filters",
    [
        ("How does DANCE differ from LoRA?", None),  # LoRA is in many abstracts: no table can name its paper
        (MEDHALLU_VS_TOOLBEHONEST, "only-medhallu"),  # the selection holds one of the two
        ("Compare GaLore and DANCE", None),
    ],
    ids=["a-widely-mentioned-name", "one-paper-selected", "an-unknown-name"],
)
def test_comparison_rule__keeps_the_abstention_without_both_papers(assistant, abstaining_model, question, filters):
    if filters == "only-medhallu":
        medhallu = [p.paper_id for p in assistant.papers() if p.title.startswith("MedHallu")]
        filters = {"paper_ids": medhallu}
    answer = assistant.ask(question, backend="extractive", filters=filters)
    assert answer.abstained and answer.table is None


def test_support_check__a_lead_that_cites_nothing_alone_is_no_answer(assistant, hits):
    answer = Answer(question="Does DANCE use GaLore?", text="", sources=hits)
    assistant.chain.support.finish(answer, [(extractive.Listing("No indexed paper mentions GaLore."), [])], False)
    assert answer.abstained


def test_extractive__a_name_no_paper_mentions_beside_a_table_is_noted(assistant, monkeypatch):
    from assistant import answer as chain_module
    from assistant.abstain import Decision

    monkeypatch.setattr(chain_module, "decide", lambda *args, **kwargs: Decision(False, "stub: answer"))
    answer = assistant.ask("Compare GaLore, MedHallu and ToolBeHonest", backend="extractive")
    assert answer.table is not None and not answer.abstained
    assert any(n.startswith("no indexed paper mentions GaLore") for n in answer.notes), answer.notes
