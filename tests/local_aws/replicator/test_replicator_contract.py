"""The raw-zone contract helpers and the oracle, on hand-made values and files (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_aws.replicator.contract import (
    ContractError,
    binlog_number,
    cdc_file_name,
    cdc_name_ms,
    change_seq,
    file_schema,
    format_commit_ts,
    full_load_seq,
    is_data_file_name,
)
from local_aws.replicator.faults import Faults, SimulatedCrash, parse_position
from local_aws.replicator.oracle import replay


def test_change_seq_is_35_digits_and_sorts_in_binlog_order():
    seqs = [
        change_seq(1, 4, 1),
        change_seq(1, 4, 2),
        change_seq(1, 400, 1),
        change_seq(1, 10_000_000, 1),
        change_seq(2, 4, 1),
        change_seq(12, 4, 1),
    ]
    assert all(len(s) == 35 and s.isdigit() for s in seqs)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    with pytest.raises(ContractError, match="overflow"):
        change_seq(1, 10**15, 1)


def test_full_load_seq_sorts_before_later_changes_and_after_earlier_ones():
    first, last = full_load_seq(3, 1000, 1), full_load_seq(3, 1000, 10**9)
    assert change_seq(3, 999, 7) < first < last < change_seq(3, 1001, 1) < change_seq(4, 4, 1)


def test_commit_ts_is_utc_with_microseconds():
    assert format_commit_ts(0, _contract()) == "1970-01-01 00:00:00.000000"
    assert format_commit_ts(1_795_394_854, _contract()) == "2026-11-23 00:47:34.000000"


def test_cdc_names_carry_milliseconds_and_sort_in_time_order():
    c = _contract()
    ms = 1_795_394_854_123
    name = cdc_file_name(ms, c)
    assert name == "20261123-004734123.parquet"
    assert cdc_name_ms(name, c) == ms
    names = [cdc_file_name(ms + d, c) for d in (0, 1, 999, 1000, 60_000)]
    assert names == sorted(names) and len(set(names)) == 5
    assert cdc_name_ms("LOAD00000001.parquet", c) is None


def test_data_file_names():
    c = _contract()
    assert c.full_load_name(10) == "LOAD0000000A.parquet"
    for good in ("LOAD00000001.parquet", "LOAD0000000A.parquet", "20261123-004734123.parquet"):
        assert is_data_file_name(good, c), good
    for bad in (".LOAD00000001.parquet.123.tmp", "LOAD1.parquet", "load00000001.parquet", "x.parquet",
                "20261122-2007341234.parquet", "_SUCCESS"):  # fmt: skip
        assert not is_data_file_name(bad, c), bad


def test_binlog_number():
    assert binlog_number("mysql-bin.000042") == 42
    with pytest.raises(ContractError, match="no numeric suffix"):
        binlog_number("mysql-bin")


def test_file_schema_puts_contract_columns_first_then_registry_then_added(cfg):
    schema = file_schema(cfg.table("products"), cfg.raw, {"loyalty": pa.string()})
    assert schema.names == ["Op", "dms_commit_ts", "dms_change_seq", "id", "sku", "name", "category",
                            "unit_price", "status", "created_at", "updated_at", "loyalty"]  # fmt: skip
    assert schema.field("id").type == pa.int32()
    assert schema.field("unit_price").type == pa.decimal128(10, 2)
    assert schema.field("created_at").type == pa.timestamp("us")
    assert file_schema(cfg.table("sales_people"), cfg.raw).field("hired_on").type == pa.date32()
    assert file_schema(cfg.table("client_addresses"), cfg.raw).field("is_primary").type == pa.int8()


def test_faults_validate_and_crash():
    with pytest.raises(ValueError, match="crash point"):
        Faults(crash_point="somewhere")
    f = Faults(crash_point="cdc:after_files:2")
    f.crash_at("cdc:after_files", 1)  # not the 2nd time: no crash
    with pytest.raises(SimulatedCrash):
        f.crash_at("cdc:after_files", 2)
    assert [Faults(duplicate_every=3).duplicate(i) for i in range(1, 7)] == [False, False, True] * 2
    assert parse_position("mysql-bin.000001:1234") == ("mysql-bin.000001", 1234)
    with pytest.raises(ValueError, match="FILE:POSITION"):
        parse_position("1234")


def _write(cfg, root, table, name, rows):
    t = cfg.table(table)
    schema = file_schema(t, cfg.raw)
    folder = root / cfg.raw.schema_folder / table
    folder.mkdir(parents=True, exist_ok=True)
    full = [{**{c.name: None for c in t.columns}, **r} for r in rows]
    pq.write_table(pa.Table.from_pylist(full, schema=schema), folder / name)


def _p(op, ts, seq, id_, price):
    return {"Op": op, "dms_commit_ts": f"2026-01-01 00:00:{ts:02d}.000000", "dms_change_seq": f"{seq:035d}",
            "id": id_, "sku": f"S{id_}", "unit_price": Decimal(price)}  # fmt: skip


def test_oracle_replays_by_commit_ts_then_change_seq_whatever_the_file_order(cfg, tmp_path):
    # Files arrive out of order and one is delivered twice; a row dies and one comes back.
    _write(
        cfg,
        tmp_path,
        "products",
        "LOAD00000001.parquet",
        [_p("I", 0, 10, 1, "1.00"), _p("I", 0, 10, 2, "2.00")],
    )
    _write(
        cfg,
        tmp_path,
        "products",
        "20260101-000009000.parquet",
        [_p("U", 5, 30, 1, "1.50"), _p("D", 5, 31, 2, "2.00")],
    )
    _write(
        cfg,
        tmp_path,
        "products",
        "20260101-000008000.parquet",
        [_p("U", 3, 20, 1, "1.20"), _p("I", 3, 21, 3, "3.00")],
    )
    _write(
        cfg,
        tmp_path,
        "products",
        "20260101-000010000.parquet",
        [_p("U", 5, 30, 1, "1.50"), _p("D", 5, 31, 2, "2.00")],
    )
    # Same timestamp: the change sequence decides (tie at second resolution).
    _write(
        cfg,
        tmp_path,
        "products",
        "20260101-000011000.parquet",
        [_p("U", 5, 33, 3, "3.30"), _p("U", 5, 32, 3, "3.20")],
    )
    (tmp_path / "salesdb" / "products" / ".20260101-000012000.parquet.77.tmp").write_bytes(b"partial")
    rows = replay(str(tmp_path), cfg, tables=["products"])["products"]
    assert [(r["id"], r["unit_price"]) for r in rows] == [(1, Decimal("1.50")), (3, Decimal("3.30"))]
    assert replay(str(tmp_path), cfg, tables=["clients"]) == {"clients": []}


def test_oracle_rejects_rows_that_break_the_contract(cfg, tmp_path):
    _write(cfg, tmp_path, "products", "LOAD00000001.parquet", [{**_p("X", 0, 1, 1, "1.00")}])
    with pytest.raises(ContractError, match="LOAD00000001.parquet row 0"):
        replay(str(tmp_path), cfg, tables=["products"])


def test_commit_ts_string_matches_spark_style_timestamp_parsing():
    # The format is fixed-width, so string order equals time order.
    a, b = format_commit_ts(59, _contract()), format_commit_ts(60, _contract())
    assert a < b and dt.datetime.strptime(b, "%Y-%m-%d %H:%M:%S.%f") == dt.datetime(1970, 1, 1, 0, 1)


def _contract():
    from spark_jobs.config import load_config

    return load_config("local").raw
