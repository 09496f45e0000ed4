"""Dense vectors: a FAISS inner-product index keyed by passage id, of the kind the index's size calls for.

Three kinds, chosen by passage count (`choose_kind`) unless a setting forces one:

- ``flat``: exact search (`IndexIDMap2(IndexFlatIP)`), while a scan of every vector stays fast;
- ``ivf``: an inverted file of 8-bit scalar-quantised vectors (`IndexIVFScalarQuantizer`), its centroids
  trained on a sample of the vectors; a quarter of the memory of ``flat``, `IVF_NPROBE` lists searched;
- ``hnsw``: a graph over the full vectors (`IndexHNSWFlat`), the fastest to search and the slowest to build.

FAISS's HNSW cannot delete. A deleted passage's vector stays in the graph, its id in a tombstone list that
every search filters out and that is saved beside the index (``<file>.deleted.npy``); once tombstones are
`REBUILD_DELETED_SHARE` of the vectors, `needs_rebuild` says so and the indexer rebuilds from the store.
The indexer also rebuilds when growth or shrinkage moves the index past a kind's bounds.

A search restricted to a small set of ids (a date or outlet filter) is exact over those ids, whatever the
kind: an approximate index visits few lists or graph nodes and would miss most of a small set.
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

KINDS = ("flat", "ivf", "hnsw")
# auto: exact search up to this many passages (11 ms a query on one core), an IVF index beyond (`newsqa bench
# --scale`: at 300k exact search takes 35 ms, IVF 0.7 ms at recall@10 0.986).
FLAT_MAX_PASSAGES = 100_000
IVF_NPROBE = 48
IVF_TRAIN_PER_LIST = 40  # vectors sampled per inverted list to train the centroids (FAISS asks for at least 39)
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 64, 96
REBUILD_DELETED_SHARE = 0.2
EXACT_FILTER_MAX_IDS = 50_000  # a filtered search over at most this many ids is exact


MIN_IVF_PASSAGES = 1024  # fewer vectors cannot train the centroids well: a forced IVF index stays flat until then


def choose_kind(passages: int, requested: str = "auto") -> str:
    """The kind of index for `passages` vectors: `requested`, or by size when it is "auto"."""
    if requested not in (*KINDS, "auto"):
        raise ValueError(f"vector index kind must be one of auto, {', '.join(KINDS)}; got {requested!r}")
    if requested == "auto":
        requested = "flat" if passages <= FLAT_MAX_PASSAGES else "ivf"
    return "flat" if requested == "ivf" and passages < MIN_IVF_PASSAGES else requested


def ivf_lists(passages: int) -> int:
    """Inverted lists for `passages` vectors: about 4·√n, with at least 39 training vectors a list (FAISS's
    rule of thumb) and never more lists than vectors."""
    return int(max(1, min(4 * math.sqrt(max(passages, 1)), max(passages // 39, 16), passages, 65536)))


class VectorIndex:
    """Cosine similarity on normalised vectors, ids = passage ids."""

    def __init__(self, dim: int, index: faiss.Index | None = None, deleted: np.ndarray | None = None) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if self._index.d != dim:
            raise ValueError(f"vector index has dimension {self._index.d}, expected {dim}")
        self.kind = _kind_of(self._index)
        self._deleted: set[int] = set(np.asarray(deleted if deleted is not None else [], dtype=np.int64).tolist())
        if self.kind == "ivf":
            self._index.nprobe = IVF_NPROBE
        elif self.kind == "hnsw":
            faiss.downcast_index(self._index.index).hnsw.efSearch = HNSW_EF_SEARCH

    @classmethod
    def build(cls, dim: int, ids: np.ndarray, vectors: np.ndarray, kind: str = "flat", seed: int = 7) -> VectorIndex:
        """An index of `kind` holding `vectors` under `ids` (an IVF index is trained on a sample of them)."""
        if kind not in KINDS:
            raise ValueError(f"vector index kind must be one of {', '.join(KINDS)}; got {kind!r}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if kind == "flat":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        elif kind == "hnsw":
            graph = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index = faiss.IndexIDMap2(graph)
        else:
            if len(vectors) == 0:
                raise ValueError("an IVF index is trained on vectors: build it with at least one")
            lists = ivf_lists(len(vectors))
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(seed)
            size = min(len(vectors), IVF_TRAIN_PER_LIST * lists)
            sample = vectors[np.sort(rng.choice(len(vectors), size, replace=False))]
            index.train(sample)
            index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by passage id
        built = cls(dim, index)
        built.add(ids, vectors)
        return built

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._deleted)

    def ids(self) -> np.ndarray:
        if self.kind == "ivf":
            lists = self._index.invlists
            stored = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                      for i in range(lists.nlist) if lists.list_size(i)]
            ids = np.concatenate(stored) if stored else np.zeros(0, dtype=np.int64)
        else:
            ids = faiss.vector_to_array(self._index.id_map)
        ids = ids.astype(np.int64)
        return ids[~np.isin(ids, list(self._deleted))] if self._deleted else ids

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            ids = np.asarray(ids, dtype=np.int64)
            if self._deleted & set(ids.tolist()):
                raise ValueError("a passage id deleted from an HNSW index cannot be added again before a rebuild")
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: list[int]) -> None:
        if not ids:
            return
        if self.kind == "hnsw":
            present = set(faiss.vector_to_array(self._index.id_map).tolist())
            self._deleted |= {int(i) for i in ids if int(i) in present}
        else:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def deleted_share(self) -> float:
        return len(self._deleted) / self._index.ntotal if self._index.ntotal else 0.0

    def needs_rebuild(self, requested: str = "auto") -> bool:
        """Whether the index should be rebuilt from the stored vectors: another kind suits its size, or it
        carries too many tombstones."""
        return choose_kind(len(self), requested) != self.kind or self.deleted_share() >= REBUILD_DELETED_SHARE

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, passage ids) for one query vector, optionally only among `allowed_ids`."""
        k = min(k, len(self))
        if k <= 0 or (allowed_ids is not None and len(allowed_ids) == 0):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if allowed_ids is not None and self.kind != "flat" and len(allowed_ids) <= EXACT_FILTER_MAX_IDS:
            return self._exact_among(query[0], np.asarray(allowed_ids, dtype=np.int64), k)
        selector = None
        if allowed_ids is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
        if self._deleted:
            gone = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(self._deleted, dtype=np.int64)))
            selector = gone if selector is None else faiss.IDSelectorAnd(selector, gone)
        params = None
        if selector is not None:
            params = (faiss.SearchParametersIVF(sel=selector, nprobe=IVF_NPROBE) if self.kind == "ivf" else
                      faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k)) if self.kind == "hnsw"
                      else faiss.SearchParameters(sel=selector))
        elif self.kind == "hnsw" and k > HNSW_EF_SEARCH:
            params = faiss.SearchParametersHNSW(efSearch=k)
        scores, ids = self._index.search(query, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def _exact_among(self, query: np.ndarray, allowed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        allowed = np.array([i for i in allowed.tolist() if i not in self._deleted], dtype=np.int64)
        try:
            vectors = self.reconstruct_many(allowed)
        except RuntimeError:  # an id the index does not hold (removed): keep the ones it does
            held = [(i, v) for i in allowed.tolist() if (v := self._reconstruct_or_none(i)) is not None]
            allowed = np.array([i for i, _ in held], dtype=np.int64)
            vectors = np.stack([v for _, v in held]) if held else np.zeros((0, self.dim), dtype=np.float32)
        if not len(allowed):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = vectors @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return scores[top].astype(np.float32), allowed[top]

    def reconstruct(self, passage_id: int) -> np.ndarray:
        return self._index.reconstruct(int(passage_id))

    def _reconstruct_or_none(self, passage_id: int) -> np.ndarray | None:
        try:
            return self._index.reconstruct(int(passage_id))
        except RuntimeError:
            return None

    def reconstruct_many(self, passage_ids: np.ndarray) -> np.ndarray:
        if self.kind == "ivf":
            return self._index.reconstruct_batch(np.asarray(passage_ids, dtype=np.int64))
        return np.stack([self._index.reconstruct(int(i)) for i in passage_ids]) if len(passage_ids) else \
            np.zeros((0, self.dim), dtype=np.float32)

    def save(self, path: Path) -> list[Path]:
        """Write the index to `path` (and its tombstones beside it); returns the files written."""
        faiss.write_index(self._index, str(path))
        written = [path]
        if self._deleted:
            sidecar = deleted_file(path)
            with open(sidecar, "wb") as handle:
                np.save(handle, np.array(sorted(self._deleted), dtype=np.int64))
            written.append(sidecar)
        return written

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        sidecar = deleted_file(path)
        deleted = np.load(sidecar, allow_pickle=False) if sidecar.exists() else None
        return cls(dim, faiss.read_index(str(path)), deleted)


def deleted_file(path: Path) -> Path:
    """Where the tombstones of the index saved at `path` are kept."""
    return path.with_name(path.name + ".deleted.npy")


def _kind_of(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexFlat):
        return "flat"
    raise ValueError(f"unsupported FAISS index type {type(inner).__name__}")
