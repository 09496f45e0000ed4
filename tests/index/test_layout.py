"""The passage table: rows as arrays, read back as PassageRefs, found by id."""

from __future__ import annotations

import numpy as np
import pytest

from index.layout import PassageRef, PassageTable

ROWS = [(3, "a", 0, 40, 0, 1), (5, "a", 41, 90, 2, 3), (9, "b", 0, 30, 0, 0)]


def test_rows_read_back_as_refs_and_are_found_by_id() -> None:
    table = PassageTable.from_rows(ROWS)
    assert len(table) == 3 and table[1] == PassageRef(5, "a", 41, 90, 2, 3) and table[-1].doc_id == "b"
    assert list(table) == [PassageRef(*row) for row in ROWS] and table[0:2] == [PassageRef(*r) for r in ROWS[:2]]
    assert table.row_of(9) == 2 and table.ids.tolist() == [3, 5, 9] and table.doc_ids == ["a", "b"]
    assert table.ids_of({"a"}).tolist() == [3, 5] and table.ids_of({"zzz"}).size == 0
    assert table.first_sentences.tolist() == [0, 2, 0]
    with pytest.raises(KeyError):
        table.row_of(4)
    with pytest.raises(IndexError):
        table[3]


def test_appending_keeps_ids_increasing_and_grows_past_its_capacity() -> None:
    table = PassageTable.from_rows(ROWS)
    with pytest.raises(ValueError, match="increasing"):
        table.extend([(7, "c", 0, 10, 0, 0)])
    table.extend([(10 + i, f"d{i // 10}", i, i + 5, 0, 0) for i in range(3000)])
    assert len(table) == 3003 and table.row_of(3009) == 3002 and table[3002].doc_id == "d299"
    assert not table.ids.flags.writeable
    np.testing.assert_array_equal(table.doc_rows[:3], [0, 0, 1])
