"""Pure silver transforms on three-row inline frames, asserted with chispa."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.config import Column, Expectation, Table, load_config
from spark_jobs.transforms.silver import (
    evaluate_expectations,
    hash_pii,
    judge_changes,
    key_predicate,
    latest_per_key,
    newer_than_target,
    scd2_history,
    with_reference_flags,
)

T0 = dt.datetime(2026, 1, 1, 10, 0, 0)
CHANGES = T.StructType(
    [
        T.StructField("id", T.IntegerType()),
        T.StructField("v", T.StringType()),
        T.StructField("_op", T.StringType()),
        T.StructField("_commit_ts", T.TimestampType()),
        T.StructField("_change_seq", T.StringType()),
        T.StructField("_source_file", T.StringType()),
    ]
)


def test_latest_per_key_orders_by_commit_ts_then_change_seq(spark):
    changes = spark.createDataFrame(
        [
            (1, "old", "U", T0, "002", "f1"),
            (1, "tie-loser", "U", T0 + dt.timedelta(seconds=1), "003", "f1"),
            (1, "tie-winner", "U", T0 + dt.timedelta(seconds=1), "004", "f2"),
            (2, "full-load", "I", T0, None, "LOAD"),  # DMS full load: no change sequence
            (2, "cdc", "U", T0, "001", "f3"),
            (3, "dup", "D", T0, "009", "f4"),
            (3, "dup", "D", T0, "009", "f5"),  # the same change delivered twice
            (None, "null key", "I", T0, "010", "f6"),
        ],
        CHANGES,
    )
    expected = spark.createDataFrame(
        [
            (1, "tie-winner", "U", T0 + dt.timedelta(seconds=1), "004", "f2"),
            (2, "cdc", "U", T0, "001", "f3"),
            (3, "dup", "D", T0, "009", "f5"),
            (None, "null key", "I", T0, "010", "f6"),
        ],
        CHANGES,
    )
    assert_df_equality(latest_per_key(changes, ["id"]), expected, ignore_row_order=True)


def test_key_predicate_selects_exactly_the_listed_keys(spark):
    rows = spark.createDataFrame(
        [(1, "a"), (2, "it's"), (3, "a"), (4, "b\\'"), (None, "a"), (9, "c")], "id int, code string"
    )

    def picked(keys, values):
        return sorted(tuple(r) for r in rows.filter(key_predicate(keys, values)).collect())

    assert picked(["id"], [(2,), (4,), (7,)]) == [(2, "it's"), (4, "b\\'")]  # 3 is in range, not listed
    assert picked(["id", "code"], [(2, "it's"), (4, "b\\'"), (1, "z")]) == [(2, "it's"), (4, "b\\'")]
    assert picked(["id"], []) == []
    with pytest.raises(ValueError, match="primary key column id"):
        key_predicate(["id"], [(1.5,)])


def test_merge_guard_accepts_only_strictly_newer_changes(spark):
    rows = spark.createDataFrame(
        [
            (T0, "005", T0, "004", True),  # same second, higher sequence
            (T0, "004", T0, "004", False),  # the same change again
            (T0, "003", T0 + dt.timedelta(seconds=1), "001", False),  # older commit time
            (T0 + dt.timedelta(seconds=1), "001", T0, "999", True),  # newer commit time wins over sequence
            (T0, "001", None, None, True),  # target without lineage
            (T0, None, T0, "", False),  # missing sequence sorts first
        ],
        "s_ts timestamp, s_seq string, t_ts timestamp, t_seq string, expected boolean",
    )
    cond = newer_than_target().replace("s._commit_ts", "s_ts").replace("t._commit_ts", "t_ts")
    cond = cond.replace("s._change_seq", "s_seq").replace("t._change_seq", "t_seq")
    got = [
        (r.expected, r.ok) for r in rows.selectExpr("expected", f"coalesce({cond}, false) AS ok").collect()
    ]
    assert all(e == ok for e, ok in got), got


def test_hash_pii_is_salted_sha256_and_keeps_nulls(spark):
    df = spark.createDataFrame(
        [(1, "a@x.com", "x"), (2, None, "y"), (3, "a@x.com", "z")], "id int, email string, keep string"
    )
    expected_hash = hashlib.sha256(b"s3cret" + b"a@x.com").hexdigest()
    expected = spark.createDataFrame(
        [(1, expected_hash, "x"), (2, None, "y"), (3, expected_hash, "z")],
        "id int, email string, keep string",
    )
    assert_df_equality(hash_pii(df, ["email"], "s3cret"), expected, ignore_row_order=True)
    other = hash_pii(df, ["email"], "other").filter("id = 1").first()["email"]
    assert other != expected_hash  # the salt matters


def test_expectations_flag_each_broken_rule_with_its_policy(spark):
    table = Table(
        name="t",
        primary_key=("id",),
        columns=load_config("local").table("sales_items").columns,
        expectations=(
            Expectation(rule="not_null", policy="quarantine", columns=("id", "quantity")),
            Expectation(rule="range", policy="warn", columns=("quantity",), min=1, max=10),
            Expectation(rule="references", policy="quarantine", columns=("sale_id",), table="sales"),
        ),
    )
    rows = spark.createDataFrame(
        [(1, 100, 5, "U"), (2, 100, None, "I"), (3, 999, 50, "U"), (4, 999, None, "D")],
        "id int, sale_id int, quantity int, _op string",
    )
    sales = spark.createDataFrame([(100,)], "_ref_key int")
    out = evaluate_expectations(with_reference_flags(rows, table, {"sales": sales}), table)
    got = {r["id"]: sorted((v["rule"], v["policy"]) for v in r["_violations"]) for r in out.collect()}
    assert got == {
        1: [],
        2: [("not_null:id,quantity", "quarantine")],
        3: [("range:quantity", "warn"), ("references:sale_id", "quarantine")],
        4: [],  # deletes are never checked
    }
    assert out.columns == [*rows.columns, "_violations"]


def test_judge_changes_applies_the_newest_change_no_rule_sets_aside(spark):
    bad = [("range:v", "quarantine")]
    warn = [("in_set:v", "warn")]
    at = lambda s: T0 + dt.timedelta(seconds=s)  # noqa: E731
    schema = "id int, v string, _op string, _commit_ts timestamp, _change_seq string, _source_file string, "
    schema += "_violations array<struct<rule:string,policy:string>>"
    changes = spark.createDataFrame(
        [
            (1, "good", "I", at(0), "001", "old", []),
            (1, "warned", "U", at(1), "002", "new", warn),
            (1, "bad", "U", at(2), "003", "new", bad),  # newest, set aside: "warned" applies
            (2, "bad", "I", at(0), "004", "old", bad),  # every change set aside: none applies
            (2, "bad again", "U", at(1), "005", "new", bad),
            (3, "bad", "U", at(0), "006", "old", bad),  # delivered before, and again now
            (3, "bad", "U", at(0), "006", "new", bad),
            (3, "ok", "D", at(1), "007", "new", []),  # the delete applies
            (4, "bad", "U", at(0), "008", "new", bad),  # delivered twice in this batch
            (4, "bad", "U", at(0), "008", "new2", bad),
        ],
        schema,
    )
    judged = judge_changes(changes, ["id"], F.col("_source_file").startswith("new"))
    got = judged.select(
        "id", "v", "_source_file", "_set_aside", "_applied", "_new", "_fresh", "_to_quarantine"
    )
    expected = spark.createDataFrame(
        [
            (1, "good", "old", False, False, False, False, False),
            (1, "warned", "new", False, True, True, True, False),
            (1, "bad", "new", True, False, True, True, True),
            (2, "bad", "old", True, False, False, False, False),
            (2, "bad again", "new", True, False, True, True, True),
            (3, "bad", "old", True, False, False, False, False),
            (3, "bad", "new", True, False, True, False, False),  # delivered before: not fresh
            (3, "ok", "new", False, True, True, True, False),
            (4, "bad", "new", True, False, True, True, False),
            (4, "bad", "new2", True, False, True, True, True),
        ],
        "id int, v string, _source_file string, _set_aside boolean, _applied boolean, _new boolean, "
        "_fresh boolean, _to_quarantine boolean",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


SCD2_TABLE = Table(
    name="t",
    primary_key=("id",),
    columns=(Column("id", "int"), Column("v", "varchar(10)"), Column("updated_at", "datetime(6)")),
    scd=2,
    effective_column="updated_at",
)
SCD2_CHANGES = (
    "id int, v string, updated_at timestamp, _op string, _commit_ts timestamp, _change_seq string, "
    "_source_file string"
)
SCD2_VERSIONS = "id int, v string, valid_from timestamp, valid_to timestamp, is_current boolean"


def _history(changes):
    """SCD2_TABLE's history of `changes`, as SCD2_VERSIONS."""
    return scd2_history(changes, SCD2_TABLE, "r").select("id", "v", "valid_from", "valid_to", "is_current")


def test_scd2_history_current_version_is_the_newest_change_even_when_its_time_goes_back(spark):
    day = dt.timedelta(days=1)
    changes = spark.createDataFrame(
        [
            # Key 1: an update stamped with the server's time (day 9), then in the same second a
            # newer change stamped back to day 5 by its writer: day 5 supersedes day 9.
            (1, "a", T0, "I", T0, None, "LOAD"),
            (1, "server", T0 + 9 * day, "U", T0 + 9 * day, "010", "f1"),
            (1, "writer", T0 + 5 * day, "U", T0 + 9 * day, "011", "f1"),
            # Key 2: times that grow keep every version.
            (2, "a", T0, "I", T0, None, "LOAD"),
            (2, "b", T0 + 2 * day, "U", T0 + 2 * day, "020", "f2"),
            (2, "c", T0 + 3 * day, "U", T0 + 3 * day, "021", "f2"),
        ],
        SCD2_CHANGES,
    )
    expected = spark.createDataFrame(
        [
            (1, "a", T0, T0 + 5 * day, False),
            (1, "writer", T0 + 5 * day, None, True),
            (2, "a", T0, T0 + 2 * day, False),
            (2, "b", T0 + 2 * day, T0 + 3 * day, False),
            (2, "c", T0 + 3 * day, None, True),
        ],
        SCD2_VERSIONS,
    )
    assert_df_equality(_history(changes), expected, ignore_row_order=True, ignore_nullable=True)


def test_scd2_history_ends_a_version_at_its_delete_and_leaves_a_gap_until_the_key_returns(spark):
    day = dt.timedelta(days=1)
    changes = spark.createDataFrame(
        [
            # Key 1: inserted, deleted on day 10 (the before image keeps its day-0 time), back on day 20.
            (1, "a", T0, "I", T0, None, "LOAD"),
            (1, "a", T0, "D", T0 + 10 * day, "010", "f1"),
            (1, "b", T0 + 20 * day, "I", T0 + 20 * day, "020", "f2"),
            # Key 2: updated, then deleted on day 5: no version is current.
            (2, "a", T0, "I", T0, None, "LOAD"),
            (2, "b", T0 + 2 * day, "U", T0 + 2 * day, "030", "f1"),
            (2, "b", T0 + 2 * day, "D", T0 + 5 * day, "031", "f1"),
            # Key 3: deleted and inserted again in one second, the insert stamped earlier than the
            # delete's commit: the insert, the newer change, is current.
            (3, "a", T0, "I", T0, None, "LOAD"),
            (3, "a", T0, "D", T0 + 7 * day, "040", "f1"),
            (3, "b", T0 + 6 * day, "I", T0 + 7 * day, "041", "f1"),
        ],
        SCD2_CHANGES,
    )
    expected = spark.createDataFrame(
        [
            (1, "a", T0, T0 + 10 * day, False),
            (1, "b", T0 + 20 * day, None, True),
            (2, "a", T0, T0 + 2 * day, False),
            (2, "b", T0 + 2 * day, T0 + 5 * day, False),
            (3, "a", T0, T0 + 6 * day, False),
            (3, "b", T0 + 6 * day, None, True),
        ],
        SCD2_VERSIONS,
    )
    assert_df_equality(_history(changes), expected, ignore_row_order=True, ignore_nullable=True)


def test_scd2_history_starts_a_change_with_no_effective_time_at_its_commit(spark):
    day = dt.timedelta(days=1)
    changes = spark.createDataFrame(
        [
            # Key 1: its newest change has no business time (updated_at set to NULL); committed
            # on day 8, it is the current version from then.
            (1, "a", T0, "I", T0, None, "LOAD"),
            (1, "b", T0 + 3 * day, "U", T0 + 3 * day, "010", "f1"),
            (1, "c", None, "U", T0 + 8 * day, "011", "f2"),
            # Key 2: a change with no business time between two stamped ones.
            (2, "a", T0, "I", T0, None, "LOAD"),
            (2, "b", None, "U", T0 + 2 * day, "020", "f1"),
            (2, "c", T0 + 4 * day, "U", T0 + 4 * day, "021", "f2"),
        ],
        SCD2_CHANGES,
    )
    expected = spark.createDataFrame(
        [
            (1, "a", T0, T0 + 3 * day, False),
            (1, "b", T0 + 3 * day, T0 + 8 * day, False),
            (1, "c", T0 + 8 * day, None, True),
            (2, "a", T0, T0 + 2 * day, False),
            (2, "b", T0 + 2 * day, T0 + 4 * day, False),
            (2, "c", T0 + 4 * day, None, True),
        ],
        SCD2_VERSIONS,
    )
    assert_df_equality(_history(changes), expected, ignore_row_order=True, ignore_nullable=True)
