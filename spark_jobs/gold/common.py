"""Shared column rules of the gold models."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

VALID_FROM, VALID_TO, IS_CURRENT = "valid_from", "valid_to", "is_current"


def date_key(ts: str) -> Column:
    """yyyymmdd as an integer, the key of dim_date."""
    return F.date_format(F.col(ts), "yyyyMMdd").cast("int")


def month(ts: str) -> Column:
    """The first day of the timestamp's month."""
    return F.trunc(F.to_date(F.col(ts)), "MM")


def surrogate_key(business_key: str, valid_from: str = VALID_FROM) -> Column:
    """A version's key: a hash of the business key and the version's start, so a rebuild gives
    the same keys as the incremental runs did."""
    return F.xxhash64(F.col(business_key), F.col(valid_from))


def reach_back(history: DataFrame, business_key: str) -> DataFrame:
    """The first version of each key reaches back to the row's `created_at`.

    A full load captures only the current state, so the first version in silver's history starts
    at the last change before the load; before that the row was, as far as the lake can know, as
    that first version shows. Facts older than the first change then find a version.
    """
    first = F.min(VALID_FROM).over(Window.partitionBy(business_key))
    start = F.least(F.col("created_at"), F.col(VALID_FROM))
    return history.withColumn(
        VALID_FROM, F.when(F.col(VALID_FROM) == first, start).otherwise(F.col(VALID_FROM))
    )


def restrict(df: DataFrame, scope: DataFrame | None) -> DataFrame:
    """The rows of `df` whose scope columns hold one of the scope's values (all when None)."""
    if scope is None:
        return df
    return df.join(F.broadcast(scope), on=scope.columns, how="left_semi")


def version_at(
    facts: DataFrame, versions: DataFrame, business_key: str, at: str, sk: str, row_key: str
) -> DataFrame:
    """Add `sk`: the version of `business_key` valid at `at` (valid_from <= at < next version).

    A fact older than the first version (a sale recorded before its client's first change was
    captured) takes the earliest version, so a known key never gets a NULL surrogate key.
    """
    cand = facts.select(row_key, business_key, at).join(
        versions.select(business_key, sk, F.col(VALID_FROM).alias("_vf")), on=business_key
    )
    applies = F.col("_vf") <= F.col(at)
    order = Window.partitionBy(row_key).orderBy(
        applies.desc(), F.when(applies, F.col("_vf")).desc_nulls_last(), F.col("_vf").asc()
    )
    chosen = cand.withColumn("_rn", F.row_number().over(order)).filter("_rn = 1").select(row_key, sk)
    return facts.join(chosen, on=row_key, how="left")


def version_change_bounds(
    old: dict[int, set[dt.datetime]], new: dict[int, set[dt.datetime]]
) -> dict[int, dt.datetime | None]:
    """For each key whose versions moved, the earliest sale time whose version may have changed.

    A fact takes the version with the latest start at or before its time (the earliest version
    when none started yet, see `version_at`), and a version's key is a hash of the business key
    and its start. So where the set of starts of a key changed only at or after an instant P,
    every fact before P keeps its version; only facts from P on need recomputing. None means
    every fact of the key: its earliest version changed (or the key is new or gone), and the
    facts older than every version follow the earliest one. Keys whose starts did not change
    (only attributes did) are absent: their facts keep their surrogate keys.
    """
    bounds: dict[int, dt.datetime | None] = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key, set()), new.get(key, set())
        moved = before ^ after
        if not moved:
            continue
        first = min(moved)
        bounds[key] = None if not before or not after or first <= min(before | after) else first
    return bounds
