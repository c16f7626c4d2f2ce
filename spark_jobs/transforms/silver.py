"""Silver transforms: latest change per key, PII hashing, expectations, SCD2 history.

Ordering contract (docs/raw-zone-contract.md): a change is newer than another when its
(commit timestamp, change sequence) is greater. A missing change sequence (DMS full load) sorts
before any present one.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_jobs.config import Expectation, Table
from spark_jobs.schemas import (
    CHANGE_SEQ,
    COMMIT_TS,
    IS_CURRENT,
    OP,
    RUN_ID,
    SOURCE_FILE,
    VALID_FROM,
    VALID_TO,
    history_schema,
    silver_schema,
)

VIOLATIONS = "_violations"


def _seq() -> SparkColumn:
    return F.coalesce(F.col(CHANGE_SEQ), F.lit(""))


def change_order() -> list[SparkColumn]:
    """Newest first: commit time, then change sequence, then the file (re-deliveries are identical)."""
    return [F.col(COMMIT_TS).desc_nulls_last(), _seq().desc(), F.col(SOURCE_FILE).desc_nulls_last()]


def latest_per_key(changes: DataFrame, keys: list[str] | tuple[str, ...]) -> DataFrame:
    """The newest change of every key (deletes included), by (commit ts, change seq)."""
    w = Window.partitionBy(*keys).orderBy(*change_order())
    return changes.withColumn("_rn", F.row_number().over(w)).filter(F.col("_rn") == 1).drop("_rn")


def _newer(a_ts: str, a_seq: str, b_ts: str, b_seq: str) -> str:
    """SQL: the change at (a_ts, a_seq) is strictly newer than the one at (b_ts, b_seq)."""
    return f"({b_ts} IS NULL OR {a_ts} > {b_ts} OR ({a_ts} = {b_ts} AND {a_seq} > {b_seq}))"


def newer_than_target(source: str = "s", target: str = "t") -> str:
    """MERGE guard: the source change is strictly newer than the change that made the target row."""
    s_seq, t_seq = f"coalesce({source}.{CHANGE_SEQ}, '')", f"coalesce({target}.{CHANGE_SEQ}, '')"
    return _newer(f"{source}.{COMMIT_TS}", s_seq, f"{target}.{COMMIT_TS}", t_seq)


NEWEST = "_newest"


def newest_change() -> SparkColumn:
    """A change's place in the order, as a struct whose max is the newest change (NEWEST)."""
    return F.struct(F.col(COMMIT_TS).alias("ts"), _seq().alias("seq"))


def target_not_newer_than_newest(source: str = "s", target: str = "t") -> str:
    """MERGE guard: the target row's change is not newer than the source's NEWEST, the newest
    change the batch holds for the key (applied or set aside)."""
    t_seq = f"coalesce({target}.{CHANGE_SEQ}, '')"
    newest = f"{source}.{NEWEST}"
    return f"NOT {_newer(f'{target}.{COMMIT_TS}', t_seq, f'{newest}.ts', f'{newest}.seq')}"


def key_condition(keys: list[str] | tuple[str, ...], source: str = "s", target: str = "t") -> str:
    return " AND ".join(f"{target}.{k} = {source}.{k}" for k in keys)


def _sql_literal(column: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"primary key column {column}: cannot inline a {type(value).__name__} value")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Up to this many touched keys are listed in literal predicates (bronze read, history replace,
# reference lookups); beyond it a broadcast join and a MERGE do the same work without a long
# predicate.
MAX_LISTED_KEYS = 10_000


def key_predicate(keys: list[str] | tuple[str, ...], values: list[tuple], alias: str | None = None) -> str:
    """A SQL predicate true exactly for rows whose key is one of `values` (tuples in key order).

    Used to read, replace or MERGE only the touched keys' rows (`alias` qualifies the columns,
    e.g. `t` for a MERGE target). A range on the first key column comes first: Delta's data
    skipping prunes files on it, whatever the length of the list.
    Raises ValueError when a value cannot be written as a SQL literal (only int and str can).
    """
    if not values:
        return "FALSE"
    names = [f"{alias}.`{k}`" if alias else f"`{k}`" for k in keys]
    first = [v[0] for v in values]
    lo, hi = _sql_literal(keys[0], min(first)), _sql_literal(keys[0], max(first))
    if len(keys) == 1:
        listed = ", ".join(_sql_literal(keys[0], v[0]) for v in values)
        return f"{names[0]} BETWEEN {lo} AND {hi} AND {names[0]} IN ({listed})"
    tuples = ", ".join(
        "(" + ", ".join(_sql_literal(k, x) for k, x in zip(keys, v, strict=True)) + ")" for v in values
    )
    return f"{names[0]} BETWEEN {lo} AND {hi} AND ({', '.join(names)}) IN ({tuples})"


def hash_pii(df: DataFrame, columns: list[str] | tuple[str, ...], salt: str) -> DataFrame:
    """Replace each PII column by the hex SHA-256 of salt || value; nulls stay null."""
    salt_col = F.lit(salt)
    return df.withColumns({c: F.sha2(F.concat(salt_col, F.col(c).cast("string")), 256) for c in columns})


def _violated(exp: Expectation) -> SparkColumn:
    if exp.rule == "not_null":
        return reduce(lambda a, b: a | b, [F.col(c).isNull() for c in exp.columns])
    col = F.col(exp.columns[0])
    if exp.rule == "range":
        too_low = col < F.lit(exp.min) if exp.min is not None else F.lit(False)
        too_high = col > F.lit(exp.max) if exp.max is not None else F.lit(False)
        return col.isNotNull() & (too_low | too_high)
    if exp.rule == "in_set":
        return col.isNotNull() & ~col.isin(*exp.values)
    if exp.rule == "references":
        # Filled in by with_reference_flags: a left join against the referenced keys.
        return F.col(f"_ref_missing_{exp.columns[0]}")
    if exp.rule == "unique":
        return F.lit(False)  # the key is unique by construction; checked on the table after MERGE
    raise ValueError(f"unknown expectation rule {exp.rule!r}")


def with_reference_flags(
    df: DataFrame,
    table: Table,
    references: dict[str, DataFrame],
    expectations: tuple[Expectation, ...] | None = None,
) -> DataFrame:
    """Adds `_ref_missing_<column>` for each `references` expectation (of `expectations`, default all).

    `references` maps a referenced table name to a one-column DataFrame of its keys (named `_ref_key`).
    """
    out = df
    for exp in table.expectations if expectations is None else expectations:
        if exp.rule != "references":
            continue
        column = exp.columns[0]
        keys = references[exp.table].select(F.col("_ref_key").alias(f"_ref_{column}")).distinct()
        out = (
            out.join(keys, on=out[column] == keys[f"_ref_{column}"], how="left")
            .withColumn(
                f"_ref_missing_{column}", F.col(column).isNotNull() & F.col(f"_ref_{column}").isNull()
            )
            .drop(f"_ref_{column}")
        )
    return out


def evaluate_expectations(
    df: DataFrame, table: Table, expectations: tuple[Expectation, ...] | None = None
) -> DataFrame:
    """Adds `_violations`: (rule, policy) structs for every expectation a row breaks.

    `expectations` defaults to all of the table's.

    Deletes (Op D) are not checked: they remove a row, whatever its before image holds.
    """
    checks = [
        F.when(
            F.col(OP) != "D",
            F.when(_violated(e), F.struct(F.lit(e.name).alias("rule"), F.lit(e.policy).alias("policy"))),
        )
        for e in (table.expectations if expectations is None else expectations)
    ]
    if not checks:
        return df.withColumn(VIOLATIONS, F.array().cast("array<struct<rule:string,policy:string>>"))
    return df.withColumn(VIOLATIONS, F.filter(F.array(*checks), lambda v: v.isNotNull())).drop(
        *[c for c in df.columns if c.startswith("_ref_missing_")]
    )


def has_policy(policy: str) -> SparkColumn:
    return F.exists(F.col(VIOLATIONS), lambda v: v["policy"] == policy)


SET_ASIDE = "_set_aside"
APPLIED = "_applied"
NEW = "_new"
FRESH = "_fresh"
TO_QUARANTINE = "_to_quarantine"


def judge_changes(checked: DataFrame, keys: list[str] | tuple[str, ...], new: SparkColumn) -> DataFrame:
    """Marks what becomes of every change in `checked` (each key's whole change log, with
    `_violations` evaluated), so that a key's current state and its history agree and do not
    depend on how the changes were split into batches:

    - `_set_aside`: the change breaks a `quarantine` rule and is applied nowhere, as if it had
      never happened;
    - `_applied`: the key's newest change not set aside, the one its current state takes (none
      when every change of the key is set aside);
    - `_new`: the `new` condition (the change arrived in this batch);
    - `_fresh`: no earlier batch delivered the change (every copy of it is new), so it is news
      to silver and to the run log, where a change delivered again is not;
    - `_to_quarantine`: a fresh set-aside change, marked on one copy only however many times
      this batch delivered it.
    """
    newest_kept = Window.partitionBy(*keys).orderBy(F.col(SET_ASIDE).asc(), *change_order())
    change = [*keys, COMMIT_TS, CHANGE_SEQ]
    copies = Window.partitionBy(*change).orderBy(F.col(SOURCE_FILE).desc_nulls_last())
    # The same order, so that one sort serves both.
    every_copy = copies.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    marked = checked.withColumns({SET_ASIDE: has_policy("quarantine"), NEW: new})
    # In one projection with the other window columns, so that Spark computes the same window
    # expression once, in the window pass the others share.
    fresh = F.min(F.col(NEW).cast("int")).over(every_copy).cast("boolean")
    return marked.withColumns(
        {
            FRESH: fresh,
            APPLIED: (F.row_number().over(newest_kept) == 1) & ~F.col(SET_ASIDE),
            TO_QUARANTINE: F.col(SET_ASIDE) & (F.row_number().over(copies) == 1) & fresh,
        }
    )


def to_quarantine(violating: DataFrame, table: Table, run_id: str, policy: str = "quarantine") -> DataFrame:
    """One quarantine row per broken rule: the row as JSON, the rule, the source file, the run."""
    row_cols = [c.name for c in table.columns]
    key = F.concat_ws("|", *[F.col(k).cast("string") for k in table.primary_key])
    return violating.select(
        key.alias("row_key"),
        F.to_json(F.struct(*row_cols)).alias("row_json"),
        F.explode(F.filter(F.col(VIOLATIONS), lambda v: v["policy"] == policy)).alias("_v"),
        SOURCE_FILE,
        COMMIT_TS,
        CHANGE_SEQ,
    ).select(
        F.lit(table.name).alias("table_name"),
        "row_key",
        F.col("_v.rule").alias("rule"),
        F.col("_v.policy").alias("policy"),
        "row_json",
        SOURCE_FILE,
        COMMIT_TS,
        CHANGE_SEQ,
        F.lit(run_id).alias(RUN_ID),
        F.current_timestamp().alias("quarantined_at"),
    )


def to_silver_rows(latest: DataFrame, table: Table, run_id: str) -> DataFrame:
    """The MERGE source: one row per key in silver's column contract plus `_op`."""
    schema = silver_schema(table)
    cols = [
        F.lit(run_id).alias(RUN_ID) if f.name == RUN_ID else F.col(f.name).cast(f.dataType)
        for f in schema.fields
    ]
    return latest.select(*cols, OP)


def current_state(latest: DataFrame, table: Table, run_id: str) -> DataFrame:
    """Silver rows for a full rebuild: the latest change of each key, deletes removed."""
    return to_silver_rows(latest, table, run_id).filter(F.col(OP) != "D").drop(OP)


def scd2_history(changes: DataFrame, table: Table, run_id: str) -> DataFrame:
    """SCD type 2 versions of every key in `changes`, which must hold each key's whole change log.

    A version starts at the row's effective time (the business time of the change, e.g.
    updated_at) and ends where the next version starts, or at the commit time of a delete that
    comes before it: a key deleted and inserted again has no version between the two.

    Effective times need not grow with the changes: a later change (by commit time and change
    sequence) may carry an earlier one, as when a writer sets it from its own clock after a
    statement that set it to the server's time. A change then supersedes every earlier change
    whose effective time is not before its own, so the current version is always the newest
    change, as in the current-state table, and the versions' effective times grow with them.
    A change whose effective time is null starts at its commit time.
    """
    keys = list(table.primary_key)
    eff = table.effective_column
    assert eff is not None, f"table {table.name} has no effective_column for SCD2"
    # Every change on one timeline: a version from its effective time, a delete from its
    # commit time (its row is the before image, whose effective time is the last update's). A
    # change with no effective time starts at its commit time too: else it would sort before
    # every version and the key's current version would be an older change.
    deleted = F.col(OP) == "D"
    from_type = changes.schema[eff].dataType
    committed = F.col(COMMIT_TS).cast(from_type)
    starts = F.when(deleted | F.col(eff).isNull(), committed).otherwise(F.col(eff))
    timed = changes.withColumn("_from", starts)
    per_start = Window.partitionBy(*keys, "_from").orderBy(*change_order())
    timed = timed.withColumn("_rn", F.row_number().over(per_start)).filter(F.col("_rn") == 1)
    # The earliest start among the key's later changes (newest first: the rows before).
    later = Window.partitionBy(*keys).orderBy(*change_order()).rowsBetween(Window.unboundedPreceding, -1)
    timed = timed.withColumn("_later_from", F.min("_from").over(later)).filter(
        F.col("_later_from").isNull() | (F.col("_from") < F.col("_later_from"))
    )
    timeline = Window.partitionBy(*keys).orderBy(F.col("_from").asc())
    versions = timed.withColumn("_next_from", F.lead("_from").over(timeline)).filter(~deleted)
    shaped = versions.withColumns(
        {
            VALID_FROM: F.col("_from"),
            VALID_TO: F.col("_next_from"),
            IS_CURRENT: F.col("_next_from").isNull(),
            RUN_ID: F.lit(run_id),
        }
    )
    return shaped.select(*[F.col(f.name).cast(f.dataType) for f in history_schema(table).fields])
