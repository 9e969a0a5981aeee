"""The parkqa command line: each command is a thin call into the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence

from parkqa.errors import ParkQAError

EXAMPLE = "园区有哪些扶持政策？"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parkqa",
        description="Answer questions about the park from the documents in knowledge/, "
        "citing the passages (document, section and line span) each answer came from.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $PARKQA_CONFIG, else ./parkqa.yaml)",
    )
    parser.add_argument("--version", action="version", version=f"parkqa {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    index = commands.add_parser(
        "index",
        help="update the index after documents were added, changed or deleted",
        description="Bring the index up to date with the knowledge folder. Only new and changed "
        "documents are embedded; deleted documents are removed from both indexes.",
    )
    index.add_argument(
        "--rebuild", action="store_true", help="discard the index and build it from scratch"
    )
    index.add_argument(
        "--verify",
        action="store_true",
        help="read every document to find changes, also edits that kept a file's size and "
        "modification time (slower on a large folder; embeds only what changed)",
    )
    index.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another running update instead of refusing at once",
    )
    index.set_defaults(handler=cmd_index)

    add = commands.add_parser(
        "add",
        help="copy documents into the knowledge folder and update the index",
        description="Copy documents (.txt .md .pdf .docx .html) into the knowledge folder and update the index.",
    )
    add.add_argument("files", nargs="+", metavar="FILE", help="documents to add")
    add.add_argument(
        "--replace",
        action="store_true",
        help="overwrite a document of the same name already in the knowledge folder",
    )
    add.set_defaults(handler=cmd_add)

    remove = commands.add_parser(
        "remove",
        help="delete documents from the knowledge folder and update the index",
        description="Delete documents (and their .meta.yaml metadata) from the knowledge folder and "
        "remove them from the index. Name them as parkqa docs lists them (knowledge/notice.md) or "
        "by their name in the folder (notice.md).",
    )
    remove.add_argument("files", nargs="+", metavar="FILE", help="documents to delete")
    remove.set_defaults(handler=cmd_remove)

    ask = commands.add_parser(
        "ask",
        help="answer questions, citing the passages",
        description="Answer one or more questions: the answer, then the passages it cites "
        "(title, file and lines, the answering sentences). Use - to read one question per line "
        "from standard input. The index is built first if there is none.",
    )
    ask.add_argument(
        "questions", nargs="+", metavar="QUESTION", help=f'a question, e.g. "{EXAMPLE}", or -'
    )
    ask.add_argument(
        "-k",
        type=_positive,
        default=None,
        metavar="N",
        help="list N sources, the cited ones first (default: only the passages the answer "
        "cites; with --json or --sources: retrieval.top_k)",
    )
    ask.add_argument(
        "--sources",
        action="store_true",
        help="list every source with its whole passage, the answering sentences marked",
    )
    ask.add_argument(
        "--json", action="store_true", help="print one JSON object per question, one per line"
    )
    ask.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="only documents with this tag (repeatable)",
    )
    ask.add_argument(
        "--since",
        metavar="DATE",
        help="only documents dated on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD)",
    )
    ask.add_argument("--until", metavar="DATE", help="only documents dated on or before DATE")
    ask.add_argument(
        "--chat",
        action="store_true",
        help="treat the questions as one conversation (follow-ups use the earlier questions)",
    )
    ask.set_defaults(handler=cmd_ask)

    evaluate = commands.add_parser(
        "eval",
        help="score answers on a question file",
        description="Score a question file (YAML, JSON Lines or SQuAD JSON such as CMRC 2018; each "
        "entry: question and expected answer strings, or an empty list where no answer is right; "
        "optionally a kind, such as colloquial or follow-up, and a history of earlier questions). "
        "Prints the scores over all questions, then one row per kind.",
    )
    evaluate.add_argument("file", metavar="FILE", help="question file")
    evaluate.add_argument(
        "--json",
        action="store_true",
        help="print the scores, overall and per kind (by_kind), as JSON",
    )
    evaluate.add_argument("--limit", type=_positive, metavar="N", help="only the first N questions")
    evaluate.set_defaults(handler=cmd_eval)

    serve = commands.add_parser(
        "serve",
        help="start the chat page in a browser",
        description="Start the Gradio chat page. It listens on 127.0.0.1 unless told otherwise; "
        "another address needs server.username and server.password (or PARKQA_USERNAME/PARKQA_PASSWORD).",
    )
    serve.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (default: server.port, 7860)")
    serve.set_defaults(handler=cmd_serve)

    documents = commands.add_parser(
        "docs",
        help="list the indexed documents",
        description="List the indexed documents with their titles, dates and passage counts.",
    )
    documents.set_defaults(handler=cmd_docs)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parkqa")
    except PackageNotFoundError:
        return "unknown"


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65_535:
        raise argparse.ArgumentTypeError(f"'{value}' is not a port; use a number from 1 to 65535")
    return number


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"'{value}' must be greater than 0")
    return number


def _date(value: str | None, option: str) -> str | None:
    from parkqa.dates import parse_date

    return None if value is None else parse_date(value, option)


def _open(args: argparse.Namespace):
    from parkqa.knowledge_base import KnowledgeBase

    return KnowledgeBase.open(args.config)


def _progress(label: str) -> Callable[[int, int], None]:
    """Embedding progress on stderr: a bar with the time left on a terminal, else a line at
    every tenth of the work (for logs of long builds)."""
    if not sys.stderr.isatty():
        return _progress_lines(label)
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(
                total=total, desc=label, unit="sentence", file=sys.stderr, leave=False
            )
        bar["bar"].total = total  # a streamed build's estimate of its whole grows exact
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar.pop("bar").close()

    return update


def _progress_lines(label: str) -> Callable[[int, int], None]:
    started = time.monotonic()
    shown = {"tenth": 0}

    def update(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth <= shown["tenth"] or total < 1000:
            return
        shown["tenth"] = tenth
        elapsed = time.monotonic() - started
        left = elapsed * (total - done) / max(done, 1)
        print(
            f"{label}: {done}/{total} sentences, about {left:.0f} s left",
            file=sys.stderr,
            flush=True,
        )

    return update


def _print_report(report) -> None:
    if report.rebuilt_because:
        print(f"full rebuild: {report.rebuilt_because}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for label, docs in (
        ("added", report.added),
        ("changed", report.changed),
        ("removed", report.removed),
    ):
        for doc in docs:
            print(f"  {label:8} {doc}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)


def cmd_index(args: argparse.Namespace) -> int:
    kb = _open(args)
    report = kb.update(
        rebuild=args.rebuild, progress=_progress("embedding"), wait=args.wait, verify=args.verify
    )
    _print_report(report)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    kb = _open(args)
    stored, report = kb.add(args.files, progress=_progress("embedding"), replace=args.replace)
    for upload in stored:
        done = "unchanged" if upload.unchanged else "replaced" if upload.replaces else "copied"
        print(
            f"{done} {kb.config.relative(upload.target)}{_metadata_note(upload)}", file=sys.stderr
        )
    _print_report(report)
    return 0


def _metadata_note(upload) -> str:
    """What became of a stored document's metadata file (its sidecar), if anything."""
    if upload.sidecar_copied:
        return f" with its metadata {upload.sidecar.name}"
    if upload.sidecar_removed:
        return f"; removed its old metadata {upload.target.name}.meta.yaml (the new file has none)"
    return ""


def cmd_remove(args: argparse.Namespace) -> int:
    kb = _open(args)
    removed, report = kb.remove(args.files, progress=_progress("embedding"))
    for path in removed:
        print(f"removed {kb.config.relative(path)}", file=sys.stderr)
    _print_report(report)
    return 0


def _read_questions(items: Sequence[str]) -> list[str]:
    questions = []
    for item in items:
        if item == "-":
            questions.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            questions.append(item)
    return questions


def _ensure_index(kb) -> None:
    report = kb.ensure_index(progress=_progress("building the index"))
    if report is not None:
        _print_report(report)


def cmd_ask(args: argparse.Namespace) -> int:
    from parkqa.retrieval import Filters

    questions = _read_questions(args.questions)
    if not questions:
        raise ParkQAError("no question given; pass a question or lines on standard input with -")
    filters = Filters(tuple(args.tag), _date(args.since, "--since"), _date(args.until, "--until"))
    kb = _open(args)
    _ensure_index(kb)
    changes = kb.pending_changes()
    if changes:
        print(f"note: {pending_note(changes)}", file=sys.stderr)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    history: list[str] = []
    failed = 0
    for question in questions:
        try:
            answer = kb.ask(
                question, history=history if args.chat else (), k=args.k, filters=filters or None
            )
        except ParkQAError as exc:
            if len(questions) == 1:
                raise
            failed += 1
            if args.json:
                print(json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False))
            else:
                print(f"parkqa: error: {exc}", file=sys.stderr)
            continue
        history.append(question)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            from parkqa.render import render_answer

            shown = render_answer(
                answer,
                colour=colour,
                show_question=len(questions) > 1,
                sources=args.k,
                full=args.sources,
            )
            print(shown, flush=True)
    return 1 if failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from parkqa.evaluation import evaluate, load_questions

    questions = load_questions(args.file)
    if args.limit:
        questions = questions[: args.limit]
    if not questions:
        raise ParkQAError(f"{args.file}: no questions found")
    kb = _open(args)
    _ensure_index(kb)
    result = evaluate(questions, lambda q, history: kb.ask(q, history=history, k=5))
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(result.table())
        if result.by_kind:
            print(
                "\nper kind of question (answer acc, lead and top-k: share of the answerable ones)"
            )
            print(result.kind_table())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from parkqa.web import serve

    kb = _open(args)
    serve(kb, host=args.host or kb.config.server.host, port=args.port or kb.config.server.port)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    kb = _open(args)
    documents = kb.documents()
    changes = kb.pending_changes()
    marks = {doc: "changed, not yet indexed" for doc in changes.changed}
    marks.update({doc: "deleted, still in the index" for doc in changes.deleted})
    skipped = kb.skipped()
    marks.update({doc: reason for doc, reason in skipped.items() if doc in changes.changed})
    for document in documents:
        line = f"{document.doc}\t{document.title}\t{document.date or '-'}\t{document.passages} passages"
        print(line + (f"\t({marks[document.doc]})" if document.doc in marks else ""))
    for doc in changes.new:
        print(f"{doc}\t-\t-\t0 passages\t(new, not yet indexed)")
    listed = {d.doc for d in documents} | set(changes.new)
    for doc, reason in skipped.items():
        if doc not in listed:
            print(f"{doc}\t-\t-\t0 passages\t(skipped: {reason.removesuffix('; skipped')})")
    if not documents:
        print("no documents indexed yet; run: parkqa index", file=sys.stderr)
    elif changes:
        print(f"note: {pending_note(changes)}", file=sys.stderr)
    return 0


def pending_note(changes) -> str:
    """One line on the documents changed since the index was built."""
    noun = "document" if changes.count == 1 else "documents"
    return f"{changes.count} {noun} changed since the index was built: run parkqa index"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ParkQAError as exc:
        for line in str(exc).splitlines():
            print(f"parkqa: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "parkqa: interrupted; the index is unchanged unless the update had finished",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
