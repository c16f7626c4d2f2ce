"""Gold on a real lake: incremental refresh equals a full rebuild, grain checks, no-op reruns.

Seeded MariaDB -> replicator -> bronze, silver -> gold; then activity periods (new sales,
cancelled sales deleted with their items, price changes, address moves, status changes), each
followed by an incremental gold run, which must equal gold rebuilt from scratch in another lake
root from the same silver.
"""

from __future__ import annotations

import os
import shutil

import pytest
from pyspark.sql import functions as F

import lambda_seed
from spark_jobs import delta_io
from spark_jobs.config import gold_models, load_config
from spark_jobs.jobs import gold, gold_scope, gold_write
from spark_jobs.main import run_layers
from tests.lakes import seeded_lake
from tests.local_aws.replicator.sourcedb import replicate

SALT = "gold-test-salt"
SCALE = 0.01
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(spark, mysql, tmp_path_factory):
    root = tmp_path_factory.mktemp("goldlake")
    with seeded_lake(
        spark,
        mysql,
        root,
        f"goldtest_{os.getpid()}",
        salt=SALT,
        scale=SCALE,
        seed=11,
        layers=["bronze", "silver", "gold"],
        run_id="gold-init",
    ) as (cfg, source):
        yield cfg, source, root


def _rebuilt(spark, cfg, tmp_path) -> dict[str, str]:
    """Gold rebuilt in full from a copy of silver, in a lake root of its own; model -> path."""
    other = tmp_path / "rebuild"
    shutil.copytree(cfg.env.paths["silver"], other / "silver")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_ROOT", str(other))
        cfg2 = load_config("local")
        gold.run(spark, cfg2, "gold-rebuild", {"gold"})
        return {m: cfg2.env.table_path("gold", m) for m in gold_models(cfg2)}


def _assert_same(spark, cfg, rebuilt: dict[str, str]) -> None:
    for model, path in rebuilt.items():
        mine = delta_io.read(spark, cfg.env.table_path("gold", model))
        full = delta_io.read(spark, path).select(*mine.columns)
        extra, missing = mine.exceptAll(full).collect(), full.exceptAll(mine).collect()
        assert not extra and not missing, (
            f"{model}: incremental has {extra[:3]}, full rebuild has {missing[:3]}"
        )


def records_sales(records) -> int:
    return next(r.rows_read for r in records if r.job == "gold" and r.table_name == "fact_sales")


def test_incremental_equals_full_rebuild_after_activity_periods(spark, lake, mysql, tmp_path, monkeypatch):
    cfg, source, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    # Small files, so that a refresh by range has files to leave alone.
    monkeypatch.setitem(cfg.env.settings, "gold", {**cfg.env.settings.get("gold", {}), "rows_per_file": 200})
    items_path = cfg.env.table_path("gold", "fact_sales_item")
    conn = mysql.connect(database=source.database)
    with conn:
        for period in (1, 2, 3):
            lambda_seed.activity(conn, period)
            replicate(cfg, source, cfg.env.paths["raw"])
            # Period 2 treats every model as large: the models refreshed by one integer column
            # (the facts by sale_id) replace the ranges holding the touched keys, the others
            # MERGE. Periods 1 and 3 rewrite the (small) tables.
            large = period == 2
            monkeypatch.setattr(gold_write, "REWRITE_BELOW_BYTES", 0 if large else 1 << 40)
            monkeypatch.setattr(gold_write, "REPLACE_RANGES_FROM_BYTES", 0 if large else 1 << 40)
            files_before = set(delta_io.read(spark, items_path).inputFiles())
            records = run_layers(
                spark, cfg, ["bronze", "silver", "gold"], list(cfg.tables), set(), f"p{period}"
            )
            messages = {r.table_name: r.message for r in records if r.job == "gold"}
            assert "full rebuild" not in messages.values(), messages  # it really was incremental
            how = "replaced by range" if large else "rewritten"
            assert messages["fact_sales"] == f"{records_sales(records)} sales refreshed ({how})"
            assert f"({how})" in messages["agg_client_lifetime"], messages
            assert f"({'merged' if large else 'rewritten'})" in messages["agg_daily_sales"], messages
            files_after = set(delta_io.read(spark, items_path).inputFiles())
            if not large:
                # Rewritten by one task, sorted: each file still holds one range of sale_id.
                spans = (
                    delta_io.read(spark, items_path)
                    .groupBy(F.input_file_name())
                    .agg(F.min("sale_id"), F.max("sale_id"))
                    .collect()
                )
                spans = sorted((lo, hi) for _, lo, hi in spans)
                assert len(spans) > 1, spans
                assert all(hi <= nxt for (_, hi), (nxt, _) in zip(spans[:-1], spans[1:], strict=True)), spans
            if large:
                # Only the files in a touched range were rewritten; the others are the same files.
                assert files_before & files_after and files_after - files_before, (
                    len(files_before),
                    len(files_after),
                )
    _assert_same(spark, cfg, _rebuilt(spark, cfg, tmp_path / "r"))

    # Totals from items, never across them: revenue per day equals MySQL's.
    with mysql.connect(database=source.database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT DATE(s.sold_at), COALESCE(SUM(i.line_amount), 0) FROM sales s "
            "LEFT JOIN sales_items i ON i.sale_id = s.id GROUP BY DATE(s.sold_at)"
        )
        truth = {d: v for d, v in cur.fetchall()}
    daily = delta_io.read(spark, cfg.env.table_path("gold", "agg_daily_sales")).collect()
    assert {r["sale_date"]: r["revenue"] for r in daily} == truth

    # Every item's surrogate keys name the versions valid at the sale.
    items = delta_io.read(spark, cfg.env.table_path("gold", "fact_sales_item"))
    clients = delta_io.read(spark, cfg.env.table_path("gold", "dim_client"))
    # (A sale older than the first version takes the earliest one, so only "ended before" is wrong.)
    bad = (
        items.join(clients, "client_sk")
        .filter((items.client_id != clients.client_id) | (clients.valid_to <= items.sold_at))
        .count()
    )
    assert items.filter("client_sk IS NULL OR product_sk IS NULL").count() == 0
    assert bad == 0


class Crash(Exception):
    """Stands in for a killed run: the job stops at a crash point and writes nothing more."""


def test_a_run_stopped_after_the_dimensions_still_refreshes_the_moved_facts(
    spark, lake, mysql, tmp_path, monkeypatch
):
    """The facts whose client or product version moved are named in the pending scope before
    the dimensions change, so a run stopped right after them leaves nothing stale behind."""
    cfg, source, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    with mysql.connect(database=source.database) as conn:
        lambda_seed.activity(conn, 4)  # price changes and address moves: new versions
    replicate(cfg, source, cfg.env.paths["raw"])
    run_layers(spark, cfg, ["bronze", "silver"], list(cfg.tables), set(), "p4")

    def crash_at_facts(name):
        if name == "gold:before_model:fact_sales_item":
            raise Crash(name)

    monkeypatch.setattr(gold, "crash_point", crash_at_facts)
    with pytest.raises(Crash):
        gold.run(spark, cfg, "gold-p4-crash")
    pending, _ = gold_scope.read_pending(spark, cfg)
    assert any(r[0].startswith("facts_from:") for r in pending), "the moved facts are pending"
    monkeypatch.undo()
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    gold.run(spark, cfg, "gold-p4-rerun")
    assert gold_scope.read_pending(spark, cfg)[0] == [], "the completed rerun retired the scope"
    _assert_same(spark, cfg, _rebuilt(spark, cfg, tmp_path / "r4"))


def test_a_rerun_without_changes_writes_nothing(spark, lake, monkeypatch):
    cfg, _, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    models = list(gold_models(cfg))
    before = {m: delta_io.version(spark, cfg.env.table_path("gold", m)) for m in models}
    records = gold.run(spark, cfg, "gold-noop")
    after = {m: delta_io.version(spark, cfg.env.table_path("gold", m)) for m in models}
    assert after == before
    assert {r.status for r in records} == {"noop"}


def test_a_run_after_a_killed_full_rebuild_rebuilds_again(spark, lake, mysql, tmp_path, monkeypatch):
    """A full rebuild killed half-way leaves models rebuilt from silver's new versions beside
    models still at the old ones: a refresh derived from them would miss what moved, so the next
    run, even without --full-refresh, rebuilds."""
    cfg, source, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    with mysql.connect(database=source.database) as conn:
        lambda_seed.activity(conn, 5)  # new sales, price changes, address moves
    replicate(cfg, source, cfg.env.paths["raw"])
    run_layers(spark, cfg, ["bronze", "silver"], list(cfg.tables), set(), "p5")

    def crash_at_facts(name):
        if name == "gold:before_model:fact_sales_item":
            raise Crash(name)

    with monkeypatch.context() as mp:
        mp.setattr(gold, "crash_point", crash_at_facts)
        with pytest.raises(Crash):
            gold.run(spark, cfg, "gold-p5-killed-rebuild", {"gold"})
    records = gold.run(spark, cfg, "gold-p5-rerun")
    assert {r.message for r in records} == {"full rebuild"}
    assert gold_scope.read_progress(spark, cfg), "the completed rebuild recorded its progress"
    _assert_same(spark, cfg, _rebuilt(spark, cfg, tmp_path / "r5"))


def test_the_grain_check_fails_loudly_on_an_injected_duplicate(spark, lake, monkeypatch):
    cfg, _, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    path = cfg.env.table_path("gold", "fact_sales")
    one = delta_io.read(spark, path).limit(1)
    one.write.format("delta").mode("append").save(path)
    with pytest.raises(gold_write.GrainError, match=r"fact_sales: grain violated.*sale_id"):
        gold.run(spark, cfg, "gold-dup")
    gold.run(spark, cfg, "gold-repair", {"fact_sales"})  # a full refresh repairs it
    assert delta_io.read(spark, path).groupBy("sale_id").count().filter("count > 1").count() == 0


def test_a_refresh_that_repeats_a_key_fails_and_commits_nothing(spark, lake, mysql, tmp_path, monkeypatch):
    """A small model's refresh is checked by the job that writes it: when the refreshed rows
    repeat a key, that job fails naming the model and the key, and the model keeps its version.
    The rerun, without the fault, refreshes it as a rebuild would."""
    from spark_jobs.jobs import gold_refresh

    cfg, source, root = lake
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(root))
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    with mysql.connect(database=source.database) as conn:
        lambda_seed.activity(conn, 6)
    replicate(cfg, source, cfg.env.paths["raw"])
    run_layers(spark, cfg, ["bronze", "silver"], list(cfg.tables), set(), "p6")
    path = cfg.env.table_path("gold", "fact_sales")
    version = delta_io.version(spark, path)
    build = gold_refresh.fact_sales.build

    def one_sale_twice(*args):
        rows = build(*args)
        return rows.unionByName(rows.limit(1))

    repeated = r"fact_sales: grain violated, 2 rows .*\(sale_id\) = "
    with monkeypatch.context() as mp, pytest.raises(gold_write.GrainError, match=repeated):
        mp.setattr(gold_refresh.fact_sales, "build", one_sale_twice)
        gold.run(spark, cfg, "gold-p6-repeats")
    assert delta_io.version(spark, path) == version, "the failed refresh committed nothing"
    records = {r.table_name: r for r in gold.run(spark, cfg, "gold-p6-rerun")}
    assert records["fact_sales"].status == "ok" and "rewritten" in records["fact_sales"].message
    _assert_same(spark, cfg, _rebuilt(spark, cfg, tmp_path / "r6"))
