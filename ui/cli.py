"""The `newsqa` command: ingest, ask, list, delete, check, serve, eval, calibrate, compare, bench, loadtest, train-reader."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import textwrap
from pathlib import Path

from index.indexer import NewsIndexError, NewsIndex
from index.ray_ingest import RayEngine, sources_of
from index.readers import read_paths
from qa.models import Answer
from qa.pipeline import question_too_long
from ui.cli_args import build_parser
from ui.cli_measure import MEASURING_COMMANDS
from ui.settings import Settings, load_settings
from ui.wiring import (
    build_demo_index,
    categories,
    index_exists,
    make_filters,
    open_index,
    open_pipeline,
    outlets,
    require_index,
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quiet:
        _silence_model_loading()
    try:
        settings = load_settings(args.config).with_overrides(index_dir=args.index)
        return _COMMANDS[args.command](args, settings)
    except (NewsIndexError, ValueError, OSError) as exc:  # OSError: files, folders, ports, the demo download
        print(f"newsqa {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; everything committed before this point is kept", file=sys.stderr)
        return 130


def _silence_model_loading() -> None:
    """--quiet: the model library's own "Loading weights" bar too."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from index.fetch import Fetcher, is_url, read_urls

    if not args.paths and args.demo is None:
        raise ValueError("give files or folders to ingest, or --demo")
    settings = settings.with_overrides(ingest_engine=args.engine, ray_address=args.address)
    urls = [p for p in args.paths if is_url(p)]
    paths = [Path(p) for p in args.paths if not is_url(p)]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:  # a mistyped path is refused before the index is created or touched
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")
    engine = RayEngine(settings.ray_address, args.embed_actors) if settings.ingest_engine == "ray" else None
    if engine is not None and urls:
        raise ValueError("--engine ray reads files, folders and demo corpora; ingest URLs with the local engine")
    for corpus in dict.fromkeys(args.demo or ([] if args.demo is None else ["news"])):
        report = build_demo_index(settings, show_progress=not args.quiet, corpus=corpus, engine=engine)
        print(report.summary())
    if args.paths:
        index = open_index(settings, readonly=False)
        fetcher = Fetcher() if urls else None
        try:
            if engine is not None:
                report = engine.ingest(index, sources_of(paths), show_progress=not args.quiet, wait_for_lock=not args.no_wait)
            else:
                records = itertools.chain(read_paths(paths), read_urls(urls, fetcher) if fetcher else ())
                report = index.add(records, show_progress=not args.quiet, wait_for_lock=not args.no_wait)
        finally:
            index.close()
            if fetcher is not None:
                fetcher.close()
        print(report.summary())
        if any(not e.kept for e in report.errors) and not (report.added or report.replaced or report.unchanged):
            return 1  # every record was refused: a script should notice
    return 0


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    import threading
    import time

    from index.fetch import FeedWatcher, Fetcher, parse_interval

    every = parse_interval(args.every)
    if args.cycles is not None and args.cycles < 1:
        raise ValueError(f"--cycles must be >= 1, got {args.cycles}")
    fetcher = Fetcher(timeout=args.timeout)
    watcher = FeedWatcher(args.urls, args.state or settings.index_dir / "watch-state.json", fetcher)
    index = open_index(settings, readonly=False)
    stop = threading.Event()

    def commit(records: list) -> None:
        if records:
            report = index.add(records, show_progress=False)
            print(f"  {report.summary().splitlines()[0]}", flush=True)

    def report(counts: dict[str, int]) -> None:
        print(f"{time.strftime('%H:%M:%S')} read {len(args.urls)} URL(s): {counts['new_or_changed']} new or changed, "
              f"{counts['unchanged']} unchanged, {counts['not_modified']} not modified (304), {counts['errors']} errors",
              flush=True)

    print(f"watching {len(args.urls)} URL(s) every {args.every}; state in {watcher.state_file}; Ctrl-C stops",
          flush=True)
    try:
        polls = watcher.run(commit, every, stop, report, args.cycles)
    except KeyboardInterrupt:
        stop.set()
        print("stopped; everything ingested so far is kept", file=sys.stderr)
        return 0
    finally:
        index.close()
        fetcher.close()
    print(f"stopped after {polls} read(s)")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if not args.question.strip():
        raise ValueError("the question is empty")
    too_long = question_too_long(args.question, settings.max_question_chars)
    if too_long is not None:
        raise ValueError(too_long)
    require_index(settings)
    settings = settings.with_overrides(k=args.k)
    pipeline = open_pipeline(settings, llm=args.llm)
    filters = make_filters(args.date_from, args.date_to, args.source, ("--from", "--to"), outlets(pipeline.index),
                           args.category, categories(pipeline.index))
    answer = pipeline.ask(args.question, filters=filters, k=settings.k, write=args.llm)
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
    return 0


def format_written(answer: Answer) -> list[str]:
    """The written answer, its sources and what the checker refused; or the line saying why there is none."""
    written = answer.written
    if written is None:
        return []
    if written.fallback:
        return [f"Written answer: none. {written.fallback}", ""]
    lines = [f"Written answer ({written.model}, {written.seconds:.1f} s; every sentence checked against its source):",
             textwrap.fill(written.text, 100)]
    for c in written.citations:
        lines.append(f"  [{c.n}] {c.source or 'unknown outlet'}, {c.date or 'undated'} (article {c.doc_id}, chars "
                     f"{c.start}-{c.end}): “{textwrap.shorten(c.sentence, 140)}”")
    for claim in written.dropped:
        lines.append(f"  not shown, unsupported: “{textwrap.shorten(claim.text, 120)}” ({claim.reason})")
    return [*lines, "", "Extractive answer:"]


def format_answer(answer: Answer) -> str:
    """Readable text: the answer, then numbered sources with outlet, date and offsets."""
    width = 100
    lines = [*format_written(answer), textwrap.fill(answer.text, width)]
    if answer.query != answer.question:
        lines.append(f"(searched for: {answer.query})")
    if answer.short_answer:
        lines.append(f"Short answer: {answer.short_answer}")
    if answer.note:
        lines.append(f"Note: {answer.note}")
    lines.append(f"confidence {answer.confidence:.2f}" + (" (below threshold: no answer given)" if answer.abstained else ""))
    for c in answer.citations:
        lines.append("")
        lines.append(f"[{c.n}] {c.title or '(untitled)'} — {c.source or 'unknown outlet'}, {c.date or 'undated'} "
                     f"(article {c.doc_id}, chars {c.start}-{c.end})")
        if c.url:
            lines.append(f"    {c.url}")
        lines.append(textwrap.indent(textwrap.fill(f"“{c.sentence}”", width - 4), "    "))
        if c.also_published:
            elsewhere = "; ".join(f"{s.source or 'unknown outlet'}, {s.date or 'undated'} ({s.doc_id})"
                                  for s in c.also_published)
            lines.append(textwrap.indent(textwrap.fill(f"also published: {elsewhere}", width - 4), "    "))
    return "\n".join(lines)


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    require_index(settings)
    index = NewsIndex.open(settings.index_dir)
    removed = index.delete(args.ids)
    missing = sorted(set(args.ids) - set(removed))
    print(f"deleted {len(removed)} article(s)" + (f"; not in the index: {', '.join(missing)}" if missing else ""))
    return 0 if removed else 1


def _list(args: argparse.Namespace, settings: Settings) -> int:
    require_index(settings)
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    index = NewsIndex.open(settings.index_dir, readonly=True)
    filters = make_filters(args.date_from, args.date_to, args.source, ("--from", "--to"), outlets(index),
                           args.category, categories(index))
    rows = index.store.listing(list(filters.sources or ()), filters.date_from, filters.date_to, args.text, args.limit,
                               list(filters.categories or ()))
    shown = 0
    for row in rows:
        shown += 1
        if args.json:
            print(json.dumps(row._asdict(), ensure_ascii=False))
        else:
            print(f"{row.doc_id}\t{row.source or '-'}\t{row.date or '-'}\t{row.category or '-'}\t{row.passages} passages\t"
                  f"{row.near_copies} near-copies\t{row.title}")
    if not args.json:
        print(f"{shown} article(s)", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    if args.repair:
        index = NewsIndex.repair(settings.index_dir, show_progress=not args.quiet)
        print(f"rebuilt vector, BM25 and manifest files of {settings.index_dir} from the document store")
    elif index_exists(settings.index_dir):
        # Opened to write: derived files an interrupted ingest left behind the store are rebuilt and saved.
        index = NewsIndex.open(settings.index_dir, readonly=False)
        if index.recovered_from is not None:
            saved = ("saved them" if not index.saved_behind_store() else
                     "an ingest still running will save them")
            print(f"note: the vector, BM25 and manifest files were behind the store (store version "
                  f"{index.store.version}, files of version {index.recovered_from}: an ingest stopped before "
                  f"saving them); recovered automatically: rebuilt them from the store and {saved}")
    else:
        index = NewsIndex.open(settings.index_dir, readonly=True)  # names the folder that holds no index
    counts = index.store.counts()
    problems = index.check()
    print(f"{settings.index_dir}: {counts['articles']} articles, {counts['sentences']} sentences, "
          f"{counts['passages']} passages, {len(index.vectors)} vectors, model {index.config.model}")
    for problem in problems:
        print(f"problem: {problem}")
    print("ok" if not problems else f"{len(problems)} problem(s); run `newsqa check --repair --index {settings.index_dir}`")
    return 0 if not problems else 1


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_overrides(host=args.host, port=args.port, auth=args.auth)
    if args.demo and not index_exists(settings.index_dir):
        print(build_demo_index(settings, show_progress=not args.quiet).summary())
    require_index(settings)
    from ui.web import serve

    serve(settings, llm=args.llm)
    return 0


_COMMANDS = {"ingest": _ingest, "ask": _ask, "list": _list, "delete": _delete, "check": _check, "serve": _serve,
             "watch": _watch, **MEASURING_COMMANDS}

if __name__ == "__main__":
    sys.exit(main())
