"""An ingest run in its own process, for the kill and lock tests: generated articles, stage reports, slow-downs.

    python tests/_ingest_worker.py INDEX_DIR --first 0 --last 300 --stage-file F --slow-stage store --slow 0.3 [--engine ray]

(with the repository on PYTHONPATH). Every hooked stage of the ingest appends its name to
`--stage-file` when it is reached; the one named by `--slow-stage` then sleeps `--slow` seconds,
so a test can SIGKILL the process while it is inside that stage. Stages, in the order an ingest
meets them:

    persist         start of writing the derived files (on open, and at the end of an ingest)
    embed           inside the embedder, before vectors are returned
    store           inside the SQLite transaction of a batch, before it commits
    committed       just after a batch committed, before the next one starts
    bm25-build      before BM25 is rebuilt from the passages
    vectors-write   the new vector file written under its temporary name, not yet renamed
    bm25-write      the BM25 arrays written into the temporary folder, ids and vocabulary not yet
    manifest-write  half of the new manifest written to its temporary file
    after-manifest  manifest replaced, older derived files not yet removed

The article generator is shared with the tests so they know what a finished ingest holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
import bm25s
import numpy as np

import index.derived as derived
from index.embedding import HashEmbedder
from index.indexer import IndexConfig, IndexLockedError, NewsIndex
from index.models import Article
from index.store import DocumentStore
from index.vectors import VectorIndex

STAGES = ("persist", "embed", "store", "committed", "bm25-build", "vectors-write", "bm25-write",
          "manifest-write", "after-manifest")
DIM = 64
MAX_TOKENS = 40

_SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "vi", "ro", "de", "fu", "ga", "hi", "jo", "pe", "zu", "bo")
_THINGS = ("bridges", "schools", "clinics", "parks", "railways", "libraries", "harbours", "stadiums")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _word(number: int, letters: int = 3) -> str:
    """A made-up proper name, unique per number ("Kalomi")."""
    parts = []
    for _ in range(letters):
        number, digit = divmod(number, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(parts).capitalize()


def person(i: int) -> str:
    return _word(i)


def city(i: int) -> str:
    return _word(i + 1000) + "burg"


def make_article(i: int, revised: bool = False) -> Article:
    """Article `i` (ids doc-0000...): four sentences, names unique to it; `revised` is a later version."""
    thing = _THINGS[i % len(_THINGS)]
    text = (
        f"{person(i)} announced a plan for {i % 17 + 3} new {thing} in {city(i)} on {_WEEKDAYS[i % 5]}. "
        f"The plan drew praise from officials in the {_word(i + 2000)} district. "
        f"Critics said the {thing} would cost {i % 40 + 2} million dollars and take {i % 6 + 2} years. "
        f"{person(i)} said work would begin before the end of the year."
    )
    if revised:
        text += f" A revised budget published later put the cost at {i % 40 + 9} million dollars."
    return Article(f"doc-{i:04d}", f"{person(i)} unveils {thing} plan for {city(i)}", text,
                   date=f"2017-0{i % 9 + 1}-1{i % 10}", source="Test Wire")


def make_articles(first: int, last: int, revise_below: int = 0) -> list[Article]:
    return [make_article(i, revised=i < revise_below) for i in range(first, last)]


def write_jsonl(folder: Path, articles: list[Article]) -> Path:
    """`articles` as a JSONL file in `folder` (the Ray engine reads files), named after what it holds."""
    key = hashlib.sha1("".join(a.doc_id + a.text for a in articles).encode()).hexdigest()[:12]
    path = folder / f"articles-{key}.jsonl"
    if not path.exists():
        lines = [json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "date": a.date, "source": a.source})
                 for a in articles]
        partial = path.with_suffix(".tmp")
        partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
        partial.replace(path)
    return path


class _Stages:
    """Appends each stage reached to the stage file; opened per call, so it also works inside a Ray actor."""

    def __init__(self, path: Path | None, slow_stage: str, slow: float) -> None:
        self.path, self.slow_stage, self.slow = path, slow_stage, slow

    def __call__(self, name: str) -> None:
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(name + "\n")
        if name == self.slow_stage:
            time.sleep(self.slow)


def _install_hooks(stage: _Stages) -> None:
    """Wrap the seams of an ingest so each reports its stage (and maybe sleeps) at the right moment."""
    bump, write_batch = DocumentStore._bump_version, DocumentStore.write_batch
    rebuild_bm25, persist = NewsIndex._rebuild_bm25, NewsIndex._persist_derived
    vectors_save, bm25s_save, atomic_write = VectorIndex.save, bm25s.BM25.save, derived.atomic_write_text

    def bump_version(self: DocumentStore) -> None:
        stage("store")
        bump(self)

    def write_batch_hook(self: DocumentStore, *args, **kwargs) -> list[int]:  # noqa: ANN002, ANN003
        ids = write_batch(self, *args, **kwargs)
        stage("committed")
        return ids

    def rebuild_bm25_hook(self: NewsIndex, show_progress: bool) -> None:
        stage("bm25-build")
        rebuild_bm25(self, show_progress)

    def persist_hook(self: NewsIndex) -> None:
        stage("persist")
        persist(self)

    def vectors_save_hook(self: VectorIndex, path: Path) -> list[Path]:
        written = vectors_save(self, path)
        stage("vectors-write")
        return written

    def bm25s_save_hook(self: bm25s.BM25, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        bm25s_save(self, *args, **kwargs)
        stage("bm25-write")

    def atomic_write_hook(path: Path, text: str) -> None:
        path.with_name(path.name + ".tmp").write_text(text[: len(text) // 2], encoding="utf-8")
        stage("manifest-write")
        atomic_write(path, text)
        stage("after-manifest")

    DocumentStore._bump_version = bump_version
    DocumentStore.write_batch = write_batch_hook
    NewsIndex._rebuild_bm25 = rebuild_bm25_hook
    NewsIndex._persist_derived = persist_hook
    VectorIndex.save = vectors_save_hook
    bm25s.BM25.save = bm25s_save_hook
    derived.atomic_write_text = atomic_write_hook


class StageEmbedder(HashEmbedder):
    """The test embedder, reporting the `embed` stage; `name` can pose as another model (for the CLI)."""

    def __init__(self, stage: _Stages, dim: int = DIM, name: str = "") -> None:
        super().__init__(dim)
        self.name = name or self.name
        self._stage = stage

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        self._stage("embed")
        return super().encode(texts, batch_size=batch_size, show_progress=show_progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--last", type=int, default=300)
    parser.add_argument("--revise-below", type=int, default=0, help="articles below this number get their revised text")
    parser.add_argument("--batch-articles", type=int, default=8)
    parser.add_argument("--stage-file", type=Path)
    parser.add_argument("--slow-stage", default="", choices=("",) + STAGES)
    parser.add_argument("--slow", type=float, default=0.0, help="seconds to sleep in --slow-stage")
    parser.add_argument("--dim", type=int, default=DIM)
    parser.add_argument("--model-name", default="", help="embedder name recorded in the index (default hash-DIM)")
    parser.add_argument("--no-wait", action="store_true", help="refuse if another process writes the index")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="ray: the articles go through a JSONL file and the Ray stages (a local Ray)")
    args = parser.parse_args(argv)

    stage = _Stages(args.stage_file, args.slow_stage, args.slow)
    _install_hooks(stage)
    embedder = StageEmbedder(stage, args.dim, args.model_name)
    config = IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=MAX_TOKENS)
    index = NewsIndex.open(args.index, embedder, config=config)
    articles = make_articles(args.first, args.last, args.revise_below)
    try:
        if args.engine == "ray":
            from index.ray_ingest import RaySizing, ingest_with_ray, sources_of

            report = ingest_with_ray(index, sources_of([write_jsonl(args.index.parent, articles)]),
                                     sizing=RaySizing(embed_actors=1, embed_threads=1, embed_batch=16),
                                     batch_articles=args.batch_articles, show_progress=False,
                                     wait_for_lock=not args.no_wait)
        else:
            report = index.add(articles, batch_articles=args.batch_articles, show_progress=False,
                               wait_for_lock=not args.no_wait)
    except IndexLockedError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 3
    stage("done")
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
