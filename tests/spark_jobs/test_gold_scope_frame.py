"""Gold's scope frames: the keys a refresh recomputes, as a small frame to join on. Up to
MAX_INLINE_ROWS rows of ints, dates and nulls they are inline tables (a local relation the driver
holds); otherwise frames made from the Python rows. Both give the same rows."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.jobs import gold_scope

pytestmark = pytest.mark.slow

AGG_SCOPE = T.StructType([T.StructField("product_id", T.IntegerType()), T.StructField("month", T.DateType())])
ROWS = [(7, dt.date(2026, 1, 1)), (None, dt.date(2026, 2, 1)), (3, None), (7, dt.date(2026, 1, 1))]


def _plan(df) -> str:
    return df._jdf.queryExecution().optimizedPlan().toString()


def test_a_small_scope_is_an_inline_table_with_the_declared_schema(spark):
    inline = gold_scope.scope_frame(spark, AGG_SCOPE, ROWS)
    assert _plan(inline).startswith("LocalRelation")
    assert inline.schema == AGG_SCOPE
    assert_df_equality(inline, spark.createDataFrame(ROWS, AGG_SCOPE), ignore_row_order=True)


def test_a_scope_joins_like_the_frame_it_replaces(spark):
    facts = spark.createDataFrame(
        [(7, dt.date(2026, 1, 1), 1.0), (7, dt.date(2026, 3, 1), 2.0), (3, None, 3.0), (None, None, 4.0)],
        "product_id int, month date, amount double",
    )
    scope = gold_scope.scope_frame(spark, AGG_SCOPE, ROWS)
    kept = facts.join(F.broadcast(scope), on=["product_id", "month"], how="left_anti")
    # A null key matches nothing, in the scope as in the facts: only (7, January) is in scope.
    assert sorted(r["amount"] for r in kept.collect()) == [2.0, 3.0, 4.0]


def test_large_or_other_scopes_are_made_from_the_rows(spark, monkeypatch):
    ids = T.StructType([T.StructField("sale_id", T.IntegerType())])
    monkeypatch.setattr(gold_scope, "MAX_INLINE_ROWS", 3)
    many = gold_scope.scope_frame(spark, ids, [(i,) for i in range(4)])
    assert not _plan(many).startswith("LocalRelation")
    assert sorted(r[0] for r in many.collect()) == [0, 1, 2, 3]
    names = T.StructType([T.StructField("name", T.StringType())])
    text = gold_scope.scope_frame(spark, names, [("it's",)])  # no SQL literal is built from text
    assert not _plan(text).startswith("LocalRelation")
    assert text.collect()[0][0] == "it's"
    assert gold_scope.scope_frame(spark, ids, []).count() == 0
