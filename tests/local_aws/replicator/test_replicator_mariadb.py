"""The replicator on a real MariaDB: full load, CDC, ordering rules, binlog details."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_aws.replicator import SourceSettings, fullload
from local_aws.replicator.cdc import binlog_reader
from local_aws.replicator.checkpoint import CHECKPOINT_KEY
from local_aws.replicator.contract import cdc_name_ms, file_schema, full_load_seq, is_full_load_name
from local_aws.replicator.oracle import changes, replay, source_state
from tests.local_aws.replicator.sourcedb import (
    activity,
    assert_replica_equals_source,
    binlog_position,
    insert_sql,
    replicate,
    row,
    seed,
)


def _files(raw, cfg, table):
    folder = raw / cfg.raw.schema_folder / table
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_full_load_equals_the_source_in_the_contract_format(cfg, source, raw):
    seed(source, cfg, rows_per_table=25)
    before = binlog_position(source)
    report = replicate(cfg, source, raw)

    assert report.full_load == dict.fromkeys(cfg.tables, 25)
    assert replay(str(raw), cfg) == source_state(source, cfg)
    ckpt = json.loads((raw / CHECKPOINT_KEY).read_text())
    assert (ckpt["log_file"], ckpt["log_pos"]) == before  # CDC starts exactly at the snapshot
    all_seqs = []
    for name, table in cfg.tables.items():
        assert _files(raw, cfg, name) == ["LOAD00000001.parquet"]
        data = pq.read_table(raw / "salesdb" / name / "LOAD00000001.parquet")
        assert data.schema == file_schema(table, cfg.raw)  # column order and Arrow types
        assert set(data.column("Op").to_pylist()) == {"I"}
        stamps = set(data.column("dms_commit_ts").to_pylist())
        assert len(stamps) == 1 and stamps.pop().endswith(".000000")  # snapshot time, whole seconds
        seqs = data.column("dms_change_seq").to_pylist()
        head = full_load_seq(int(before[0][-6:]), before[1], 0)[:25]  # the snapshot's position
        assert len(set(seqs)) == 25 and all(s.startswith(head) and s > head + "0" * 10 for s in seqs)
        all_seqs += seqs
    assert len(set(all_seqs)) == len(all_seqs)  # unique across tables too


def test_full_load_rolls_files_by_size_with_hex_numbers_and_skips_empty_tables(cfg, source, raw):
    seed(source, cfg, rows_per_table=1)
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.execute(f"DELETE FROM `{source.database}`.`sales_people`")
        conn.commit()
    rng = random.Random(5)
    table = cfg.table("clients")
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.executemany(
            insert_sql(source.database, table), [tuple(row(table, k, rng).values()) for k in range(2, 4002)]
        )
        conn.commit()
    # Tiny files: 1 KB cap and 300-row chunks -> one file per chunk.
    old = fullload.CHUNK_ROWS
    fullload.CHUNK_ROWS = 300
    try:
        replicate(cfg, source, raw, max_file_size=1)
    finally:
        fullload.CHUNK_ROWS = old
    names = _files(raw, cfg, "clients")
    assert len(names) == 14 and all(is_full_load_name(n, cfg.raw) for n in names)
    assert names[9] == "LOAD0000000A.parquet" and names[-1] == "LOAD0000000E.parquet"
    assert _files(raw, cfg, "sales_people") == []  # DMS writes no folder for an empty table
    assert replay(str(raw), cfg) == source_state(source, cfg)


def test_cdc_replays_onto_the_full_load_to_the_exact_source(cfg, source, raw):
    seed(source, cfg, rows_per_table=20)
    replicate(cfg, source, raw)
    made = activity(source, cfg, transactions=40, seed_value=11)
    report = replicate(cfg, source, raw)
    assert sum(report.cdc_rows.values()) >= made > 0
    assert_replica_equals_source(raw, source, cfg)

    # A second activity and run continue from the checkpoint: nothing lost, nothing re-delivered.
    activity(source, cfg, transactions=25, seed_value=12)
    second = replicate(cfg, source, raw)
    assert_replica_equals_source(raw, source, cfg)
    again = replicate(cfg, source, raw)
    assert sum(again.cdc_rows.values()) == 0 and again.files == []
    assert second.position == again.position

    for name in cfg.tables:
        rows = changes(str(raw), name, cfg)
        seqs = [r["dms_change_seq"] for r in rows]
        assert len(set(seqs)) == len(seqs), f"{name}: change sequences tie"
        by_file = {}
        for r in rows:
            by_file.setdefault(r["_file"], []).append(r)
        cdc_files = sorted(f for f in by_file if not is_full_load_name(f, cfg.raw))
        # File names sort in time order and so do their contents: binlog order across files.
        flat = [r for f in ["LOAD00000001.parquet", *cdc_files] for r in by_file.get(f, [])]
        assert flat == rows, f"{name}: file name order is not change order"
        stamps = [r["dms_commit_ts"] for r in flat]
        assert stamps == sorted(stamps), f"{name}: commit timestamps go backwards"
        assert all(cdc_name_ms(f, cfg.raw) for f in cdc_files)


def test_full_load_rows_sort_before_any_later_change_of_the_same_row(cfg, source, raw):
    seed(source, cfg, rows_per_table=3)
    replicate(cfg, source, raw)
    conn = source.connect()
    with conn, conn.cursor() as cur:  # committed within the snapshot's second
        cur.execute(f"UPDATE `{source.database}`.`products` SET status = 'discontinued' WHERE id = 2")
        conn.commit()
    replicate(cfg, source, raw)
    rows = [r for r in changes(str(raw), "products", cfg) if r["id"] == 2]
    assert [r["Op"] for r in rows] == ["I", "U"]
    assert rows[0]["dms_commit_ts"] <= rows[1]["dms_commit_ts"]
    assert replay(str(raw), cfg, ["products"])["products"][1]["status"] == "discontinued"


def test_one_transaction_over_tables_shares_its_commit_ts_and_keeps_statement_order(cfg, source, raw):
    seed(source, cfg, rows_per_table=5)
    replicate(cfg, source, raw)
    db = source.database
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.execute(
            f"UPDATE `{db}`.`sales` SET status = 'paid' WHERE id BETWEEN 1 AND 3"
        )  # one event, 3 rows
        cur.execute(f"DELETE FROM `{db}`.`sales_items` WHERE id = 1")
        cur.execute(f"UPDATE `{db}`.`sales` SET status = 'shipped' WHERE id = 1")
        conn.commit()
    replicate(cfg, source, raw)
    sales = [r for r in changes(str(raw), "sales", cfg) if r["Op"] != "I"]
    items = [r for r in changes(str(raw), "sales_items", cfg) if r["Op"] != "I"]
    assert [(r["Op"], r["id"], r["status"]) for r in sales] == [
        ("U", 1, "paid"), ("U", 2, "paid"), ("U", 3, "paid"), ("U", 1, "shipped")]  # fmt: skip
    assert [(r["Op"], r["id"]) for r in items] == [("D", 1)]
    assert items[0]["product_id"] is not None  # D carries the full before image
    assert len({r["dms_commit_ts"] for r in sales + items}) == 1
    assert (
        sales[0]["dms_change_seq"]
        < sales[1]["dms_change_seq"]
        < items[0]["dms_change_seq"]
        < sales[3]["dms_change_seq"]
    )
    assert_replica_equals_source(raw, source, cfg)


def test_primary_key_update_is_a_delete_and_an_insert(cfg, source, raw):
    seed(source, cfg, rows_per_table=3)
    replicate(cfg, source, raw)
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.execute(f"UPDATE `{source.database}`.`products` SET id = 42 WHERE id = 2")
        conn.commit()
    replicate(cfg, source, raw)
    cdc = [
        (r["Op"], r["id"])
        for r in changes(str(raw), "products", cfg)
        if not is_full_load_name(r["_file"], cfg.raw)
    ]
    assert cdc == [("D", 2), ("I", 42)]
    assert_replica_equals_source(raw, source, cfg)


def test_binlog_rotation_and_other_tables_and_databases(cfg, source, raw, mysql):
    seed(source, cfg, rows_per_table=3)
    replicate(cfg, source, raw)
    db = source.database
    conn = mysql.connect(database="", autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.`audit_log` (id INT PRIMARY KEY, note VARCHAR(20))")
        cur.execute(f"INSERT INTO `{db}`.`audit_log` VALUES (1, 'not replicated')")
        cur.execute(f"CREATE DATABASE `{db}_other`")
        cur.execute(f"CREATE TABLE `{db}_other`.`clients` (id INT PRIMARY KEY)")
        cur.execute(f"INSERT INTO `{db}_other`.`clients` VALUES (99)")
        cur.execute(f"UPDATE `{db}`.`clients` SET status = 'inactive' WHERE id = 1")
        cur.execute("FLUSH BINARY LOGS")  # the next change lands in a new binlog file
        cur.execute(f"UPDATE `{db}`.`clients` SET status = 'active' WHERE id = 1")
        cur.execute(f"DELETE FROM `{db}`.`clients` WHERE id = 3")
        cur.execute(f"DROP DATABASE `{db}_other`")
    report = replicate(cfg, source, raw)
    assert report.cdc_rows == {"clients": 3}
    assert not (raw / "salesdb" / "audit_log").exists()
    rows = [r for r in changes(str(raw), "clients", cfg) if r["Op"] != "I"]
    assert int(rows[1]["dms_change_seq"][:10]) == int(rows[0]["dms_change_seq"][:10]) + 1
    assert report.position[0] == binlog_position(source)[0]
    assert_replica_equals_source(raw, source, cfg)


@pytest.mark.parametrize("column_sql, values", [
    ("v DECIMAL(12,2)", ["-1234567890.12", "0.00", "-0.01", "9999999999.99", None]),
    ("v DECIMAL(30,10)", ["-12345678901234567890.0123456789", "1.0000000001", "0.0000000000"]),
    ("v DECIMAL(5,0) UNSIGNED", ["0", "99999"]),
    ("v DATETIME(3)", ["2026-01-02 03:04:05.678", "1000-01-01 00:00:00.000"]),
    ("v DATETIME", ["2026-01-02 03:04:05", "9999-12-31 23:59:59"]),
    ("v DATETIME(6)", ["2026-01-02 03:04:05.000001", "2026-01-02 03:04:05.999999"]),
    ("v TIMESTAMP(6) NULL", ["2026-01-02 03:04:05.123456", None]),
    ("v DATE", ["2026-02-28", "1000-01-01"]),
    ("v TINYINT UNSIGNED", [0, 255]), ("v SMALLINT", [-32768, 32767]), ("v MEDIUMINT", [-8388608, 8388607]),
    ("v MEDIUMINT UNSIGNED", [16777215]), ("v BIGINT", [-(2**63), 2**63 - 1]),
    ("v INT UNSIGNED", [4294967295]),
    ("v DOUBLE", [1.5, -2.25e300]), ("v FLOAT", [0.5]),
    ("v CHAR(3)", ["ab", "äöü"]), ("v VARCHAR(300)", ["x" * 300, "€"]), ("v TEXT", ["long " * 100]),
    ("v VARBINARY(10)", [b"\x00\x01\xff"]),
])  # fmt: skip
def test_fast_row_decoder_agrees_with_the_library(mysql, column_sql, values):
    """The generated decoders must give what pymysqlreplication gives, value for value."""
    from pymysqlreplication.row_event import UpdateRowsEvent, WriteRowsEvent

    from local_aws.replicator.rowdecode import decode_rows

    conn = mysql.connect(database="", autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS rowdecode")
        cur.execute("DROP TABLE IF EXISTS rowdecode.t")
        cur.execute(f"CREATE TABLE rowdecode.t (id INT PRIMARY KEY, {column_sql}, note VARCHAR(5) NULL)")
        cur.execute("SHOW MASTER STATUS")
        log_file, log_pos = cur.fetchone()[:2]
        for i, v in enumerate(values):
            cur.execute("INSERT INTO rowdecode.t VALUES (%s, %s, NULL)", (i, v))
        cur.execute("UPDATE rowdecode.t SET note = 'u'")

    def read(fast: bool) -> list:
        events = [WriteRowsEvent, UpdateRowsEvent]
        stream = binlog_reader(
            SourceSettings.of(mysql), 777, log_file, log_pos, only_events=events, only_schemas=["rowdecode"]
        )
        out = []
        try:
            for e in stream:
                n = 2 if isinstance(e, UpdateRowsEvent) else 1
                if fast:
                    rows = decode_rows(e, n)
                    assert rows is not None, f"fast path refused {column_sql}"
                else:
                    rows = [
                        (r["before_values"], r["after_values"]) if n == 2 else (r["values"],) for r in e.rows
                    ]
                out += rows
        finally:
            stream.close()
        return out

    library, fast = read(False), read(True)
    assert len(library) == 2 * len(values)
    assert fast == library
    # Nulls come back as None on both paths, and the values are the ones written.
    written = [r[0]["v"] for r in library[: len(values)]]
    assert sum(v is None for v in written) == sum(v is None for v in values)


def test_library_fallback_for_types_without_a_fast_path(cfg, source, raw, mysql):
    """A table with a JSON column still replicates (through the library's decoder)."""
    conn = mysql.connect(database="", autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"ALTER TABLE `{source.database}`.`products` ADD COLUMN attrs JSON NULL")
    seed(source, cfg, rows_per_table=2)
    replicate(cfg, source, raw)
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.execute(f"UPDATE `{source.database}`.`products` SET attrs = '{{\"a\": 1}}' WHERE id = 1")
        conn.commit()
    replicate(cfg, source, raw)
    last = changes(str(raw), "products", cfg)[-1]
    assert last["Op"] == "U" and json.loads(last["attrs"]) == {"a": 1}
    assert pq.read_schema(raw / "salesdb" / "products" / last["_file"]).field("attrs").type == pa.string()
