"""The DAG's pure decisions: the raw-file watermark, the DMS start type, the Athena count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lakehouse_orchestration.decisions import (
    DmsNotStartable,
    Watermark,
    advance,
    dms_start_type,
    first_count,
    new_objects,
)

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 23, 10, 0, 1, tzinfo=UTC)


def obj(key: str, ts: datetime) -> dict:
    return {"Key": key, "LastModified": ts}


def test_without_a_watermark_every_object_is_new():
    listed = [obj("salesdb/sales/LOAD00000001.parquet", T0)]
    assert new_objects(listed, Watermark()) == listed


def test_objects_at_or_before_the_watermark_are_old_unless_unseen_in_its_second():
    mark = Watermark(T0, frozenset({"salesdb/sales/a.parquet"}))
    listed = [
        obj("salesdb/sales/a.parquet", T0),  # seen
        obj("salesdb/sales/b.parquet", T0),  # same second, not seen: DMS wrote it while the run listed
        obj("salesdb/sales/old.parquet", datetime(2026, 11, 23, 9, 59, 59, tzinfo=UTC)),
        obj("salesdb/sales/c.parquet", T1),
    ]
    assert [o["Key"] for o in new_objects(listed, mark)] == [
        "salesdb/sales/b.parquet",
        "salesdb/sales/c.parquet",
    ]


def test_advance_keeps_every_key_of_the_newest_second_and_never_moves_back():
    mark = advance(Watermark(), [obj("a", T0), obj("b", T1), obj("c", T1), obj("c", T1)])
    assert mark == Watermark(T1, frozenset({"b", "c"}))
    assert advance(mark, [obj("late", T0)]) == mark
    assert advance(mark, []) == mark
    assert new_objects([obj("b", T1), obj("c", T1)], mark) == []


def test_watermark_round_trips_through_json_and_reads_naive_times_as_utc():
    mark = Watermark(T1, frozenset({"b", "c"}))
    assert Watermark.from_dict(mark.to_dict()) == mark
    assert (
        Watermark.from_dict(
            {"last_modified": "2026-11-23T10:00:01", "keys_at_last_modified": []}
        ).last_modified
        == T1
    )
    assert Watermark.from_json(None) == Watermark()


def test_a_corrupt_watermark_names_its_location():
    with pytest.raises(ValueError, match=r"s3://lake/_ops/dag_watermark.json: not a valid watermark"):
        Watermark.from_json("{not json", "s3://lake/_ops/dag_watermark.json")


@pytest.mark.parametrize(
    ("status", "start_type"),
    [
        ("ready", "start-replication"),
        ("stopped", "resume-processing"),
        ("failed", "resume-processing"),
        ("running", None),
        ("starting", None),
    ],
)
def test_dms_start_type(status, start_type):
    assert dms_start_type("lakehouse-cdc", status) == start_type


def test_dms_in_a_transitional_state_is_an_error_naming_the_task():
    with pytest.raises(DmsNotStartable, match=r"lakehouse-cdc is 'modifying'"):
        dms_start_type("lakehouse-cdc", "modifying")


def _rows(*values):
    return [{"Data": [{"VarCharValue": v} for v in row]} for row in values]


def test_first_count_skips_athenas_header_row():
    result = {
        "Rows": _rows(["row_count"], ["42"]),
        "ResultSetMetadata": {"ColumnInfo": [{"Name": "row_count"}]},
    }
    assert first_count(result, "q") == 42
    assert first_count({"Rows": _rows(["7"])}, "q") == 7


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"Rows": []}, "returned no rows: SELECT 1"),
        (
            {"Rows": _rows(["row_count"]), "ResultSetMetadata": {"ColumnInfo": [{"Name": "row_count"}]}},
            "no rows",
        ),
        ({"Rows": _rows(["many"])}, "returned 'many', not a count"),
        ({"Rows": [{"Data": [{}]}]}, "returned None, not a count"),
    ],
)
def test_first_count_rejects_results_without_a_count(result, message):
    with pytest.raises(ValueError, match=message):
        first_count(result, "SELECT 1")
