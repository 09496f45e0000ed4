"""How well the near-duplicate detector tells a republished story from another story on the same topic.

Labelled pairs are built from a news corpus (the demo corpora by default), since no labelled set of
news near-copies installs here:

- **copies** (positive): an article and a republished version of it with the edits wire copy and
  updated stories show: the lead sentence rewritten or dropped, the last one or two sentences cut, a
  sentence of another article inserted (an update), and 2-5% of the words changed or deleted. How
  strong the edits are is drawn per pair.
- **real pairs**: each article with the other article of the corpus closest to it in TF-IDF cosine,
  and articles filed under the same headline (the same event told by another outlet, a follow-up,
  a re-filed version, a daily column), labelled by a measure MinHash does not use: the Jaccard
  similarity of their sets of sentences (word for word, any case). At least half: a **real copy**
  (positive); at most a fifth: **same topic** (negative); between: left out as ambiguous (counted).
  A follow-up story that repeats its background paragraphs shares its new sentences with nothing, so it
  stays apart.

The threshold is chosen on one half of the pairs and the precision and recall reported on the other
half, then the other way round: the lowest threshold at which no pair of the fit half is wrongly taken
for a copy (precision first: a story wrongly taken for a copy is not indexed at all, while a missed
copy only shows the story twice).
`newsqa eval --task near-duplicates` prints the table.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index.ingest import IngestPlan, IngestReport
from index.models import Article
from index.near_duplicates import NearDuplicateIndex, signature, similarity
from index.store import DocumentStore
from index.sentences import sentence_spans

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.2, 0.95, 0.05))


class LabelledPair(NamedTuple):
    a: str
    b: str
    copy: bool  # True: b republishes a
    kind: str  # "edited copy", "real copy" or "same topic"


class DetectorFigures(NamedTuple):
    threshold: float
    precision: float
    recall: float
    f1: float
    f05: float  # precision weighed twice


def edited_copy(text: str, donor: str, rng: random.Random) -> str:
    """`text` republished: lead rewritten or dropped, tail cut, an update inserted, a few words changed."""
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    extra = [donor[s:e] for s, e in sentence_spans(donor)]
    if len(sentences) > 3 and rng.random() < 0.5:
        lead = sentences[0].split()
        sentences[0] = " ".join(lead[: max(3, len(lead) // 2)] + ["officials", "said", "on", "Tuesday."])
    elif len(sentences) > 3 and rng.random() < 0.3:
        sentences = sentences[1:]
    if len(sentences) > 5:
        sentences = sentences[: len(sentences) - rng.randint(0, 2)]
    if extra and rng.random() < 0.5:
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(extra))
    words = " ".join(sentences).split()
    share = rng.uniform(0.02, 0.05)
    out = []
    for word in words:
        roll = rng.random()
        if roll < share / 2:
            continue  # deleted
        out.append(rng.choice(words) if roll < share else word)  # changed
    return " ".join(out)


def shared_sentences(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' sets of sentences (word for word, any case and spacing)."""
    def sentences(text: str) -> set[str]:
        return {" ".join(text[s:e].lower().split()) for s, e in sentence_spans(text)}

    first, second = sentences(a), sentences(b)
    return len(first & second) / len(first | second) if first and second else 0.0


def labelled_pairs(articles: Sequence[Article], copies: int = 500, seed: int = 11) -> tuple[list[LabelledPair], dict[str, str]]:
    """Edited copies, and real pairs labelled by shared sentences; returns the pairs and every text by id
    (the count of ambiguous real pairs left out is in `ambiguous_pairs`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = random.Random(seed)
    texts = {a.doc_id: a.text for a in articles}
    ids = list(texts)
    pairs: list[LabelledPair] = []
    for n, doc_id in enumerate(rng.sample(ids, min(copies, len(ids)))):
        copy_id = f"{doc_id}#copy{n}"
        texts[copy_id] = edited_copy(texts[doc_id], texts[rng.choice(ids)], rng)
        pairs.append(LabelledPair(doc_id, copy_id, True, "edited copy"))
    candidates: list[tuple[str, str]] = []
    headline = {a.doc_id: " ".join(a.title.lower().split()) for a in articles}
    first_under: dict[str, str] = {}
    for doc_id in ids:
        if headline[doc_id] in first_under:
            candidates.append((first_under[headline[doc_id]], doc_id))
        elif headline[doc_id]:
            first_under[headline[doc_id]] = doc_id
    matrix = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english").fit_transform(
        [texts[i] for i in ids])
    for row in rng.sample(range(len(ids)), min(copies, len(ids))):
        scores = (matrix @ matrix[row].T).toarray().ravel()
        scores[row] = -1.0
        candidates.append((ids[row], ids[int(np.argmax(scores))]))
    seen: set[frozenset[str]] = set()
    labelled_pairs.ambiguous_pairs = 0  # type: ignore[attr-defined]
    for a, b in candidates:
        if frozenset((a, b)) in seen or texts[a] == texts[b]:
            continue
        seen.add(frozenset((a, b)))
        shared = shared_sentences(texts[a], texts[b])
        if shared >= 0.5:
            pairs.append(LabelledPair(a, b, True, "real copy"))
        elif shared <= 0.2:
            pairs.append(LabelledPair(a, b, False, "same topic"))
        else:
            labelled_pairs.ambiguous_pairs += 1  # type: ignore[attr-defined]
    return pairs, texts


def figures(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> DetectorFigures:
    predicted = np.asarray(scores) >= threshold
    truth = np.asarray(labels, dtype=bool)
    tp = int((predicted & truth).sum())
    precision = tp / int(predicted.sum()) if predicted.any() else 1.0
    recall = tp / int(truth.sum()) if truth.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0
    return DetectorFigures(threshold, precision, recall, f1, f05)


def evaluate_detector(pairs: Sequence[LabelledPair], texts: dict[str, str], seed: int = 11) -> dict:
    """Similarity of each pair; per-threshold figures; threshold chosen on one half, scored on the other."""
    signatures = {doc_id: signature(text) for doc_id, text in texts.items()}
    pairs = [p for p in pairs if signatures[p.a] is not None and signatures[p.b] is not None]  # as the product
    scores = [similarity(signatures[p.a], signatures[p.b]) for p in pairs]
    labels = [p.copy for p in pairs]
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    halves = (order[: len(order) // 2], order[len(order) // 2 :])
    crossed = []
    for fit, test in (halves, halves[::-1]):
        best = next((t for t in THRESHOLDS if figures([scores[i] for i in fit], [labels[i] for i in fit], t).precision
                     >= 1.0), THRESHOLDS[-1])
        crossed.append(figures([scores[i] for i in test], [labels[i] for i in test], best))
    kinds = {kind: [s for s, p in zip(scores, pairs) if p.kind == kind] for kind in dict.fromkeys(p.kind for p in pairs)}
    return {
        "pairs": len(pairs), "kinds": {k: len(v) for k, v in kinds.items()},
        "by_threshold": [figures(scores, labels, t) for t in THRESHOLDS],
        "cross_validated": crossed,
        "scores": kinds,
    }


def report(result: dict, chosen: float) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in result["kinds"].items())
    lines = [f"{result['pairs']} labelled pairs: {counts}", "",
             "| threshold | precision | recall | F1 | F0.5 |", "|---|---|---|---|---|"]
    for f in result["by_threshold"]:
        mark = " (the product's)" if abs(f.threshold - chosen) < 1e-9 else ""
        lines.append(f"| {f.threshold:.2f}{mark} | {f.precision:.3f} | {f.recall:.3f} | {f.f1:.3f} | {f.f05:.3f} |")
    lines.append("")
    for n, f in enumerate(result["cross_validated"], start=1):
        lines.append(f"half {n}: threshold {f.threshold:.2f} chosen on the other half -> precision {f.precision:.3f}, "
                     f"recall {f.recall:.3f}")
    for kind, values in result["scores"].items():
        values = np.array(values)
        lines.append(f"similarity, {kind}: median {np.median(values):.2f}, 5th-95th percentile "
                     f"{np.percentile(values, 5):.2f}-{np.percentile(values, 95):.2f}, max {values.max():.2f}")
    return "\n".join(lines)


def demo_near_copy_groups(articles: Sequence[Article], threshold: float) -> tuple[int, int]:
    """(groups, copies) the product's ingest plan forms over `articles` in order, into an empty index: the first of
    a story is its article."""
    with tempfile.TemporaryDirectory() as folder:
        store = DocumentStore(Path(folder) / "store.sqlite")
        plan = IngestPlan(store, IngestReport(), NearDuplicateIndex(threshold), date_of=lambda doc_id: None)
        groups: Counter[str] = Counter()
        for n, article in enumerate(articles, start=1):
            plan.take(article)
            if n % 32 == 0:  # as the index commits: the pending batch stays small
                groups.update(c.of_id for c in plan.flush().copies)
        groups.update(c.of_id for c in plan.flush().copies)
        store.close()
    return len(groups), sum(groups.values())
