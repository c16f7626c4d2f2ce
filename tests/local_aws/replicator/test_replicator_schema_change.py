"""Source schema changes: a column added with ALTER TABLE is carried into later raw files."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from local_aws.replicator.checkpoint import CHECKPOINT_KEY
from local_aws.replicator.contract import file_schema, is_full_load_name
from local_aws.replicator.oracle import changes, replay, source_state
from tests.local_aws.replicator.sourcedb import replicate, seed


def _execute(source, *statements) -> None:
    conn = source.connect()
    with conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql.format(db=source.database))
        conn.commit()


def test_added_columns_are_appended_after_the_registry_columns(cfg, source, raw):
    seed(source, cfg, rows_per_table=6)
    replicate(cfg, source, raw)
    _execute(
        source,
        "UPDATE `{db}`.clients SET status = 'inactive' WHERE id = 1",  # before the ALTER, same batch
        "ALTER TABLE `{db}`.clients ADD COLUMN loyalty_tier VARCHAR(10) NOT NULL DEFAULT 'basic'",
        "ALTER TABLE `{db}`.products ADD COLUMN weight_kg DECIMAL(8,3) NULL AFTER sku",  # not at the end
        "UPDATE `{db}`.clients SET loyalty_tier = 'gold' WHERE id = 2",
        "UPDATE `{db}`.products SET weight_kg = 1.250 WHERE id = 3",
        "INSERT INTO `{db}`.products (id, sku, weight_kg, name, category, unit_price, status, created_at,"
        " updated_at) VALUES (100, 'S100', -0.5, 'n', 'c', 1.00, 'active', NOW(6), NOW(6))",
    )
    report = replicate(cfg, source, raw)
    assert report.cdc_rows == {"clients": 2, "products": 2}

    clients = changes(str(raw), "clients", cfg)
    cdc_file = next(r["_file"] for r in clients if not is_full_load_name(r["_file"], cfg.raw))
    schema = pq.read_schema(raw / "salesdb" / "clients" / cdc_file)
    registry = file_schema(cfg.table("clients"), cfg.raw)
    assert schema.names == [*registry.names, "loyalty_tier"]
    assert schema.field("loyalty_tier").type == pa.string()
    assert [(r["id"], r.get("loyalty_tier")) for r in clients if r["Op"] == "U"] == [(1, None), (2, "gold")]

    products = [r for r in changes(str(raw), "products", cfg) if r["Op"] != "I" or r["id"] == 100]
    pschema = pq.read_schema(raw / "salesdb" / "products" / products[0]["_file"])
    assert pschema.names[-1] == "weight_kg" and pschema.field("weight_kg").type == pa.decimal128(8, 3)
    assert [(r["id"], r["weight_kg"]) for r in products] == [(3, Decimal("1.250")), (100, Decimal("-0.500"))]
    state = json.loads((raw / CHECKPOINT_KEY).read_text())["tables"]
    assert state["clients"]["extra_columns"] == {"loyalty_tier": "string"}
    assert state["products"]["extra_columns"] == {"weight_kg": "decimal128(8, 3)"}

    # Later files keep the column, and the replayed tables still match the source on every column
    # a raw file carried (rows untouched since the ALTER have no value for it in the raw zone).
    _execute(source, "UPDATE `{db}`.clients SET loyalty_tier = 'silver' WHERE id = 3")
    replicate(cfg, source, raw)
    got, want = replay(str(raw), cfg), source_state(source, cfg)
    for table in cfg.tables:
        names = cfg.table(table).column_names
        assert [{k: r[k] for k in names} for r in got[table]] == [
            {k: r[k] for k in names} for r in want[table]
        ]
    tiers = {r["id"]: r["loyalty_tier"] for r in got["clients"]}
    assert (tiers[2], tiers[3]) == ("gold", "silver")

    # A new full load reads the column from information_schema with the same Arrow type as CDC.
    reset = raw.parent / "raw-again"
    replicate(cfg, source, reset)
    load = pq.read_schema(reset / "salesdb" / "products" / "LOAD00000001.parquet")
    assert load == pschema
    assert replay(str(reset), cfg) == source_state(source, cfg)
