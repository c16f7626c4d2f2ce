"""Silver: the current state of every source table (and SCD2 history) from the bronze change log.

Incremental by version bookkeeping: silver records the bronze version it has consumed in a
Delta transaction id (appId `silver`) committed with its MERGE. A run reads the keys that
changed in bronze since then (bronze's change data feed), takes each such key's whole change
log from bronze, and keeps the newest change by (commit ts, change seq) that no `quarantine`
expectation sets aside. Because the newest change is computed over everything bronze holds,
re-delivered, shuffled or late files can never resurrect a deleted row or overwrite a newer one;
the MERGE's sequence guard makes that explicit. Commit order per table: quarantine, history,
current state (which holds the progress).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import operator

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from spark_jobs import delta_io
from spark_jobs.config import Config, Table
from spark_jobs.faults import crash_point
from spark_jobs.jobs.silver_references import (
    RELEASE_IDENTITY,
    count_missing_references,
    is_post_merge,
    parent_keys,
    post_merge_columns,
    releasable,
    released_path,
    releasing_rules,
)
from spark_jobs.jobs.silver_write import (
    MAX_RECORDS_PER_FILE,
    layout,
    merge_wrote,
    rows_per_file,
    silver_stats,
    write_history,
)
from spark_jobs.parallel import run_tables, table_parallelism
from spark_jobs.run_log import RunRecord, utcnow
from spark_jobs.schemas import (
    CHANGE_SEQ,
    COMMIT_TS,
    OP,
    QUARANTINE_RELEASED_SCHEMA,
    QUARANTINE_SCHEMA,
    RUN_ID,
    SOURCE_FILE,
    silver_schema,
)
from spark_jobs.session import is_small_batch, session_conf, small_batch, small_batch_rows
from spark_jobs.transforms.silver import (
    APPLIED,
    FRESH,
    MAX_LISTED_KEYS,
    NEW,
    NEWEST,
    SET_ASIDE,
    TO_QUARANTINE,
    VIOLATIONS,
    current_state,
    evaluate_expectations,
    has_policy,
    hash_pii,
    judge_changes,
    key_condition,
    key_predicate,
    newer_than_target,
    newest_change,
    target_not_newer_than_newest,
    to_quarantine,
    to_silver_rows,
    with_reference_flags,
)

log = logging.getLogger(__name__)
APP_ID = "silver"
# What names one change in the quarantine, beside its rule.
QUARANTINED_CHANGE = ("row_key", COMMIT_TS, CHANGE_SEQ)


class ExpectationFailed(RuntimeError):
    """A `fail` expectation was broken; the message names the table, rule and keys."""


def quarantine_path(cfg: Config) -> str:
    return cfg.env.table_path("ops", "quarantine_rows")


def _not_yet_quarantined(spark: SparkSession, cfg: Config, table: Table, rows: DataFrame) -> DataFrame:
    """The quarantine rows of `table` that the quarantine does not hold yet, for the same change
    (key, commit ts, change seq) and rule, whichever file and run it came from; detached from the
    quarantine table they are read against (`delta_io.detached`)."""
    held = (
        delta_io.read(spark, quarantine_path(cfg))
        .filter(F.col("table_name") == table.name)
        .select(*[F.col(c).alias(f"_held{c}") for c in (*QUARANTINED_CHANGE, "rule")])
    )
    same = [F.col(c).eqNullSafe(F.col(f"_held{c}")) for c in (*QUARANTINED_CHANGE, "rule")]
    return delta_io.detached(rows.join(held, functools.reduce(operator.and_, same), "left_anti"))


def rules_path(cfg: Config, table: Table) -> str:
    return cfg.env.table_path("ops", f"silver_rules/{table.name}.json")


def rules_judged(table: Table) -> str:
    """The table's rules that decide a change's fate (`quarantine`, `fail`), as the JSON silver
    records once a run has judged every change of its batch by them (`rules_path`)."""
    rules = sorted((dataclasses.asdict(e) for e in table.expectations if e.policy != "warn"), key=json.dumps)
    return json.dumps({"table": table.name, "rules": rules}, sort_keys=True, default=str)


def ensure_quarantine(spark: SparkSession, cfg: Config) -> None:
    """The quarantine of rows and the record of the rows released from it, empty until one is
    quarantined: tables from the first run on, so that they can always be queried
    (sql/athena/ops; the gold crawler catalogues them on AWS)."""
    delta_io.ensure_table(spark, quarantine_path(cfg), QUARANTINE_SCHEMA, delta_io.OPS_TABLE_PROPERTIES)
    props = delta_io.OPS_TABLE_PROPERTIES
    delta_io.ensure_table(spark, released_path(cfg), QUARANTINE_RELEASED_SCHEMA, props)


def dependency_order(cfg: Config, names: list[str]) -> list[str]:
    """Referenced tables first, so referential checks see this run's parents."""
    ordered: list[str] = []

    def visit(name: str, stack: tuple[str, ...] = ()) -> None:
        if name in ordered or name in stack:
            return
        for _, ref, _ in cfg.table(name).foreign_keys:
            if ref in names:
                visit(ref, (*stack, name))
        ordered.append(name)

    for n in names:
        visit(n)
    return ordered


def _listed_keys(rows: list[Row], keys: list[str]) -> list[tuple] | None:
    """The distinct keys of `rows`, or None when they are of a type SQL literals cannot carry."""
    # A null key never joins (the semi-join it replaces drops it too).
    values = sorted({v for v in (tuple(r[k] for k in keys) for r in rows) if None not in v})
    try:
        key_predicate(keys, values)
    except ValueError:
        return None  # a key type SQL literals cannot carry: join instead
    return values


def merge_table(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    run_id: str,
    salt: str,
    full_refresh: bool = False,
    written_refs: dict[str, dict[str, list]] | None = None,
) -> RunRecord:
    """Apply the bronze changes silver has not seen yet to one table (or rebuild it).

    An incremental run touching few keys runs as a small batch (session.small_batch) in
    `spark`, which should be the table's own session; its conf is restored on return.
    `written_refs`: when the MERGE provably wrote every row the run applies, the values of the
    `warn` reference columns of those rows are put there under the table's name (see
    count_missing_references), so they need not be read back from silver.
    """
    with contextlib.ExitStack() as batch_mode, contextlib.ExitStack() as file_cap:
        record = _merge_table(
            spark, cfg, table, run_id, salt, full_refresh, batch_mode, file_cap, written_refs
        )
    if releasing_rules(table) and record.source_version_to is not None:
        with (
            small_batch(spark, small_batch_rows(cfg) > 0),
            session_conf(spark, {MAX_RECORDS_PER_FILE: str(rows_per_file(cfg))}),
        ):
            _release(spark, cfg, table, run_id, salt, record, written_refs)
    return record


def _merge_table(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    run_id: str,
    salt: str,
    full_refresh: bool,
    batch_mode: contextlib.ExitStack,
    file_cap: contextlib.ExitStack,
    written_refs: dict[str, dict[str, list]] | None,
) -> RunRecord:
    record = RunRecord(run_id=run_id, job="silver", table_name=table.name)
    bronze_path = cfg.env.table_path("bronze", table.name)
    silver_path = cfg.env.table_path("silver", table.name)
    bronze_version = delta_io.version(spark, bronze_path)
    if bronze_version is None:
        return record.finish("noop", f"no bronze table at {bronze_path}")
    delta_io.ensure_table(spark, silver_path, silver_schema(table), silver_stats(table))
    consumed = -1 if full_refresh else delta_io.progress(spark, silver_path, APP_ID)
    record.source_version_from, record.source_version_to = consumed, bronze_version
    if consumed >= bronze_version:
        record.target_version = delta_io.version(spark, silver_path)
        return record.finish("noop", f"bronze version {bronze_version} already applied")

    # A first run or a refresh rewrites the whole table; later runs change the touched keys only.
    rebuild = consumed < 0
    changes, touched_keys, new_files = _batch_changes(
        spark, cfg, table, bronze_path, consumed, bronze_version, batch_mode, file_cap
    )
    rules = rules_judged(table)
    rules_file = rules_path(cfg, table)
    if new_files is not None and delta_io.read_text(spark, rules_file) != rules:
        # The rules changed since the table was last judged (or were never recorded): the run
        # judges its keys' whole change logs as a rebuild does, old changes too.
        log.info("silver %s: rules changed since the last run, judging every change of the batch", table.name)
        new_files = None
    rejudge = not rebuild and new_files is None
    changes = hash_pii(changes, table.pii, salt)
    # A few listed keys: the pass that counts the batch also collects the `warn` reference values
    # of the rows the MERGE is to write (not quarantined, not deletes), for the count after every
    # table merged.
    ref_columns = [] if written_refs is None or touched_keys is None else post_merge_columns(table)
    judged, counts = _check_batch(spark, cfg, table, changes, new_files, ref_columns)
    record.rows_read = int(counts["read"] or 0)
    record.rows_written = int(counts["applied"] or 0)  # the keys taking a change (deletes too)
    record.rows_quarantined = int(counts["quarantine"] or 0)
    record.rows_warned = int(counts["warn"] or 0)

    # Refresh runs write under their own appId so that they always apply, even at a version
    # the incremental appId has already recorded.
    app_id = f"{APP_ID}:refresh:{run_id}" if full_refresh else APP_ID
    if record.rows_quarantined:
        ensure_quarantine(spark, cfg)
        rows = to_quarantine(judged.filter(F.col(TO_QUARANTINE)), table, run_id)
        # A rebuild judges every change again, and a run retried after one that quarantined
        # but did not merge (bronze may have moved on since, so the append's transaction id
        # differs) judges the same changes again: either quarantines what no earlier run did.
        retried = (
            new_files is not None
            and delta_io.progress(spark, quarantine_path(cfg), f"{app_id}:{table.name}") > consumed
        )
        if new_files is None or retried:
            rows = _not_yet_quarantined(spark, cfg, table, rows)
            record.rows_quarantined = rows.select(*QUARANTINED_CHANGE).distinct().count()
        if record.rows_quarantined:
            delta_io.append_once(rows, quarantine_path(cfg), f"{app_id}:{table.name}", bronze_version)
        rows.unpersist()
    crash_point(f"silver:before_history:{table.name}")

    _write_history(
        spark, cfg, table, judged, app_id, bronze_version, run_id, touched_keys, rebuild, record.rows_read
    )

    crash_point(f"silver:before_merge:{table.name}")
    if rebuild:
        keys = list(table.primary_key)
        applied = judged.filter(F.col(APPLIED))
        state = layout(current_state(applied, table, run_id), keys, record.rows_written, rows_per_file(cfg))
        delta_io.overwrite(state, silver_path, app_id, bronze_version)
    else:
        writes = int(counts["_writes"] or 0) if ref_columns else None
        if _merge_changes(
            spark, table, judged, silver_path, touched_keys, app_id, bronze_version, run_id, writes, rejudge
        ):
            written_refs[table.name] = {c: list(counts[f"_refs_{i}"]) for i, c in enumerate(ref_columns)}
    crash_point(f"silver:after_merge:{table.name}")
    if rebuild:
        # Incremental MERGEs cannot break the key: Delta rejects a source row matching two
        # targets and the source holds one row per key. Rebuilds are checked in full.
        _check_grain(spark, silver_path, table)
    judged.unpersist()
    if new_files is None:
        delta_io.write_text(spark, rules_file, rules)
    record.target_version = delta_io.version(spark, silver_path)
    return record.finish("ok")


def _write_history(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    judged: DataFrame,
    app_id: str,
    bronze_version: int,
    run_id: str,
    touched: list[tuple] | None,
    rebuild: bool = False,
    rows: int = 0,
) -> None:
    """The SCD2 history of `judged`'s keys (an SCD2 table's only), from every change no rule sets
    aside, whichever run quarantined it: the history ends in the same change as the current
    state. A key all of whose changes are set aside loses its history."""
    if table.scd != 2:
        return
    kept = judged.filter(~F.col(SET_ASIDE))
    affected = judged.select(*table.primary_key)
    write_history(spark, cfg, table, kept, app_id, bronze_version, run_id, rebuild, touched, rows, affected)


def _release(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    run_id: str,
    salt: str,
    record: RunRecord,
    written_refs: dict[str, dict[str, list]] | None,
) -> None:
    """Bring back the changes a `quarantine` references rule set aside whose parent has landed
    since (`releasable`), once this run's own batch has merged.

    DMS writes each table's files on its own schedule, so a child can land a run before its
    parent. The keys of such changes are judged again from their whole change logs, against the
    parents silver holds now, and their current state and history replaced as a re-judging run
    does (`_merge_changes` with `rejudge`): under its own transaction id
    (`silver:release:<run id>`), so that it applies whether or not bronze moved. Then each
    released quarantine row is recorded in `_ops/quarantine_released`, so that no later run
    releases it again; a run killed in between releases the same changes again, which the
    MERGE's guard makes a no-op. Skipped while the table's rules differ from those it was last
    judged by: the next run with changes judges them anew, and then releases.
    """
    held = releasable(spark, cfg, table, quarantine_path(cfg))
    if not held:
        return
    if delta_io.read_text(spark, rules_path(cfg, table)) != rules_judged(table):
        log.info("silver %s: rules changed, releasing quarantined changes after they are judged", table.name)
        return
    keys = list(table.primary_key)
    bronze_path = cfg.env.table_path("bronze", table.name)
    silver_path = cfg.env.table_path("silver", table.name)
    bronze_version = delta_io.version(spark, bronze_path)
    app_id = f"{APP_ID}:release:{run_id}"
    listed = _listed_keys(held, keys) if len(held) <= MAX_LISTED_KEYS else None
    bronze = delta_io.read(spark, bronze_path, bronze_version)
    if listed is not None:
        changes = bronze.filter(F.expr(key_predicate(keys, listed)))
    else:
        wanted = spark.createDataFrame(
            [tuple(r[k] for k in keys) for r in held], bronze.select(*keys).schema
        ).distinct()
        changes = bronze.join(F.broadcast(wanted), on=keys, how="left_semi")
    # No change is new: nothing fails, nothing is quarantined again.
    judged, _ = _check_batch(spark, cfg, table, hash_pii(changes, table.pii, salt), [], [])
    _write_history(spark, cfg, table, judged, app_id, bronze_version, run_id, listed)
    before = delta_io.version(spark, silver_path)
    _merge_changes(spark, table, judged, silver_path, listed, app_id, bronze_version, run_id, None, True)
    judged.unpersist()
    crash_point(f"silver:before_release_record:{table.name}")
    info = delta_io.commit_info(spark, silver_path, before + 1) or {}
    metrics = info.get("operationMetrics") or {}
    changed = sum(int(metrics.get(m, 0)) for m in ("numTargetRowsInserted", "numTargetRowsUpdated"))
    at = utcnow()
    done = {"table_name": table.name, RUN_ID: run_id, "released_at": at}
    released = delta_io.rows_frame(
        spark, [{**{c: r[c] for c in RELEASE_IDENTITY}, **done} for r in held], QUARANTINE_RELEASED_SCHEMA
    )
    delta_io.append_once(released, released_path(cfg), f"{app_id}:{table.name}", bronze_version)
    if written_refs is not None:
        written_refs.pop(table.name, None)  # the `warn` count reads the run's rows back instead
    record.rows_written = (record.rows_written or 0) + changed
    record.target_version = delta_io.version(spark, silver_path)
    note = f"{len(held)} quarantined change(s) released, their parent landed ({changed} row(s) written)"
    log.info("silver %s: %s", table.name, note)
    record.finish("ok", note if record.status == "noop" else f"{record.message or ''} {note}".strip())


def _batch_changes(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    bronze_path: str,
    consumed: int,
    bronze_version: int,
    batch_mode: contextlib.ExitStack,
    file_cap: contextlib.ExitStack,
) -> tuple[DataFrame, list[tuple] | None, list[str] | None]:
    """The bronze rows a run applies; the keys they touch when those are few enough to list
    (else None); the source files bronze ingested after version `consumed` (None: every file).
    A rebuild (`consumed` < 0) applies all of bronze. An incremental run applies the whole change
    logs of the keys bronze changed after version `consumed`; it enters its file cap on
    `file_cap` and, while those keys are few, small batch mode on `batch_mode`."""
    keys = list(table.primary_key)
    bronze = delta_io.read(spark, bronze_path, bronze_version)
    if consumed < 0:
        return bronze, None, None
    # Files the MERGE and the history replace write hold at most `silver_rows_per_file` rows:
    # the file holding the newest keys, rewritten by every run with the run's new rows added,
    # would otherwise grow by them run after run, and so would every run's copy of it.
    file_cap.enter_context(session_conf(spark, {MAX_RECORDS_PER_FILE: str(rows_per_file(cfg))}))
    # A small batch until the touched keys prove otherwise.
    batch_mode.enter_context(small_batch(spark, small_batch_rows(cfg) > 0))
    touched = (
        delta_io.read_changes(spark, bronze_path, consumed + 1, bronze_version)
        .filter(F.col("_change_type") == "insert")
        .select(*keys, SOURCE_FILE)
    )
    rows = touched.limit(MAX_LISTED_KEYS + 1).collect()
    if len(rows) > MAX_LISTED_KEYS:
        touched_keys = None
        new_files = {r[0] for r in touched.select(SOURCE_FILE).distinct().collect()}
    else:
        touched_keys = _listed_keys(rows, keys)
        new_files = {r[SOURCE_FILE] for r in rows}
    new_files = sorted(f for f in new_files if f is not None)
    if not is_small_batch(cfg, None if touched_keys is None else len(touched_keys)):
        batch_mode.close()  # compiled code for the rest
    if touched_keys is not None:
        # Few keys: a literal filter, so Delta skips bronze files by key range and the touched
        # rows' full change logs are read without a join.
        return bronze.filter(F.expr(key_predicate(keys, touched_keys))), touched_keys, new_files
    semi = F.broadcast(touched.select(*keys).distinct())
    return bronze.join(semi, on=keys, how="left_semi"), None, new_files


def _check_batch(
    spark: SparkSession,
    cfg: Config,
    table: Table,
    changes: DataFrame,
    new_files: list[str] | None,
    ref_columns: list[str],
) -> tuple[DataFrame, Row]:
    """Every change with its expectations evaluated and its fate marked (`judge_changes`; cached),
    and one pass of counts over it: changes read, keys applied (`applied`), changes to quarantine,
    applied rows that warn, new changes that fail and, given `ref_columns`, the rows to write
    (`_writes`) and their values of those columns (`_refs_<i>`). `new_files`: the files of this
    batch's changes (None: all). Raises ExpectationFailed, naming the rules and some keys, when a
    new change breaks a `fail` expectation."""
    keys = list(table.primary_key)
    pre = tuple(e for e in table.expectations if not is_post_merge(e))
    flagged = with_reference_flags(changes, table, parent_keys(spark, cfg, pre), pre)
    if new_files is None:
        new = F.lit(True)
    else:
        new = F.col(SOURCE_FILE).isin(new_files) if new_files else F.lit(False)
    judged = judge_changes(evaluate_expectations(flagged, table, pre), keys, new).cache()
    # The run log counts what is news to silver: a key's applied change delivered before (again
    # now, or the last applied when its new changes are set aside) is neither written nor warned
    # about again, and the MERGE's guard holds it back.
    taken = F.col(APPLIED) & F.col(FRESH)
    writes = taken & (F.col(OP) != "D")
    fails = has_policy("fail") & F.col(NEW)
    collected = [F.sum(writes.cast("long")).alias("_writes")] if ref_columns else []
    collected += [
        F.collect_list(F.when(writes, F.col(c))).alias(f"_refs_{i}") for i, c in enumerate(ref_columns)
    ]
    counts = judged.agg(
        F.count("*").alias("read"),
        F.sum(taken.cast("long")).alias("applied"),
        F.sum(F.col(TO_QUARANTINE).cast("long")).alias("quarantine"),
        F.sum((taken & has_policy("warn")).cast("long")).alias("warn"),
        F.sum(fails.cast("long")).alias("fail"),
        *collected,
    ).first()
    if any(e.policy == "fail" for e in pre) and counts["fail"]:
        failing = judged.filter(fails)
        sample = [r[keys[0]] for r in failing.select(*keys).limit(5).collect()]
        rules = sorted({v["rule"] for r in failing.select(VIOLATIONS).limit(100).collect() for v in r[0]})
        raise ExpectationFailed(f"silver {table.name}: rule(s) {', '.join(rules)} failed for keys {sample}")
    return judged, counts


def _merge_changes(
    spark: SparkSession,
    table: Table,
    judged: DataFrame,
    silver_path: str,
    touched_keys: list[tuple] | None,
    app_id: str,
    bronze_version: int,
    run_id: str,
    writes: int | None,
    rejudge: bool,
) -> bool:
    """MERGE each key's applied change (`judged`'s `_applied` rows) into the current state, a
    sequence guard keeping any row newer than every change the batch holds for its key.

    Judged by unchanged rules, a key's applied change is never older than its row in silver, and
    the guard keeps any row newer than the change itself. Re-judged (`rejudge`: the rules
    changed), a key's row may come from a change the rules now set aside, newer than its applied
    change: the guard then compares the row with the key's newest change (NEWEST), and a key
    none of whose changes applies any more is deleted.
    Given `writes` (the rows the run is to insert or update), True when the MERGE's commit
    shows it wrote exactly those (merge_wrote); False otherwise."""
    keys = list(table.primary_key)
    columns = [f.name for f in silver_schema(table).fields]
    condition = key_condition(keys)
    if touched_keys is not None:
        # A condition on the target alone lets Delta skip the files holding none of the keys.
        condition += f" AND {key_predicate(keys, touched_keys, 't')}"
    applied = to_silver_rows(judged.filter(F.col(APPLIED)), table, run_id)
    if rejudge:
        newest = judged.groupBy(*keys).agg(F.max(newest_change()).alias(NEWEST))
        source = newest.join(applied, on=keys, how="left").withColumn(OP, F.coalesce(F.col(OP), F.lit("D")))
    else:
        source = applied.withColumn(NEWEST, newest_change())
    held = target_not_newer_than_newest()
    # Newer than the row; or older, in place of a row the rules now set aside (re-judged only).
    replaces = f"({newer_than_target()} OR ({held} AND {newer_than_target('t', 's')}))"
    before = delta_io.version(spark, silver_path) if writes is not None else None
    delta_io.merge_once(
        spark,
        source,
        silver_path,
        condition,
        app_id,
        bronze_version,
        matched_delete=f"s.{OP} = 'D' AND {held}",
        matched_update=f"s.{OP} <> 'D' AND {replaces}",
        update_set={c: f"s.{c}" for c in columns},
        not_matched_insert=f"s.{OP} <> 'D'",
        insert_values={c: f"s.{c}" for c in columns},
        deterministic_source=True,  # built from a pinned bronze version
    )
    return writes is not None and merge_wrote(spark, silver_path, before, writes)


def _check_grain(spark: SparkSession, path: str, table: Table) -> None:
    """Fail loudly when the primary key is not unique in silver."""
    pk = list(table.primary_key)
    current = delta_io.read(spark, path)
    dupes = current.groupBy(*pk).count().filter(F.col("count") > 1).limit(5).collect()
    if dupes:
        raise ExpectationFailed(
            f"silver {table.name}: primary key {pk} is not unique, e.g. {[tuple(r)[:-1] for r in dupes]}"
        )


def run(
    spark: SparkSession,
    cfg: Config,
    tables: list[str],
    run_id: str,
    salt: str,
    full_refresh: set[str] | None = None,
) -> list[RunRecord]:
    full_refresh = full_refresh or set()
    ensure_quarantine(spark, cfg)
    # A table waits for its parents only when it checks references before its MERGE.
    depends_on = {
        n: [e.table for e in cfg.table(n).expectations if e.rule == "references" and not is_post_merge(e)]
        for n in tables
    }
    workers = table_parallelism(cfg)
    written_refs: dict[str, dict[str, list]] = {}
    records = run_tables(
        spark,
        "silver",
        run_id,
        dependency_order(cfg, tables),
        lambda session, n: merge_table(
            session, cfg, cfg.table(n), run_id, salt, n in full_refresh, written_refs
        ),
        depends_on,
        workers=workers,
    )
    # Once every table has merged, count `warn` references against up-to-date parents.
    by_name = {r.table_name: r for r in records}
    to_check = [
        n
        for n in tables
        if by_name[n].status == "ok"
        and by_name[n].rows_written
        and any(is_post_merge(e) for e in cfg.table(n).expectations)
    ]

    def check(session: SparkSession, name: str) -> RunRecord:
        record = by_name[name]
        with small_batch(session, is_small_batch(cfg, record.rows_written)):
            missing = count_missing_references(
                session, cfg, cfg.table(name), run_id, record.rows_written, written_refs.get(name)
            )
        record.rows_warned = (record.rows_warned or 0) + missing
        return record

    run_tables(spark, "silver", run_id, to_check, check, workers=workers)
    return records
