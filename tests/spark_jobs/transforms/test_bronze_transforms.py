"""Pure bronze transforms: the raw-zone contract check and the typed change log."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from spark_jobs.config import load_config
from spark_jobs.schemas import bronze_schema
from spark_jobs.transforms.bronze import PROBLEM, contract_problems, flag_bad_rows, to_bronze

CFG = load_config("local")
PRODUCTS = CFG.table("products")
GOOD_FOOTER = {
    "Op": ("BINARY", "STRING"),
    "dms_commit_ts": ("BINARY", "STRING"),
    "dms_change_seq": ("BINARY", "STRING"),
    "id": ("INT32", ""),
    "sku": ("BINARY", "STRING"),
    "name": ("BINARY", "STRING"),
    "category": ("BINARY", "STRING"),
    "unit_price": ("FIXED_LEN_BYTE_ARRAY", "DECIMAL(10,2)"),
    "status": ("BINARY", "STRING"),
    "created_at": ("INT64", "TIMESTAMP(MICROS,false)"),
    "updated_at": ("INT64", "TIMESTAMP(MICROS,true)"),
}


def test_a_conforming_footer_has_no_problems_and_extra_columns_are_allowed():
    assert contract_problems(GOOD_FOOTER, PRODUCTS, CFG.raw) == []
    assert contract_problems({**GOOD_FOOTER, "new_col": ("INT32", "")}, PRODUCTS, CFG.raw) == []


def test_contract_problems_name_each_column():
    footer = dict(GOOD_FOOTER)
    del footer["dms_change_seq"], footer["sku"]
    footer["id"] = ("BINARY", "STRING")
    footer["unit_price"] = ("FIXED_LEN_BYTE_ARRAY", "DECIMAL(10,4)")
    assert contract_problems(footer, PRODUCTS, CFG.raw) == [
        "missing contract column dms_change_seq",
        "column id: Parquet type BINARY STRING, expected int",
        "missing column sku",
        "column unit_price: DECIMAL(10,4) does not fit decimal(10,2)",
    ]


def test_to_bronze_types_the_change_log_and_flags_bad_rows(spark):
    raw = spark.createDataFrame(
        [
            ("I", "2026-01-01 10:00:00.000001", "0001", 1, "f1"),
            ("x", "2026-01-01 10:00:00.000002", "0002", 2, "f1"),
            ("U", "yesterday", "0003", 3, "f2"),
            ("D", "2026-01-01 10:00:00.000004", None, None, "f2"),
        ],
        "Op string, dms_commit_ts string, dms_change_seq string, id int, _source_file string",
    )
    for col in PRODUCTS.columns[1:]:
        raw = raw.withColumn(col.name, __import__("pyspark.sql.functions", fromlist=["lit"]).lit(None))
    now = dt.datetime(2026, 2, 1)
    out = flag_bad_rows(to_bronze(raw, PRODUCTS, CFG.raw, "r1", now), PRODUCTS, CFG.raw)
    assert out.schema.fieldNames() == [*bronze_schema(PRODUCTS).fieldNames(), PROBLEM]
    got = out.select("id", "_op", "_commit_ts", "_change_seq", "_source_file", "_run_id", PROBLEM)
    expected = spark.createDataFrame(
        [
            (1, "I", dt.datetime(2026, 1, 1, 10, 0, 0, 1), "0001", "f1", "r1", None),
            (2, "X", dt.datetime(2026, 1, 1, 10, 0, 0, 2), "0002", "f1", "r1", "Op is not one of I, U, D: X"),
            (3, "U", None, "0003", "f2", "r1", "dms_commit_ts is missing or not yyyy-MM-dd HH:mm:ss.SSSSSS"),
            (None, "D", dt.datetime(2026, 1, 1, 10, 0, 0, 4), None, "f2", "r1", "primary key id is null"),
        ],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
