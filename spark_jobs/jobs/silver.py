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

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs import delta_io
from spark_jobs.config import Config, Table
from spark_jobs.faults import crash_point
from spark_jobs.jobs.silver_batch import ExpectationFailed, batch_changes, check_batch, listed_keys
from spark_jobs.jobs.silver_references import (
    RELEASE_IDENTITY,
    count_missing_references,
    is_post_merge,
    post_merge_columns,
    releasable,
    released_path,
    releasing_rules,
)
from spark_jobs.jobs.silver_write import (
    MAX_RECORDS_PER_FILE,
    layout,
    merge_changes,
    merged_rows,
    rows_per_file,
    silver_stats,
    write_judged_history,
)
from spark_jobs.parallel import run_tables, table_parallelism
from spark_jobs.run_log import RunRecord, utcnow
from spark_jobs.schemas import (
    CHANGE_SEQ,
    COMMIT_TS,
    QUARANTINE_RELEASED_SCHEMA,
    QUARANTINE_SCHEMA,
    RUN_ID,
    silver_schema,
)
from spark_jobs.session import is_small_batch, session_conf, small_batch, small_batch_rows
from spark_jobs.transforms.silver import (
    APPLIED,
    TO_QUARANTINE,
    current_state,
    hash_pii,
    key_predicate,
    to_quarantine,
)

log = logging.getLogger(__name__)
APP_ID = "silver"
# What names one change in the quarantine, beside its rule.
QUARANTINED_CHANGE = ("row_key", COMMIT_TS, CHANGE_SEQ)


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
    rules = rules_judged(table)
    rules_file = rules_path(cfg, table)
    judged_by = delta_io.read_text(spark, rules_file)
    # The rules differ from those the table was last judged by: the run log and a warning say
    # so, and which keys keep the old judgement. (No record yet: a table first judged by a
    # release of the project that did not record them.)
    changed_rules = judged_by is not None and judged_by != rules and not full_refresh
    if consumed >= bronze_version:
        record.target_version = delta_io.version(spark, silver_path)
        note = f"bronze version {bronze_version} already applied"
        if changed_rules:
            note = f"{note}; {_rules_changed(table, 'they apply from the next change on')}"
        return record.finish("noop", note)

    # A first run or a refresh rewrites the whole table; later runs change the touched keys only.
    rebuild = consumed < 0
    changes, touched_keys, new_files = batch_changes(
        spark, cfg, table, bronze_path, consumed, bronze_version, batch_mode, file_cap
    )
    if new_files is not None and judged_by != rules:
        # The rules changed since the table was last judged (or were never recorded): the run
        # judges its keys' whole change logs as a rebuild does, old changes too.
        new_files = None
        if changed_rules:
            record.message = _rules_changed(table, "the keys this run touches are judged again by them")
        else:
            log.info("silver %s: no record of the rules it was judged by, judging every change", table.name)
    rejudge = not rebuild and new_files is None
    changes = hash_pii(changes, table.pii, salt)
    # A few listed keys: the pass that counts the batch also collects the `warn` reference values
    # of the rows the MERGE is to write (not quarantined, not deletes), for the count after every
    # table merged.
    ref_columns = [] if written_refs is None or touched_keys is None else post_merge_columns(table)
    judged, counts = check_batch(spark, cfg, table, changes, new_files, ref_columns)
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

    write_judged_history(
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
        if merge_changes(
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


def _rules_changed(table: Table, now: str) -> str:
    """The run log's note (also logged as a warning) for a table whose rules changed since it
    was last judged: `now` says what this run does about it."""
    note = (
        f"rules changed since the table was last judged: {now}; keys no run touches keep the old "
        f"judgement until `lakehouse run --layers silver --full-refresh {table.name}`"
    )
    log.warning("silver %s: %s", table.name, note)
    return note


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
    does (`merge_changes` with `rejudge`): under its own transaction id
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
    listed = listed_keys(held, keys)
    bronze = delta_io.read(spark, bronze_path, bronze_version)
    if listed is not None:
        changes = bronze.filter(F.expr(key_predicate(keys, listed)))
    else:
        wanted = spark.createDataFrame(
            [tuple(r[k] for k in keys) for r in held], bronze.select(*keys).schema
        ).distinct()
        changes = bronze.join(F.broadcast(wanted), on=keys, how="left_semi")
    # No change is new: nothing fails, nothing is quarantined again.
    judged, _ = check_batch(spark, cfg, table, hash_pii(changes, table.pii, salt), [], [])
    write_judged_history(spark, cfg, table, judged, app_id, bronze_version, run_id, listed)
    before = delta_io.version(spark, silver_path)
    merge_changes(spark, table, judged, silver_path, listed, app_id, bronze_version, run_id, None, True)
    judged.unpersist()
    crash_point(f"silver:before_release_record:{table.name}")
    changed = merged_rows(spark, silver_path, before) or 0
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
