"""The ingest plan: what one run decides for each record, before anything is written."""

from __future__ import annotations

from pathlib import Path

from index.ingest import IngestPlan, IngestReport, near_duplicate_index
from index.models import Article
from index.store import DocumentStore

STORY = ("Storm Doris brought winds of up to 94 miles per hour to Britain and Ireland on Thursday, closing roads, "
         "cancelling flights and cutting power to tens of thousands of homes. A woman was killed in Wolverhampton "
         "when she was struck by debris from a roof. The Met Office issued an amber warning for much of northern "
         "England and Wales, and Network Rail imposed speed limits on several lines.")


def test_the_plan_sorts_each_record_before_anything_is_written(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.sqlite")
    report = IngestReport()
    plan = IngestPlan(store, report, near_duplicate_index(store, 0.5), date_of=lambda doc_id: None)
    plan.take(Article("a", "Storm", STORY, source="BBC"))
    plan.take(Article("a", "Storm", STORY, source="BBC"))  # the same again: unchanged
    plan.take(Article("b", "Storm", STORY, source="RTÉ"))  # the same text under another id: a duplicate
    plan.take(Article("c", "Storm", "LONDON - " + STORY, source="DW"))  # a near-copy: kept as a source of "a"
    plan.take(Article("d", "Exports", "China's exports rose 7.9 percent in January.", source="China Daily"))
    pending = plan.flush()
    assert [a.doc_id for a, _ in pending.articles] == ["a", "d"] and set(pending.signatures) == {"a"}  # d: too short
    assert [(c.doc_id, c.of_id, c.source) for c in pending.copies] == [("c", "a", "DW")]
    assert (report.unchanged, report.duplicates, report.near_duplicates) == (1, 1, 1)
    assert not plan.pending and store.counts()["articles"] == 0  # nothing written: that is the index's job
