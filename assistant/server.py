"""`assistant serve`: one HTTP server with the chat UI at /, an OpenAI-compatible API at /v1, a REST API
at /api (OpenAPI page at /api/docs) and MCP over streamable HTTP at /mcp.

Access: loopback by default; with an API key every /v1, /api and /mcp request needs
`Authorization: Bearer KEY` (401 otherwise), and a non-loopback address is refused without a key (and,
for the UI, without --auth). Questions from every route share the same slots (`tools.ASK_CONCURRENCY`)
and run in worker threads, so a long answer does not block other clients.
Out of scope: the operations (see `tools`), the MCP tools (see `mcp_server`), the UI itself (see `ui`).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import iterate_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from .config import Backend
from .errors import USER_ERRORS, AssistantError
from .records import Answer
from .tools import MAX_K, Toolbox, answer_payload

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MODEL_ID = "assistant"
PROTECTED = ("/v1", "/api", "/mcp")
PUBLIC = ("/api/docs", "/api/openapi.json")  # the API's description holds no data


def check_api_access(host: str, api_key: str | None) -> None:
    """Refuse to serve the APIs beyond this machine without a key."""
    if host not in LOOPBACK and not api_key:
        raise AssistantError(
            f"refusing to serve the API on {host} without a key: pass --api-key KEY (or set ASSISTANT_API_KEY), "
            "or bind to 127.0.0.1"
        )


class BearerKey:
    """ASGI middleware: requests under PROTECTED paths must carry `Authorization: Bearer <key>`."""

    def __init__(self, app, key: str | None, protected: tuple[str, ...] = PROTECTED):
        self.app, self.key, self.protected = app, key, protected

    async def __call__(self, scope, receive, send):
        if self.key and scope["type"] == "http" and self._guarded(scope["path"]):
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, token = given.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), self.key.encode()):
                response = JSONResponse(
                    {
                        "error": {
                            "message": "missing or wrong API key",
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                        }
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _guarded(self, path: str) -> bool:
        if path in PUBLIC:
            return False
        return any(path == p or path.startswith(p + "/") for p in self.protected)


# ---- request bodies -----------------------------------------------------------------------------
class Filters(BaseModel):
    listing: str | None = Field(None, description="only papers from listings whose file name contains this")
    year: int | None = Field(None, description="only papers dated this year")
    author: str | None = Field(None, description="only papers whose authors or organisation contain this")

    def chosen(self) -> dict | None:
        return self.model_dump(exclude_none=True) or None


class AskBody(BaseModel):
    question: str = Field(description="the question, in plain language")
    filters: Filters | None = None
    k: int | None = Field(None, ge=1, le=MAX_K, description="papers to retrieve")
    history: list[dict[str, str]] | None = Field(None, description="earlier turns: {role, content}")
    backend: Backend | None = Field(None, description="answering backend (default: the server's)")


class CheckBody(BaseModel):
    claim: str
    k: int = Field(5, ge=1, le=MAX_K, description="how many of the closest papers to check")
    filters: Filters | None = None
    paper_ids: list[str] | None = Field(None, description="check against these papers instead")


class IngestBody(BaseModel):
    path: str = Field(description="a bibliography file on the server's machine")


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False
    filters: Filters | None = Field(None, description="an extension: the same filters as /api/ask")
    backend: Backend | None = Field(None, description="an extension: the answering backend, as in /api/ask")

    model_config = {"extra": "allow"}  # temperature, max_tokens, ... are accepted and ignored


def conversation(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the earlier user/assistant turns as history."""
    turns = [{"role": m.role, "content": m.text()} for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise AssistantError("the last message must be the user's question")
    return turns[-1]["content"], turns[:-1]


# ---- the app ------------------------------------------------------------------------------------
def build_server(
    toolbox: Toolbox,
    api_key: str | None = None,
    host: str = "127.0.0.1",
    ui_auth: str | None = None,
    ui: bool = True,
) -> FastAPI:
    """The combined app; `ui=False` serves only the APIs. Example: uvicorn.run(build_server(Toolbox(Assistant())))"""
    check_api_access(host, api_key)
    from .mcp_server import build_mcp

    mcp = build_mcp(toolbox)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=host)

    @asynccontextmanager
    async def lifespan(_app):
        async with mcp.session_manager.run():
            yield

    app = FastAPI(
        title="Paper assistant API",
        description="Cited answers from a collection of research-paper abstracts.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )

    @app.exception_handler(AssistantError)
    @app.exception_handler(ValueError)
    @app.exception_handler(FileNotFoundError)
    async def user_error(_request: Request, err: Exception) -> JSONResponse:
        return JSONResponse({"error": {"message": str(err), "type": "invalid_request_error"}}, status_code=400)

    add_openai_routes(app, toolbox)
    add_rest_routes(app, toolbox)
    app.router.routes.extend(mcp_app.routes)
    if ui:
        import gradio as gr

        from .ui import build_app, check_access, page_options

        credentials = check_access(host, ui_auth)
        demo = build_app(toolbox.assistant)
        demo.queue(default_concurrency_limit=4)
        gr.mount_gradio_app(app, demo, path="", auth=credentials, **page_options())
    app.add_middleware(BearerKey, key=api_key)
    return app


def add_rest_routes(app: FastAPI, toolbox: Toolbox) -> None:
    @app.get("/api/search", tags=["api"], summary="The papers most relevant to a query")
    def search(
        q: str = Query(description="what to look for"),
        k: int = Query(10, ge=1, le=MAX_K),
        listing: str | None = None,
        year: int | None = None,
        author: str | None = None,
    ) -> dict[str, Any]:
        return {"hits": toolbox.search(q, k=k, filters=Filters(listing=listing, year=year, author=author).chosen())}

    @app.post("/api/ask", tags=["api"], summary="A cited answer, with each sentence's verdict")
    def ask(body: AskBody) -> dict[str, Any]:
        filters = body.filters.chosen() if body.filters else None
        return answer_payload(
            toolbox.ask(body.question, filters=filters, k=body.k, history=body.history, backend=body.backend)
        )

    @app.get("/api/papers", tags=["api"], summary="Indexed papers (without abstracts) and their count")
    def papers(query: str = "", limit: int = Query(100, ge=0, le=1000), offset: int = Query(0, ge=0)) -> dict[str, Any]:
        return toolbox.papers(query, limit=limit, offset=offset)

    @app.get("/api/papers/{paper_id}", tags=["api"], summary="One paper with its abstract")
    def paper(paper_id: str) -> dict[str, Any]:
        try:
            return toolbox.paper(paper_id)
        except AssistantError as err:
            raise HTTPException(404, str(err)) from err

    @app.post("/api/check", tags=["api"], summary="Whether the closest papers support a claim")
    def check(body: CheckBody) -> dict[str, Any]:
        filters = body.filters.chosen() if body.filters else None
        return toolbox.check(body.claim, k=body.k, filters=filters, paper_ids=body.paper_ids)

    @app.post("/api/ingest", tags=["api"], summary="Add a file on the server's machine (needs --allow-ingest)")
    def ingest(body: IngestBody) -> dict[str, Any]:
        if not toolbox.allow_ingest:
            raise HTTPException(403, "ingest is off: start the server with --allow-ingest to let clients add files")
        return toolbox.ingest(body.path)


def add_openai_routes(app: FastAPI, toolbox: Toolbox) -> None:
    @app.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "assistant"}]}

    @app.post("/v1/chat/completions", tags=["openai"], response_model=None)
    def chat_completions(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        """The assistant as a chat model: the reply is the cited answer with its references; the structured
        answer (references, sentence verdicts) rides along in the extra field `answer`."""
        question, history = conversation(body.messages)
        filters = body.filters.chosen() if body.filters else None
        created, reply_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.stream:
            parts = toolbox.ask_stream(question, filters=filters, history=history, backend=body.backend)
            chunks = stream_chunks(parts, reply_id, created)
            return StreamingResponse(iterate_in_threadpool(chunks), media_type="text/event-stream")
        payload = answer_payload(toolbox.ask(question, filters=filters, history=history, backend=body.backend))
        return {
            "id": reply_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": payload["reply"]}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "answer": payload,
        }


def stream_chunks(parts: Iterator[str | Answer], reply_id: str, created: int) -> Iterator[str]:
    """Server-sent events in the OpenAI chunk format: the answer's text deltas, then its references (and the
    structured answer in `answer`) in the last chunk; an error ends the stream with an error event."""

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for part in parts:
            if isinstance(part, Answer):
                payload = answer_payload(part)
                tail = payload["reply"][len(_body(payload["reply"])) :] if not part.abstained else ""
                yield chunk({"content": tail} if tail else {}, "stop", answer=payload)
            elif part:
                yield chunk({"content": part})
    except USER_ERRORS as err:
        yield f"data: {json.dumps({'error': {'message': str(err), 'type': 'invalid_request_error'}})}\n\n"
    yield "data: [DONE]\n\n"


def _body(reply: str) -> str:
    """The reply up to its references (what the text deltas already carried, give or take the verdict flags)."""
    cut = reply.find("\n\n## References")
    if cut < 0:
        cut = reply.rfind("\n*Answered by")
    return reply[:cut] if cut >= 0 else reply
