"""End to end: seeded MariaDB -> local replicator -> bronze -> silver equals the source, row by row.

One lake is shared by the tests of this module, which run in order: init, then activity periods
replicated with DMS's bad-day behaviour (full-load/CDC overlap, files delivered twice, split
transactions) and ingested out of order, then a rerun, a full refresh and a quarantined row.
After each step every silver table must equal its MySQL table exactly (PII compared hashed).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lambda_seed import core as seed
from local_aws import run_log_view
from local_aws.mariadb import MySQLConnectionInfo
from local_aws.replicator import Faults, Options, Replicator, SourceSettings
from local_aws.replicator.oracle import source_state
from spark_jobs import delta_io, run_log
from spark_jobs.config import Config, Table, load_config
from spark_jobs.jobs.silver import quarantine_path
from spark_jobs.jobs.silver_write import history_path
from spark_jobs.main import run_layers
from spark_jobs.schemas import CHANGE_SEQ, COMMIT_TS, IS_CURRENT, RUN_ID, VALID_FROM, VALID_TO

SALT = "e2e-salt"
SCALE = 0.01


class Lake:
    """The shared state of the module: source database, lake root, configuration."""

    def __init__(self, cfg: Config, source: SourceSettings, start: tuple[str, int]):
        self.cfg, self.source, self.start = cfg, source, start
        self.raw = cfg.env.paths["raw"]
        self.period = 0
        self.runs = 0

    def connect(self):
        s = self.source
        return MySQLConnectionInfo(s.host, s.port, s.user, s.password, s.database).connect()

    def activity(self) -> None:
        self.period += 1
        conn = self.connect()
        with conn:
            seed.activity(conn, self.period)

    def replicate(self, faults: Faults | None = None) -> list[str]:
        options = Options(target=self.raw, faults=faults or Faults())
        return Replicator(self.cfg, self.source, options).run().files

    def run(self, spark, layers=("bronze", "silver"), refresh=()) -> tuple[str, list]:
        """What `lakehouse run` does in-process: the layers, then the run log."""
        self.runs += 1
        run_id = f"e2e-{self.runs}"
        records = run_layers(spark, self.cfg, list(layers), list(self.cfg.tables), set(refresh), run_id)
        run_log.write(spark, self.cfg.env.paths["ops"], records)
        failed = [r for r in records if r.status == "failed"]
        assert not failed, [(r.job, r.table_name, r.message) for r in failed]
        return run_id, records

    def silver(self, spark, name: str):
        return delta_io.read(spark, self.cfg.env.table_path("silver", name))

    def delta_paths(self) -> list[str]:
        paths = []
        for name, table in self.cfg.tables.items():
            paths += [self.cfg.env.table_path("bronze", name), self.cfg.env.table_path("silver", name)]
            if table.scd == 2:
                paths.append(history_path(self.cfg, name))
        return paths


@pytest.fixture(scope="module")
def lake(mysql, spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e-lake")
    saved = {k: os.environ.get(k) for k in ("LAKEHOUSE_ROOT", "LAKEHOUSE_PII_SALT")}
    os.environ.update(LAKEHOUSE_ROOT=str(root), LAKEHOUSE_PII_SALT=SALT)
    database = f"e2e_{uuid.uuid4().hex[:8]}"
    admin = mysql.connect(database="", autocommit=True)
    with admin, admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        cur.execute("SHOW MASTER STATUS")
        file, pos = cur.fetchone()[:2]
    source = SourceSettings.of(mysql, database)
    try:
        yield Lake(load_config("local"), source, (str(file), int(pos)))
    finally:
        admin = mysql.connect(database="", autocommit=True)
        with admin, admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cur.execute(f"DELETE FROM `{seed.META_DB}`.`state` WHERE database_name = %s", (database,))
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def hashed(table: Table, row: dict) -> dict:
    """A source row as silver must hold it: PII columns are sha256(salt || value) in hex."""
    out = {}
    for col in table.column_names:
        v = row[col]
        if col in table.pii and v is not None:
            v = hashlib.sha256(f"{SALT}{v}".encode()).hexdigest()
        out[col] = v
    return out


def exact(v):
    """Decimals compare with their scale (1.50 is not 1.5), everything else as is."""
    return (type(v).__name__, str(v)) if v is not None else None


def assert_silver_equals_source(spark, lake: Lake, skip: dict[str, set] | None = None) -> None:
    want = source_state(lake.source, lake.cfg)
    for name, table in lake.cfg.tables.items():
        keys = list(table.primary_key)
        expected = [hashed(table, r) for r in want[name]]
        expected = [r for r in expected if tuple(r[k] for k in keys) not in (skip or {}).get(name, set())]
        got = [
            r.asDict() for r in lake.silver(spark, name).select(*table.column_names).orderBy(*keys).collect()
        ]
        assert len(got) == len(expected), f"{name}: silver has {len(got)} rows, the source {len(expected)}"
        for g, w in zip(got, expected, strict=True):
            assert {k: exact(v) for k, v in g.items()} == {k: exact(v) for k, v in w.items()}, (
                f"{name}: silver {g} != source {w}"
            )
        if table.scd == 2:
            assert_history_consistent(spark, lake, table, got)


def assert_history_consistent(spark, lake: Lake, table: Table, current: list[dict]) -> None:
    """Current versions are the silver rows; each key's versions follow each other without overlap."""
    keys = list(table.primary_key)
    hist = delta_io.read(spark, history_path(lake.cfg, table.name))
    now = [
        r.asDict()
        for r in hist.filter(F.col(IS_CURRENT)).select(*table.column_names).orderBy(*keys).collect()
    ]
    assert now == current, f"{table.name}_history: current versions differ from silver"
    rows = hist.select(*keys, VALID_FROM, VALID_TO, IS_CURRENT).orderBy(*keys, VALID_FROM).collect()
    assert rows, f"{table.name}_history is empty"
    for a, b in zip(rows, rows[1:], strict=False):
        if tuple(a[k] for k in keys) != tuple(b[k] for k in keys):
            continue
        assert a[VALID_FROM] < b[VALID_FROM], f"{table.name}_history: two versions start together: {a}, {b}"
        assert a[VALID_TO] == b[VALID_FROM], (
            f"{table.name}_history: versions overlap or leave a gap: {a}, {b}"
        )
        assert not a[IS_CURRENT], f"{table.name}_history: a superseded version is current: {a}"
    for r in rows:
        assert r[IS_CURRENT] == (r[VALID_TO] is None), f"{table.name}_history: open version not current: {r}"
        if r[VALID_TO] is not None:
            assert r[VALID_FROM] <= r[VALID_TO], f"{table.name}_history: version ends before it starts: {r}"


def test_after_init_silver_equals_source(spark, lake):
    conn = lake.connect()
    with conn:
        seed.init(conn, SCALE, seed=11)
    loaded = lake.replicate()
    assert any("LOAD" in f for f in loaded)
    lake.run(spark)
    assert_silver_equals_source(spark, lake)


def test_period_with_full_load_and_cdc_overlap(spark, lake):
    lake.activity()
    # The first CDC run after the full load starts before it: init's inserts arrive again.
    files = lake.replicate(Faults(overlap_from=lake.start))
    assert files
    lake.run(spark)
    assert_silver_equals_source(spark, lake)
    # The overlap really re-delivered rows the full load holds.
    sales = delta_io.read(spark, lake.cfg.env.table_path("bronze", "sales"))
    assert sales.groupBy("id").count().filter("count > 1").limit(1).count() == 1


def test_period_with_duplicates_split_transactions_ties_and_shuffled_arrival(spark, lake):
    lake.activity()
    files = sorted(lake.replicate(Faults(duplicate_every=2, split_transactions=True)))
    assert len(files) >= 4, files
    # Deliver the later half first: bronze sees newer changes one run before older ones.
    held = Path(lake.raw).parent / "held-back"
    early = [Path(f) if os.path.isabs(f) else Path(lake.raw) / f for f in files[: len(files) // 2]]
    moved = []
    for f in early:
        if f.exists():
            target = held / f.relative_to(lake.raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, target)
            moved.append((target, f))
    assert moved, f"no file held back of {files}"
    lake.run(spark)
    for target, f in reversed(moved):
        shutil.move(target, f)
    lake.run(spark)
    assert_silver_equals_source(spark, lake)

    # Ties: a period is one transaction, so its changes share a commit timestamp; the change
    # sequence alone orders several changes of one key (e.g. a sale placed then paid).
    bronze = delta_io.read(spark, lake.cfg.env.table_path("bronze", "sales"))
    ties = bronze.groupBy("id", COMMIT_TS).agg(F.countDistinct(CHANGE_SEQ).alias("n")).filter("n > 1")
    assert ties.limit(1).count() == 1, "no key changed twice at one commit timestamp: ties untested"


def test_rerun_without_new_files_writes_nothing(spark, lake):
    before = {p: delta_io.version(spark, p) for p in lake.delta_paths()}
    run_id, records = lake.run(spark)
    assert {p: delta_io.version(spark, p) for p in lake.delta_paths()} == before
    assert {r.status for r in records} == {"noop"}
    logged = delta_io.read(spark, run_log.run_log_path(lake.cfg.env.paths["ops"])).filter(
        F.col("run_id") == run_id
    )
    assert logged.count() == 2 * len(lake.cfg.tables)
    assert logged.agg(F.sum(F.coalesce("rows_written", F.lit(0)))).first()[0] == 0
    # `lakehouse runs` reads it back: this run on top, a noop of bronze and silver over every table.
    newest = run_log_view.summaries(run_log_view.read_log(lake.cfg.env.paths["ops"]), last=2)
    assert (newest[0]["run_id"], newest[0]["status"], newest[0]["jobs"]) == (run_id, "noop", "bronze,silver")
    assert (newest[0]["tables"], newest[0]["rows_written"]) == (2 * len(lake.cfg.tables), 0)
    assert newest[1]["status"] in ("ok", "quarantined") and newest[1]["rows_written"] > 0


@pytest.mark.parametrize("name", ["clients"])
def test_full_refresh_rebuilds_one_table_equal_to_before(spark, lake, name):
    table = lake.cfg.table(name)
    cols = [*table.column_names, COMMIT_TS, CHANGE_SEQ]
    before = sorted(lake.silver(spark, name).select(*cols).collect())
    hist_cols = [*table.column_names, VALID_FROM, VALID_TO, IS_CURRENT]
    hist_before = sorted(delta_io.read(spark, history_path(lake.cfg, name)).select(*hist_cols).collect())
    others = {
        n: delta_io.version(spark, lake.cfg.env.table_path("silver", n)) for n in lake.cfg.tables if n != name
    }
    run_id, _ = lake.run(spark, layers=("silver",), refresh=(name,))
    rebuilt = lake.silver(spark, name)
    assert sorted(rebuilt.select(*cols).collect()) == before
    assert {r[RUN_ID] for r in rebuilt.select(RUN_ID).distinct().collect()} == {run_id}
    assert (
        sorted(delta_io.read(spark, history_path(lake.cfg, name)).select(*hist_cols).collect()) == hist_before
    )
    assert {n: delta_io.version(spark, lake.cfg.env.table_path("silver", n)) for n in others} == others
    # The next test's incremental run carries on after the refresh.


def test_a_row_breaking_a_quarantine_rule_lands_in_quarantine_and_the_others_land(spark, lake):
    conn = lake.connect()
    with conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM sales_people ORDER BY id DESC LIMIT 1")
        cols = [d[0] for d in cur.description]
        last = dict(zip(cols, cur.fetchone(), strict=True))
        bad, good = last["id"] + 1, last["id"] + 2
        marks = ", ".join(["%s"] * len(cols))
        for key, rate in ((bad, "1.5000"), (good, "0.0500")):  # commission_rate must be in [0, 1]
            row = {**last, "id": key, "commission_rate": rate, "email": f"p{key}@example.com"}
            cur.execute(f"INSERT INTO sales_people ({', '.join(cols)}) VALUES ({marks})", list(row.values()))
        conn.commit()
    lake.replicate()
    run_id, records = lake.run(spark)

    q = delta_io.read(spark, quarantine_path(lake.cfg)).filter(F.col(RUN_ID) == run_id).collect()
    assert [(r["table_name"], r["row_key"], r["rule"]) for r in q] == [
        ("sales_people", str(bad), "range:commission_rate")
    ]
    assert q[0]["_source_file"].startswith(("file:", "/")) and q[0]["_source_file"].endswith(".parquet")
    assert f"p{bad}@example.com" not in q[0]["row_json"]
    rec = next(r for r in records if r.job == "silver" and r.table_name == "sales_people")
    assert rec.rows_quarantined == 1
    # Everything else landed, the good new row included; only the bad key is missing.
    assert_silver_equals_source(spark, lake, skip={"sales_people": {(bad,)}})
    assert lake.silver(spark, "sales_people").filter(F.col("id") == good).count() == 1

    # Fixed at the source, the row lands on the next run.
    conn = lake.connect()
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE sales_people SET commission_rate = 0.5 WHERE id = %s", (bad,))
        conn.commit()
    lake.replicate()
    lake.run(spark)
    assert_silver_equals_source(spark, lake)


def test_no_table_uses_deletion_vectors(spark, lake):
    paths = [*lake.delta_paths(), quarantine_path(lake.cfg)]
    for path in paths:
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
        assert detail["properties"].get("delta.enableDeletionVectors", "false") == "false", path
        assert "deletionVectors" not in (detail.asDict().get("tableFeatures") or []), path
        for log_file in Path(path, "_delta_log").glob("*.json"):
            assert '"deletionVector":{' not in log_file.read_text(), f"{log_file} holds a deletion vector"
