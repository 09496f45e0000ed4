"""The `newsqa` command line: every subcommand and option (ui/cli.py runs them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from index.demo import DEMO_CORPORA


def build_parser() -> argparse.ArgumentParser:
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

    compare = sub.add_parser("compare", parents=[common],
                             help="two eval runs of the same questions, question by question (paired intervals, sign tests)")
    compare.add_argument("runs", type=Path, nargs=2, metavar="RUN", help="eval folders (--out of `newsqa eval`) or run.jsonl files: A, then B")

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
    bench.add_argument("--vectors-only", action="store_true", help="--scale: time the vector search alone, not whole "
                       "indexes grown to each size and asked questions end to end (eval/scale_serving.py)")

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
    train.add_argument("--related-negatives", type=float, default=0.0, metavar="P",
                       help="share of questions that also get a passage of another qa-train context BM25 ranks "
                            "high, without the answer, as a negative (default: %(default)s)")
    train.add_argument("--deleted-negatives", type=float, default=0.0, metavar="P",
                       help="share of questions that also get their passage with the answer's sentences taken out as a "
                            "negative (an experiment; default: %(default)s)")
    train.add_argument("--hedged-negatives", type=float, default=0.0, metavar="P",
                       help="share of questions that also get their passage with the verb that asserts the answer put "
                            "in a modal ('won' -> 'would win') as a negative (an experiment, see eval/hedge.py; "
                            "default: %(default)s)")
    train.add_argument("--hedged-asked", type=float, default=0.0, metavar="P",
                       help="share of the hedged negatives whose question is also asked in the same modal ('Who would "
                            "win ...?') against the hedged passage, as a positive (default: %(default)s)")
    train.add_argument("--wise", type=float, default=0.0, metavar="ALPHA",
                       help="write (1 - ALPHA) x the --init reader's weights + ALPHA x the fine-tuned ones (weight-space "
                            "ensembling, WiSE-FT; default: %(default)s, off)")
    train.add_argument("--type-temperature", type=float, default=1.0, metavar="T",
                       help="draw the answerable questions' types in proportion to count ** (1/T): 1 as the data has "
                            "them (half 'what'), 2 the square root (default: %(default)s)")
    train.add_argument("--shared-norm", type=float, default=0.0, metavar="W",
                       help="weight of the shared-normalisation loss: a question's passages share a batch and its "
                            "answer's start and end are also a softmax over all their tokens (default: %(default)s, off)")
    train.add_argument("--same-context", type=float, default=0.3, metavar="P",
                       help="share of questions that also get a passage of their own paragraph without the answer "
                            "(default: %(default)s)")
    train.add_argument("--news-negatives", type=float, default=0.15, metavar="P",
                       help="share of questions that also get a news passage BM25 ranks high (default: %(default)s)")
    train.add_argument("--news-index", type=Path, metavar="DIR",
                       help="an index of the news corpus (e.g. data/index after `make serve`) to copy for the confidence "
                            "fit, instead of embedding the news again (default: build one)")
    train.add_argument("--news-questions", type=int, default=0, metavar="N",
                       help="also train on up to N questions an article written by rule from the BBC demo corpus "
                            "(eval/news_questions.py, needs the `train` extra; default: %(default)s, none)")
    train.add_argument("--soup", type=Path, nargs="+", metavar="DIR",
                       help="instead of training, average the weights of these readers (trained from the same encoder "
                            "with other seeds or samples: a model soup) into --out, score it and fit its confidence")
    train.add_argument("--confidence-only", action="store_true", help="only fit the answer confidence of the reader "
                       "in --init again (on the held-out questions a training run fits it on), into --out")
    train.add_argument("--seed", type=int, default=13, help="sampling and initialisation seed (default: %(default)s)")
    return parser
