"""`lakehouse sql` and `lakehouse reconcile` on a real lake: seeded MariaDB -> replicator -> bronze,
silver -> gold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lambda_seed
from local_aws.athena import SQL_DIR, LocalAthena
from local_aws.reconcile import MYSQL_SQL_DIR, compare_unkeyed, mysql_rows, reconcile
from spark_jobs import delta_io
from spark_jobs.main import run_layers
from tests.lakes import seeded_lake
from tests.local_aws.replicator.sourcedb import replicate

REPO = Path(__file__).resolve().parents[2]
SALT = "reconcile-test-salt"
SCALE = 0.01
NAMED_QUERIES = sorted(p.stem for p in (SQL_DIR / "queries").glob("*.sql"))


@pytest.fixture(scope="module")
def lake(spark, mysql, tmp_path_factory):
    """Seed (init) -> replicate -> bronze, silver, gold; one lake for the module."""
    root = tmp_path_factory.mktemp("lake")
    with seeded_lake(
        spark,
        mysql,
        root,
        f"sqlrec_{os.getpid()}",
        salt=SALT,
        scale=SCALE,
        seed=7,
        layers=["bronze", "silver", "gold"],
        run_id="sqlrec-test",
    ) as (cfg, source):
        yield cfg, source, root


@pytest.fixture
def env(lake, monkeypatch):
    cfg, source, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    return cfg, source


def test_reconcile_passes_on_a_lake_built_from_the_source(spark, env):
    cfg, source = env
    result = reconcile(spark, cfg, source)
    assert result.ok, "\n".join(line for c in result.failures for line in c.describe())
    names = {(c.layer, c.name) for c in result.checks}
    assert {("silver", t) for t in cfg.tables} <= names
    assert ("silver", "clients_history (current)") in names
    assert {("gold", f"query {q}") for q in NAMED_QUERIES} <= names
    assert ("gold", "fact_sales") in names
    # Real rows were compared, not two empty sides.
    assert result.check("silver", "sales_items").expected_rows > 1000
    assert result.check("gold", "fact_sales").actual_rows == result.check("silver", "sales").actual_rows


@pytest.mark.parametrize("name", NAMED_QUERIES)
def test_named_query_equals_its_mysql_twin(spark, env, name):
    cfg, source = env
    got = LocalAthena(spark, cfg).run(name)
    assert got.total_rows > 0, f"{name} returned no rows"
    conn = source.connect()
    with conn:
        conn.select_db(source.database)
        columns, rows = mysql_rows(conn, (MYSQL_SQL_DIR / "queries" / f"{name}.sql").read_text())
    assert [c.lower() for c in columns] == got.columns
    check = compare_unkeyed("gold", name, rows, got.rows, tolerance=0.0100001)
    assert check.ok, check.describe()


def test_views_keep_one_row_per_fact_row_and_resolve_every_dimension(spark, env, tmp_path):
    cfg, _ = env
    athena = LocalAthena(spark, cfg)

    def one(sql: str) -> tuple:
        path = tmp_path / "q.sql"
        path.write_text(sql)
        return athena.run(path).rows[0]

    facts = one("SELECT (SELECT COUNT(*) FROM fact_sales) AS s, (SELECT COUNT(*) FROM fact_sales_item) AS i")
    assert facts[0] > 0 and facts[1] > 0
    # Inner join on dim_date and as-of joins on the SCD2 dimensions: no row lost, none doubled.
    sales = one("SELECT COUNT(*), COUNT(segment), COUNT(country), COUNT(region) FROM v_sales")
    assert sales == (facts[0],) * 4
    assert one("SELECT COUNT(*), COUNT(category), COUNT(country) FROM v_sales_items") == (facts[1],) * 3
    conn = env[1].connect()
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{env[1].database}`.clients")
        clients = cur.fetchone()[0]
    assert one("SELECT COUNT(*), COUNT(DISTINCT client_id) FROM v_clients_current") == (clients, clients)
    # A view's own file runs too, showing what the view returns.
    assert athena.run(SQL_DIR / "views" / "v_clients_current.sql").total_rows == clients


def test_reconcile_passes_after_activity_periods(spark, env, mysql):
    """Moves the source on by two periods (updates, moves, deletes), then the lake (before any test
    below changes lake tables behind the jobs' backs)."""
    cfg, source = env
    conn = mysql.connect(database=source.database)
    with conn:
        for period in (1, 2):
            lambda_seed.activity(conn, period)
    replicate(cfg, source, cfg.env.paths["raw"])
    run_layers(spark, cfg, ["bronze", "silver", "gold"], list(cfg.tables), set(), "sqlrec-activity")
    result = reconcile(spark, cfg, source)
    assert result.ok, "\n".join(line for c in result.failures for line in c.describe())
    # The activity reached silver: price changes closed versions in the products history.
    history = delta_io.read(spark, cfg.env.table_path("silver", "products_history"))
    assert history.filter("NOT is_current").count() > 0


def test_reconcile_names_a_changed_silver_row_and_a_deleted_gold_row(spark, env):
    cfg, source = env
    silver_sales = cfg.env.table_path("silver", "sales")
    gold_items = cfg.env.table_path("gold", "fact_sales_item")
    silver_v, gold_v = delta_io.version(spark, silver_sales), delta_io.version(spark, gold_items)
    sale_id = delta_io.read(spark, silver_sales).agg({"id": "min"}).first()[0]
    item_id = delta_io.read(spark, gold_items).agg({"sales_item_id": "max"}).first()[0]
    try:
        spark.sql(f"UPDATE delta.`{silver_sales}` SET status = 'lost' WHERE id = {sale_id}")
        spark.sql(f"DELETE FROM delta.`{gold_items}` WHERE sales_item_id = {item_id}")
        result = reconcile(spark, cfg, source, layers=["silver", "gold"])
    finally:
        spark.sql(f"RESTORE TABLE delta.`{silver_sales}` TO VERSION AS OF {silver_v}")
        spark.sql(f"RESTORE TABLE delta.`{gold_items}` TO VERSION AS OF {gold_v}")
    assert not result.ok
    sales = result.check("silver", "sales")
    assert sales.different_count == 1
    assert sales.different[0][0] == sale_id
    assert sales.different[0][1]["status"][1] == "lost"
    items = result.check("gold", "fact_sales_item")
    assert (items.missing_count, items.missing) == (1, [item_id])
    # Every other silver table still matches: the report points at the two changes only.
    assert {(c.layer, c.name) for c in result.failures if c.layer == "silver"} == {("silver", "sales")}


def cli(*args, env_extra: dict | None = None, timeout: float = 300):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "local_aws.cli", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_cli_sql_prints_a_named_query_and_reconcile_exits_non_zero_on_a_difference(spark, env):
    cfg, source = env
    out = cli("sql", "sales_status_mix", "--show", "3", "--print-sql")
    assert out.returncode == 0, out.stderr
    assert "status" in out.stdout and "share_of_sales_pct" in out.stdout
    assert "FROM fact_sales" in out.stdout  # the Spark SQL it ran
    assert "rows" in out.stdout.splitlines()[-1]

    # Drop a whole day from gold: reconcile (as a command) fails and names the day.
    daily = cfg.env.table_path("gold", "agg_daily_sales")
    version = delta_io.version(spark, daily)
    day = delta_io.read(spark, daily).agg({"sale_date": "max"}).first()[0]
    spark.sql(f"DELETE FROM delta.`{daily}` WHERE sale_date = DATE'{day}'")
    try:
        mysql_env = {
            "LAKEHOUSE_MYSQL_HOST": source.host,
            "LAKEHOUSE_MYSQL_PORT": str(source.port),
            "LAKEHOUSE_MYSQL_USER": source.user,
            "LAKEHOUSE_MYSQL_PASSWORD": source.password,
            "LAKEHOUSE_MYSQL_DATABASE": source.database,
        }
        out = cli("reconcile", "--layers", "gold", env_extra=mysql_env)
    finally:
        spark.sql(f"RESTORE TABLE delta.`{daily}` TO VERSION AS OF {version}")
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"gold/agg_daily_sales: 1 missing in the lake, e.g. ['{day.isoformat()}']" in out.stdout
    assert "DIFF" in out.stdout
    assert source.password not in out.stdout + out.stderr
