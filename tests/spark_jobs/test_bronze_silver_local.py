"""Bronze and silver on hand-written raw files: ordering, deletes, duplicates, quarantine, reruns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import logging
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from spark_jobs import delta_io
from spark_jobs.config import Expectation, load_config
from spark_jobs.jobs import silver as silver_job
from spark_jobs.jobs import silver_batch
from spark_jobs.jobs.silver_write import history_path
from spark_jobs.main import run_layers
from spark_jobs.parallel import LayerFailed
from spark_jobs.schemas import RUN_ID
from spark_jobs.session import SMALL_BATCH_CONF
from tests.rawfiles import client, product, seq, ts, write_raw

SALT = "test-salt"


@pytest.fixture
def cfg(lake_root, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", SALT)
    return load_config("local")


def run(spark, cfg, layers=("bronze", "silver"), tables=("clients", "products"), refresh=()):
    return run_layers(spark, cfg, list(layers), list(tables), set(refresh), "run-test")


def silver(spark, cfg, table):
    return {r["id"]: r for r in delta_io.read(spark, cfg.env.table_path("silver", table)).collect()}


def sha(spark, value):
    return spark.range(1).select(F.sha2(F.concat(F.lit(SALT), F.lit(value)), 256)).first()[0]


def test_latest_change_wins_deletes_apply_and_duplicates_are_harmless(spark, cfg):
    write_raw(
        cfg,
        "clients",
        "LOAD00000001.parquet",
        [client(1, "a@x", 0), client(2, "b@x", 0), client(3, "c@x", 0)],
    )
    # CDC: client 1 changes twice in one second (seq breaks the tie), client 2 is deleted.
    cdc = [
        client(1, "a2@x", 1, op="U", at=10, sq=5),
        client(1, "a3@x", 2, op="U", at=10, sq=6),
        client(2, "b@x", 0, op="D", at=11, sq=7),
    ]
    write_raw(cfg, "clients", "20260101-000010000.parquet", cdc)
    # The same changes delivered again under another name, as DMS does after a retry.
    write_raw(cfg, "clients", "20260101-000010001.parquet", list(reversed(cdc)))
    run(spark, cfg, tables=("clients",))

    rows = silver(spark, cfg, "clients")
    assert sorted(rows) == [1, 3]
    assert rows[1]["email"] == sha(spark, "a3@x")
    assert rows[1]["updated_at"] == dt.datetime(2025, 1, 3)
    bronze = delta_io.read(spark, cfg.env.table_path("bronze", "clients"))
    assert bronze.count() == 9  # the change log keeps every delivered row


@pytest.fixture(params=["listed", "joined"])
def touched_keys(request, monkeypatch):
    """Incremental silver lists few touched keys in predicates and joins many: test both ways."""
    if request.param == "joined":
        monkeypatch.setattr(silver_batch, "MAX_LISTED_KEYS", 0)
    return request.param


@pytest.fixture(params=["small", "compiled"])
def batch_mode(request, cfg):
    """Incremental runs of few rows run interpreted (session.small_batch); `compiled` turns
    that off (`spark.small_batch_rows: 0`), so both ways give the same tables."""
    if request.param == "compiled":
        cfg.env.settings.setdefault("spark", {})["small_batch_rows"] = 0
    return request.param


def test_an_older_change_arriving_late_never_wins_and_never_resurrects(spark, cfg, touched_keys, batch_mode):
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0), client(2, "b@x", 0)])
    write_raw(
        cfg,
        "clients",
        "20260101-000020000.parquet",
        [client(1, "new@x", 5, op="U", at=20, sq=20), client(2, "b@x", 0, op="D", at=21, sq=21)],
    )
    run(spark, cfg, tables=("clients",))
    # A file with older changes arrives afterwards (out of order), in a later run.
    write_raw(
        cfg,
        "clients",
        "20260101-000015000.parquet",
        [client(1, "old@x", 3, op="U", at=15, sq=15), client(2, "b2@x", 2, op="U", at=15, sq=16)],
    )
    run(spark, cfg, tables=("clients",))
    rows = silver(spark, cfg, "clients")
    assert sorted(rows) == [1]
    assert rows[1]["email"] == sha(spark, "new@x")


def test_second_run_without_new_files_changes_no_table(spark, cfg):
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "9.99", 0)])
    run(spark, cfg)
    paths = [cfg.env.table_path(layer, t) for layer in ("bronze", "silver") for t in ("clients", "products")]
    paths.append(cfg.env.table_path("silver", "clients_history"))
    before = {p: delta_io.version(spark, p) for p in paths}
    records = run(spark, cfg)
    assert {p: delta_io.version(spark, p) for p in paths} == before
    assert {r.status for r in records} == {"noop"}


def test_scd2_history_keeps_every_price_with_validity(spark, cfg, touched_keys, batch_mode):
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "10.00", 0), product(2, "5.00", 0)])
    run(spark, cfg, tables=("products",))
    write_raw(
        cfg,
        "products",
        "20260101-000030000.parquet",
        [product(1, "12.00", 30, op="U", at=30, sq=30), product(1, "11.00", 40, op="U", at=40, sq=40)],
    )
    run(spark, cfg, tables=("products",))
    hist = (
        delta_io.read(spark, history_path(cfg, "products"))
        .filter("id = 1")
        .orderBy("valid_from")
        .select("unit_price", "valid_from", "valid_to", "is_current")
        .collect()
    )
    day = lambda n: dt.datetime(2025, 1, 1) + dt.timedelta(days=n)  # noqa: E731
    assert [tuple(r) for r in hist] == [
        (Decimal("10.00"), day(0), day(30), False),
        (Decimal("12.00"), day(30), day(40), False),
        (Decimal("11.00"), day(40), None, True),
    ]
    untouched = delta_io.read(spark, history_path(cfg, "products")).filter("id = 2")
    assert [(r["unit_price"], r["is_current"]) for r in untouched.collect()] == [(Decimal("5.00"), True)]


def test_bad_rows_are_quarantined_with_rule_file_and_run(spark, cfg):
    write_raw(
        cfg,
        "clients",
        "LOAD00000001.parquet",
        [client(1, "a@x", 0), client(2, None, 0), client(3, "c@x", 0, segment="martian")],
    )
    records = run(spark, cfg, tables=("clients",))
    assert sorted(silver(spark, cfg, "clients")) == [1]
    q = delta_io.read(spark, silver_job.quarantine_path(cfg)).collect()
    assert sorted((r["row_key"], r["rule"]) for r in q) == [
        ("2", "not_null:id,email,segment,status"),
        ("3", "in_set:segment"),
    ]
    assert all(r["_source_file"].endswith("LOAD00000001.parquet") and r["_run_id"] == "run-test" for r in q)
    assert "a@x" not in " ".join(r["row_json"] for r in q)  # PII is hashed before quarantine
    silver_rec = [r for r in records if r.job == "silver"][0]
    assert silver_rec.rows_quarantined == 2


def quarantined(records) -> list[int]:
    """Silver's `rows_quarantined`, per table record of a run."""
    return [r.rows_quarantined for r in records if r.job == "silver"]


def tighten_price_range(cfg, max_price: int) -> None:
    """Replaces the products' `range:unit_price` rule (min 0) with one that also has a maximum."""
    tight = Expectation(rule="range", policy="quarantine", columns=("unit_price",), min=0, max=max_price)
    rules = tuple(tight if e.name == tight.name else e for e in cfg.tables["products"].expectations)
    cfg.tables["products"] = dataclasses.replace(cfg.tables["products"], expectations=rules)


def test_a_quarantined_change_reaches_neither_the_state_nor_the_history(spark, cfg, touched_keys, batch_mode):
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "10.00", 0)])
    run(spark, cfg, tables=("products",))
    # The newest change breaks the range rule: the change before it is the one that holds.
    write_raw(
        cfg,
        "products",
        "20260101-000030000.parquet",
        [product(1, "12.00", 30, op="U", at=30, sq=30), product(1, "-1.00", 40, op="U", at=40, sq=40)],
    )
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [1]
    assert silver(spark, cfg, "products")[1]["unit_price"] == Decimal("12.00")

    def hist():
        return delta_io.read(spark, history_path(cfg, "products")).orderBy("valid_from").collect()

    assert [(r["unit_price"], r["is_current"]) for r in hist()] == [
        (Decimal("10.00"), False),
        (Decimal("12.00"), True),
    ]
    q = delta_io.read(spark, silver_job.quarantine_path(cfg)).collect()
    assert [(r["row_key"], r["rule"]) for r in q] == [("1", "range:unit_price")]

    # A later change, and the bad change delivered again in its file: the bad change stays out of
    # the history (it is in the key's change log again) and is not quarantined twice.
    write_raw(
        cfg,
        "products",
        "20260101-000050000.parquet",
        [product(1, "13.00", 50, op="U", at=50, sq=50), product(1, "-1.00", 40, op="U", at=40, sq=40)],
    )
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [0]
    assert silver(spark, cfg, "products")[1]["unit_price"] == Decimal("13.00")
    history = [(r["unit_price"], r["valid_to"] is None, r["is_current"]) for r in hist()]
    assert history == [
        (Decimal("10.00"), False, False),
        (Decimal("12.00"), False, False),
        (Decimal("13.00"), True, True),
    ]
    assert delta_io.read(spark, silver_job.quarantine_path(cfg)).count() == 1

    # A rebuild from bronze, all changes in one batch, gives the same state and history.
    state = silver(spark, cfg, "products")[1].asDict()
    records = run(spark, cfg, tables=("products",), refresh=("products",))
    rebuilt = silver(spark, cfg, "products")[1].asDict()
    assert {k: v for k, v in rebuilt.items() if k != "_run_id"} == {
        k: v for k, v in state.items() if k != "_run_id"
    }
    assert [(r["unit_price"], r["valid_to"] is None, r["is_current"]) for r in hist()] == history
    # The rebuild finds the bad change already quarantined and does not quarantine it again.
    assert quarantined(records) == [0]
    assert delta_io.read(spark, silver_job.quarantine_path(cfg)).count() == 1


def test_a_refresh_quarantines_the_changes_a_tightened_rule_sets_aside_once(spark, cfg):
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "10.00", 0), product(2, "5.00", 0)])
    write_raw(
        cfg,
        "products",
        "20260101-000030000.parquet",
        [product(1, "-1.00", 30, op="U", at=30, sq=30), product(2, "900.00", 30, op="U", at=30, sq=31)],
    )
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [1]  # the range rule's
    assert silver(spark, cfg, "products")[2]["unit_price"] == Decimal("900.00")

    # The rule tightened afterwards: a refresh applies it to the changes silver already holds and
    # quarantines what it newly sets aside, once however often the table is refreshed.
    tighten_price_range(cfg, max_price=100)
    quarantine = silver_job.quarantine_path(cfg)
    for refreshed in (1, 0):
        records = run(spark, cfg, tables=("products",), refresh=("products",))
        assert quarantined(records) == [refreshed]
        assert silver(spark, cfg, "products")[2]["unit_price"] == Decimal("5.00")
        held = delta_io.read(spark, quarantine).orderBy("row_key", "rule").collect()
        assert [(r["row_key"], r["rule"]) for r in held] == [
            ("1", "range:unit_price"),
            ("2", "range:unit_price"),
        ]


def silver_message(records) -> str:
    (record,) = [r for r in records if r.job == "silver"]
    return record.message or ""


def test_a_tightened_rule_judges_the_old_changes_of_the_keys_the_next_run_touches(spark, cfg, caplog):
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "10.00", 0), product(2, "5.00", 0)])
    write_raw(cfg, "products", "20260101-000030000.parquet", [product(2, "900.00", 30, op="U", at=30, sq=30)])
    run(spark, cfg, tables=("products",))
    assert silver(spark, cfg, "products")[2]["unit_price"] == Decimal("900.00")

    tighten_price_range(cfg, max_price=100)
    quarantine = silver_job.quarantine_path(cfg)
    history = history_path(cfg, "products")
    remedy = "keep the old judgement until `lakehouse run --layers silver --full-refresh products`"

    # A run with nothing new changes nothing, but says that the rules changed and what keeps the
    # old judgement, in the run log and as a warning.
    caplog.set_level(logging.WARNING, logger="spark_jobs.jobs.silver")
    records = run(spark, cfg, tables=("products",))
    assert [r.status for r in records if r.job == "silver"] == ["noop"]
    assert "rules changed since the table was last judged: they apply from the next change on" in (
        silver_message(records)
    )
    assert remedy in silver_message(records)
    assert remedy in caplog.text
    assert silver(spark, cfg, "products")[2]["unit_price"] == Decimal("900.00")

    # The next run touches product 2: its old change to 900.00 now breaks the rule, so it leaves
    # the history and goes to the quarantine rather than vanishing.
    write_raw(cfg, "products", "20260101-000040000.parquet", [product(2, "50.00", 40, op="U", at=40, sq=40)])
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [1]
    assert "the keys this run touches are judged again by them" in silver_message(records)
    assert remedy in silver_message(records)
    held = delta_io.read(spark, quarantine).collect()
    assert [(r["row_key"], r["rule"], json.loads(r["row_json"])["unit_price"]) for r in held] == [
        ("2", "range:unit_price", 900.0)
    ]
    versions = delta_io.read(spark, history).filter("id = 2").orderBy("valid_from").collect()
    assert [(r["unit_price"], r["is_current"]) for r in versions] == [
        (Decimal("5.00"), False),
        (Decimal("50.00"), True),
    ]

    # Judged by these rules now: later runs quarantine only what they read new.
    write_raw(cfg, "products", "20260101-000050000.parquet", [product(2, "60.00", 50, op="U", at=50, sq=50)])
    caplog.clear()
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [0]
    assert "rules changed" not in silver_message(records) and "rules changed" not in caplog.text
    assert delta_io.read(spark, quarantine).count() == 1
    assert silver(spark, cfg, "products")[2]["unit_price"] == Decimal("60.00")


def test_a_tightened_rule_gives_the_touched_keys_what_a_refresh_gives(spark, cfg, touched_keys):
    # Product 2: 5.00, then 900.00; product 3: 500.00 only. Both allowed by the rules of the day.
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(2, "5.00", 0), product(3, "500.00", 0)])
    write_raw(cfg, "products", "20260101-000030000.parquet", [product(2, "900.00", 30, op="U", at=30, sq=30)])
    run(spark, cfg, tables=("products",))
    tighten_price_range(cfg, max_price=100)

    # The next changes of both keys break the tightened rule too: product 2's newest change the
    # rule keeps is its first (older than the row silver holds), product 3 has none left.
    write_raw(
        cfg,
        "products",
        "20260101-000040000.parquet",
        [product(2, "950.00", 40, op="U", at=40, sq=40), product(3, "600.00", 40, op="U", at=40, sq=41)],
    )
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [4]  # 900, 950, 500 and 600

    def history():
        rows = delta_io.read(spark, history_path(cfg, "products")).orderBy("id", "valid_from").collect()
        return [(r["id"], r["unit_price"], r["valid_to"], r["is_current"]) for r in rows]

    state = silver(spark, cfg, "products")
    assert {k: v["unit_price"] for k, v in state.items()} == {2: Decimal("5.00")}
    assert history() == [(2, Decimal("5.00"), None, True)]

    # A refresh from bronze gives the same, and finds every set-aside change quarantined already.
    records = run(spark, cfg, tables=("products",), refresh=("products",))
    assert quarantined(records) == [0]
    assert {k: v["unit_price"] for k, v in silver(spark, cfg, "products").items()} == {2: Decimal("5.00")}
    assert history() == [(2, Decimal("5.00"), None, True)]
    assert delta_io.read(spark, silver_job.quarantine_path(cfg)).count() == 4


def test_a_run_retried_after_new_files_landed_quarantines_nothing_twice(spark, cfg, monkeypatch):
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "10.00", 0)])
    run(spark, cfg, tables=("products",))
    write_raw(cfg, "products", "20260101-000030000.parquet", [product(1, "-1.00", 30, op="U", at=30, sq=30)])
    failing = {"on": True}

    def fail_after_the_quarantine(point: str) -> None:
        if failing["on"] and point == "silver:before_history:products":
            raise RuntimeError("failed after the quarantine append")

    monkeypatch.setattr(silver_job, "crash_point", fail_after_the_quarantine)
    with pytest.raises(LayerFailed):
        run(spark, cfg, tables=("products",))
    quarantine = silver_job.quarantine_path(cfg)
    assert delta_io.read(spark, quarantine).count() == 1

    # A new file lands before the retry (as in --watch), so bronze's version, the quarantine
    # append's transaction version, has moved on: the retry still quarantines the change once.
    failing["on"] = False
    write_raw(cfg, "products", "20260101-000040000.parquet", [product(3, "7.00", 40, at=40, sq=40)])
    records = run(spark, cfg, tables=("products",))
    assert quarantined(records) == [0]
    assert [(r["row_key"], r["rule"]) for r in delta_io.read(spark, quarantine).collect()] == [
        ("1", "range:unit_price")
    ]
    assert {k: v["unit_price"] for k, v in silver(spark, cfg, "products").items()} == {
        1: Decimal("10.00"),
        3: Decimal("7.00"),
    }


def test_a_change_delivered_again_is_neither_written_nor_warned_about_again(spark, cfg, touched_keys):
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    run(spark, cfg, tables=("clients",))
    changes = [client(2, "b@x", 5, at=50, sq=50, status="weird")]  # breaks a `warn` rule
    write_raw(cfg, "clients", "20260101-000050000.parquet", changes)
    first = [r for r in run(spark, cfg, tables=("clients",)) if r.job == "silver"][0]
    assert (first.rows_written, first.rows_warned) == (1, 1)

    # The same change again under another name (a DMS retry): the MERGE's guard holds it back.
    write_raw(cfg, "clients", "20260101-000060000.parquet", changes)
    again = [r for r in run(spark, cfg, tables=("clients",)) if r.job == "silver"][0]
    assert (again.rows_read, again.rows_written, again.rows_warned) == (2, 0, 0)
    path = cfg.env.table_path("silver", "clients")
    merge = delta_io.commit_info(spark, path, delta_io.version(spark, path))
    assert (merge["operation"], merge["operationMetrics"]["numTargetRowsUpdated"]) == ("MERGE", "0")


def test_a_new_change_that_breaks_a_fail_rule_stops_the_run_naming_table_rule_and_key(spark, cfg):
    rule = Expectation(rule="range", policy="fail", columns=("unit_price",), min=0)
    cfg.tables["products"] = dataclasses.replace(cfg.tables["products"], expectations=(rule,))
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(1, "10.00", 0), product(2, "5.00", 0)])
    run(spark, cfg, tables=("products",))
    write_raw(cfg, "products", "20260101-000030000.parquet", [product(2, "-3.00", 30, op="U", at=30, sq=30)])
    named = r"silver products: rule\(s\) range:unit_price failed for keys \[2\]"
    with pytest.raises(LayerFailed, match=named):
        run(spark, cfg, tables=("products",))
    assert silver(spark, cfg, "products")[2]["unit_price"] == Decimal("5.00")  # nothing applied


def test_a_file_that_breaks_the_contract_is_quarantined_and_reported(spark, cfg, tmp_path):
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    folder = cfg.raw_table_dir("clients")
    with open(f"{folder}/20260101-000050000.parquet", "wb") as f:
        f.write(b"PAR1 this is not parquet")
    write_raw(cfg, "clients", "20260101-000060000.parquet", [client(1, "b@x", 6, op="X", at=60, sq=60)])
    records = run(spark, cfg, layers=("bronze",), tables=("clients",))
    rec = records[0]
    assert rec.status == "quarantined" and rec.files_quarantined == 2
    assert "20260101-000050000.parquet: " in rec.message and "not a readable Parquet file" in rec.message
    assert "Op is not one of I, U, D: X" in rec.message
    q = delta_io.read(spark, f"{cfg.env.paths['ops']}/quarantine_files").collect()
    assert len(q) == 2
    # Nothing from a quarantined file reaches bronze, and it is not retried on the next run.
    bronze = delta_io.read(spark, cfg.env.table_path("bronze", "clients"))
    assert bronze.count() == 1
    assert run(spark, cfg, layers=("bronze",), tables=("clients",))[0].status == "noop"


def test_the_quarantine_tables_exist_empty_from_the_first_clean_run(spark, cfg):
    from local_aws.athena import LocalAthena

    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    records = run(spark, cfg, tables=("clients",))
    assert {r.status for r in records} == {"ok"}
    for name in ("quarantine_files", "quarantine_rows", "quarantine_released"):
        assert delta_io.read(spark, f"{cfg.env.paths['ops']}/{name}").count() == 0, name
    # So the operators' query over both answers before anything was quarantined.
    assert LocalAthena(spark, cfg).run("quarantine_summary").rows == []
    versions = {
        n: delta_io.version(spark, f"{cfg.env.paths['ops']}/{n}")
        for n in ("quarantine_files", "quarantine_rows", "quarantine_released")
    }
    assert {r.status for r in run(spark, cfg, tables=("clients",))} == {"noop"}
    assert {n: delta_io.version(spark, f"{cfg.env.paths['ops']}/{n}") for n in versions} == versions


def test_full_refresh_rebuilds_one_table_from_bronze(spark, cfg):
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0), client(2, "b@x", 0)])
    run(spark, cfg, tables=("clients",))
    path = cfg.env.table_path("silver", "clients")
    spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 2")  # damage silver by hand
    run(spark, cfg, tables=("clients",), refresh=("clients",))
    assert sorted(silver(spark, cfg, "clients")) == [1, 2]
    # Incremental runs carry on from the refresh.
    write_raw(cfg, "clients", "20260101-000070000.parquet", [client(3, "c@x", 7, at=70, sq=70)])
    run(spark, cfg, tables=("clients",))
    assert sorted(silver(spark, cfg, "clients")) == [1, 2, 3]


def address(id_: int, client_id: int, updated: int, op: str = "I", sq: int = 0) -> dict:
    return {
        "Op": op,
        "dms_commit_ts": ts(updated),
        "dms_change_seq": seq(sq),
        "id": id_,
        "client_id": client_id,
        "street": f"{id_} Main St",
        "city": "Lyon",
        "postal_code": "69001",
        "country": "FR",
        "is_primary": 1,
        "created_at": dt.datetime(2025, 1, 1),
        "updated_at": dt.datetime(2025, 1, 1) + dt.timedelta(days=updated),
    }


def test_rows_referencing_a_missing_parent_are_counted_per_run(spark, cfg, touched_keys):
    tables = ("clients", "client_addresses")
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0), client(2, "b@x", 0)])
    write_raw(cfg, "client_addresses", "LOAD00000001.parquet", [address(10, 1, 0), address(11, 99, 0)])
    warned = {r.table_name: r.rows_warned for r in run(spark, cfg, tables=tables)}
    assert warned["client_addresses"] == 1  # address 11: no client 99

    # Next period: a new address of client 2, one of a missing client, and 11 changes again.
    write_raw(
        cfg,
        "client_addresses",
        "20260101-000050000.parquet",
        [address(12, 2, 5, sq=50), address(13, 98, 5, sq=51), address(11, 99, 6, op="U", sq=52)],
    )
    warned = {r.table_name: r.rows_warned for r in run(spark, cfg, tables=tables)}
    assert warned["client_addresses"] == 2  # only this run's rows: 11 and 13
    assert sorted(silver(spark, cfg, "client_addresses")) == [10, 11, 12, 13]  # warn keeps the rows


def test_missing_references_are_counted_once_when_changes_are_delivered_again(
    spark, cfg, touched_keys, monkeypatch
):
    """A run whose MERGE wrote every row it applies hands their references to the count (no read
    back from silver); changes delivered again are held back by the sequence guard, so that run
    wrote nothing and counts nothing a second time."""
    tables = ["clients", "client_addresses"]
    handed = []
    real = silver_job.count_missing_references

    def spy(spark_, cfg_, table, run_id, rows_written=None, written_refs=None):
        handed.append((run_id, written_refs and {c: sorted(v) for c, v in written_refs.items()}))
        return real(spark_, cfg_, table, run_id, rows_written, written_refs)

    monkeypatch.setattr(silver_job, "count_missing_references", spy)
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    write_raw(cfg, "client_addresses", "LOAD00000001.parquet", [address(10, 1, 0)])
    run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-0")
    changes = [address(12, 97, 5, sq=50), address(13, 98, 5, sq=51), address(14, 1, 5, sq=52)]
    write_raw(cfg, "client_addresses", "20260101-000050000.parquet", changes)
    warned = {
        r.table_name: r.rows_warned
        for r in run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-1")
    }
    assert warned["client_addresses"] == 2  # 12 and 13: no client 97 or 98
    # The same changes again, in a file of another name: bronze keeps them, silver writes nothing.
    write_raw(cfg, "client_addresses", "20260101-000060000.parquet", changes)
    warned = {
        r.table_name: r.rows_warned
        for r in run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-2")
    }
    assert warned["client_addresses"] == 0
    assert sorted(silver(spark, cfg, "client_addresses")) == [10, 12, 13, 14]
    listed = {"client_id": [1, 97, 98]} if touched_keys == "listed" else None
    assert [h for h in handed if h[0] != "run-0"] == [("run-1", listed)]


def quarantine_orphans(cfg) -> None:
    """client_addresses' `references` rule on client_id with the policy `quarantine` (shipped: warn)."""
    table = cfg.tables["client_addresses"]
    rules = tuple(
        dataclasses.replace(e, policy="quarantine") if e.rule == "references" else e
        for e in table.expectations
    )
    cfg.tables["client_addresses"] = dataclasses.replace(table, expectations=rules)


def addresses_and_history(spark, cfg) -> tuple[list[tuple], list[tuple]]:
    state = sorted((k, r["client_id"]) for k, r in silver(spark, cfg, "client_addresses").items())
    history = delta_io.read(spark, history_path(cfg, "client_addresses"))
    return state, sorted((r["id"], r["client_id"], r["is_current"]) for r in history.collect())


def released(spark, cfg) -> list[tuple]:
    path = silver_job.released_path(cfg)
    if not delta_io.exists(spark, path):
        return []
    return sorted((r["row_key"], r["rule"], r[RUN_ID]) for r in delta_io.read(spark, path).collect())


def test_a_child_quarantined_before_its_parent_comes_back_when_the_parent_lands(spark, cfg, touched_keys):
    """DMS writes each table's files on its own schedule: an address can land a run before its
    client. Set aside by a `quarantine` references rule, it comes back in the first run that sees
    the client, though no change to the addresses came with it, and only once."""
    quarantine_orphans(cfg)
    tables = ["clients", "client_addresses"]
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    write_raw(cfg, "client_addresses", "LOAD00000001.parquet", [address(10, 1, 0), address(11, 2, 0)])
    run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-1")
    write_raw(cfg, "client_addresses", "20260101-000050000.parquet", [address(12, 3, 5, sq=50)])
    run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-2")
    assert addresses_and_history(spark, cfg) == ([(10, 1)], [(10, 1, True)])
    quarantine = delta_io.read(spark, silver_job.quarantine_path(cfg))
    assert sorted(r["row_key"] for r in quarantine.collect()) == ["11", "12"]

    # Client 2 lands; nothing new for the addresses.
    write_raw(cfg, "clients", "20260101-000060000.parquet", [client(2, "b@x", 6, at=60, sq=60)])
    records = {r.table_name: r for r in run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-3")}
    assert addresses_and_history(spark, cfg) == ([(10, 1), (11, 2)], [(10, 1, True), (11, 2, True)])
    assert released(spark, cfg) == [("11", "references:client_id", "run-3")]
    assert (records["client_addresses"].status, records["client_addresses"].rows_written) == ("ok", 1)
    assert not records["client_addresses"].rows_quarantined  # nothing quarantined again

    # Nothing left to release until client 3 lands: a run with no new file changes no table.
    paths = [
        cfg.env.table_path("silver", "client_addresses"),
        history_path(cfg, "client_addresses"),
        silver_job.released_path(cfg),
        silver_job.quarantine_path(cfg),
    ]
    before = {p: delta_io.version(spark, p) for p in paths}
    records = run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-4")
    assert {r.status for r in records} == {"noop"}
    assert {p: delta_io.version(spark, p) for p in paths} == before

    # A rebuild from bronze, judging every change against the clients of now, agrees.
    expected = addresses_and_history(spark, cfg)
    run_layers(spark, cfg, ["bronze", "silver"], tables, {"client_addresses"}, "run-5")
    assert addresses_and_history(spark, cfg) == expected


def test_a_release_interrupted_before_it_is_recorded_is_done_again_once(spark, cfg, monkeypatch):
    quarantine_orphans(cfg)
    tables = ["clients", "client_addresses"]
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    write_raw(cfg, "client_addresses", "LOAD00000001.parquet", [address(10, 1, 0), address(11, 2, 0)])
    run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-1")
    write_raw(cfg, "clients", "20260101-000060000.parquet", [client(2, "b@x", 6, at=60, sq=60)])

    def fail_before_the_record(point: str) -> None:
        if point == "silver:before_release_record:client_addresses":
            raise RuntimeError("killed after the release's MERGE")

    with monkeypatch.context() as patched:
        patched.setattr(silver_job, "crash_point", fail_before_the_record)
        with pytest.raises(LayerFailed):
            run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-2")
    assert released(spark, cfg) == []
    records = {r.table_name: r for r in run_layers(spark, cfg, ["bronze", "silver"], tables, set(), "run-3")}
    assert released(spark, cfg) == [("11", "references:client_id", "run-3")]
    assert records["client_addresses"].rows_written == 0  # the interrupted run had written it
    assert addresses_and_history(spark, cfg) == ([(10, 1), (11, 2)], [(10, 1, True), (11, 2, True)])


def test_bronze_reads_its_ledger_once_per_table_however_many_files(spark, cfg, monkeypatch):
    from spark_jobs.jobs import bronze as bronze_job

    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    for n in range(2, 6):
        write_raw(
            cfg, "clients", f"20260101-00000{n}000.parquet", [client(n, f"{n}@x", 0, op="I", at=n, sq=n)]
        )
    reads = []
    real = bronze_job._ingested
    monkeypatch.setattr(bronze_job, "_ingested", lambda *a: reads.append(a[2].name) or real(*a))
    run(spark, cfg, layers=("bronze",), tables=("clients",))
    run(spark, cfg, layers=("bronze",), tables=("clients",))
    assert reads == ["clients", "clients"]  # one ledger read per run, not one per raw file
    bronze = delta_io.read(spark, cfg.env.table_path("bronze", "clients"))
    assert bronze.count() == 5


FACTORY = "spark.sql.codegen.factoryMode"


def test_small_incremental_batches_run_interpreted_in_their_own_sessions(spark, cfg, monkeypatch):
    """A rebuild writes with compiled code; an incremental run of a few rows reads, checks and
    merges interpreted in the table's own session; the caller's session is left as it was."""
    seen: list[tuple[str, str]] = []

    def spy(name, real, session_of):
        def wrapper(*args, **kwargs):
            seen.append((name, session_of(*args).conf.get(FACTORY)))
            return real(*args, **kwargs)

        return wrapper

    for name, session_of in (
        ("append_once", lambda df, *a: df.sparkSession),
        ("overwrite", lambda df, *a: df.sparkSession),
        ("merge_once", lambda session, *a: session),
    ):
        monkeypatch.setattr(delta_io, name, spy(name, getattr(delta_io, name), session_of))
    before = {key: spark.conf.get(key) for key in SMALL_BATCH_CONF}

    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(n, f"{n}@x", 0) for n in range(1, 6)])
    run(spark, cfg, tables=("clients",))
    # Bronze's first batch is five rows (small); silver's first run is a rebuild (compiled).
    assert ("append_once", "NO_CODEGEN") in seen
    assert {mode for name, mode in seen if name == "overwrite"} == {"FALLBACK"}

    seen.clear()
    write_raw(cfg, "clients", "20260101-000010000.parquet", [client(2, "new@x", 1, op="U", at=10, sq=10)])
    run(spark, cfg, tables=("clients",))
    assert ("merge_once", "NO_CODEGEN") in seen
    assert {mode for _, mode in seen} == {"NO_CODEGEN"}
    assert silver(spark, cfg, "clients")[2]["email"] == sha(spark, "new@x")

    # Above the limit, the same run is compiled.
    cfg.env.settings.setdefault("spark", {})["small_batch_rows"] = 0
    seen.clear()
    write_raw(cfg, "clients", "20260101-000020000.parquet", [client(3, "c3@x", 2, op="U", at=20, sq=20)])
    run(spark, cfg, tables=("clients",))
    assert ("merge_once", "FALLBACK") in seen
    assert {mode for _, mode in seen} == {"FALLBACK"}
    assert {key: spark.conf.get(key) for key in SMALL_BATCH_CONF} == before


def _files(spark, path):
    """(rows, lowest id, highest id) of each file of a silver table, by lowest id."""
    per_file = (
        delta_io.read(spark, path)
        .groupBy(F.input_file_name().alias("file"))
        .agg(F.count("*").alias("rows"), F.min("id").alias("low"), F.max("id").alias("high"))
    )
    return sorted((r["rows"], r["low"], r["high"]) for r in per_file.collect())


def test_incremental_runs_write_files_of_at_most_rows_per_file(spark, cfg, batch_mode):
    """The file holding the newest keys is rewritten by every incremental run with that run's
    new rows added; capped at `silver_rows_per_file` rows it stops growing run after run (and
    with it every run's copy of it)."""
    cfg.env.settings.setdefault("spark", {})["silver_rows_per_file"] = 10
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(n, f"{n}@x", 0) for n in range(1, 26)])
    run(spark, cfg, tables=("clients",))
    path = cfg.env.table_path("silver", "clients")
    newest = 25
    for period in range(1, 5):
        # Each period updates the newest client and adds four.
        changes = [client(newest, f"{newest}-{period}@x", period, op="U", at=period * 10, sq=period * 10)]
        changes += [
            client(n, f"{n}@x", period, at=period * 10, sq=period * 10 + n)
            for n in range(newest + 1, newest + 5)
        ]
        write_raw(cfg, "clients", f"20260101-0000{period}0000.parquet", changes)
        run(spark, cfg, tables=("clients",))
        newest += 4
        files = _files(spark, path)
        assert max(rows for rows, _, _ in files) <= 10, files
        history = delta_io.read(spark, history_path(cfg, "clients"))
        history_files = history.groupBy(F.input_file_name()).count().collect()
        assert max(r["count"] for r in history_files) <= 10, history_files
    rows = silver(spark, cfg, "clients")
    assert sorted(rows) == list(range(1, newest + 1))
    assert rows[newest - 4]["email"] == sha(spark, f"{newest - 4}-4@x")
    if batch_mode == "small":
        # One shuffle partition: the MERGE writes its rows in key order, so files hold
        # disjoint key ranges and the next run rewrites only the newest ones.
        ranges = sorted((low, high) for _, low, high in _files(spark, path))
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), ranges
