"""Test helper: gold tables written straight from the source database, in the gold contract.

A small, independent stand-in for the gold jobs, so that the SQL runner and reconcile can be
tested on real Delta tables with the contract's names and types. It reads MySQL's current state,
so its SCD2 dimensions carry one version per client address (the address history the source
keeps) and one version per product.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from local_aws.reconcile import pii_hash
from spark_jobs.config import Config
from spark_jobs.schemas import source_fields

GOLD_SQL = {
    "dim_date": """
        WITH bounds AS (SELECT to_date(MIN(sold_at)) AS lo, to_date(MAX(sold_at)) AS hi FROM src_sales)
        SELECT CAST(date_format(d, 'yyyyMMdd') AS INT) AS date_key, d AS date, year(d) AS year,
               quarter(d) AS quarter, month(d) AS month, day(d) AS day,
               (dayofweek(d) + 5) % 7 + 1 AS day_of_week, trunc(d, 'MM') AS month_start,
               (dayofweek(d) + 5) % 7 + 1 >= 6 AS is_weekend
        FROM bounds LATERAL VIEW explode(sequence(lo, hi)) AS d""",
    "dim_client": """
        SELECT CAST(a.id AS BIGINT) AS client_sk, c.id AS client_id, c.first_name, c.last_name, c.email,
               c.phone, c.segment, c.status, a.id AS address_id, a.city, a.postal_code, a.country,
               a.created_at AS valid_from, CASE WHEN a.is_primary = 0 THEN a.updated_at END AS valid_to,
               a.is_primary = 1 AS is_current
        FROM src_clients c JOIN src_client_addresses a ON a.client_id = c.id""",
    "dim_product": """
        SELECT CAST(id AS BIGINT) AS product_sk, id AS product_id, sku, name, category, unit_price, status,
               created_at AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to, true AS is_current
        FROM src_products""",
    "dim_sales_person": """
        SELECT id AS sales_person_id, first_name, last_name, email, region, hired_on, commission_rate
        FROM src_sales_people""",
    "fact_sales_item": """
        SELECT i.id AS sales_item_id, i.sale_id, CAST(date_format(s.sold_at, 'yyyyMMdd') AS INT) AS date_key,
               s.sold_at, s.client_id, c.client_sk, i.product_id, CAST(i.product_id AS BIGINT) AS product_sk,
               s.sales_person_id, s.status AS sale_status, i.quantity, i.unit_price, i.line_amount
        FROM src_sales_items i JOIN src_sales s ON s.id = i.sale_id
        LEFT JOIN dim_client c ON c.client_id = s.client_id AND c.valid_from <= s.sold_at
             AND (c.valid_to IS NULL OR c.valid_to > s.sold_at)""",
    "fact_sales": """
        SELECT s.id AS sale_id, CAST(date_format(s.sold_at, 'yyyyMMdd') AS INT) AS date_key, s.sold_at,
               s.client_id, c.client_sk, s.sales_person_id, s.status,
               CAST(COUNT(i.sales_item_id) AS INT) AS item_count,
               CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) AS total_quantity,
               CAST(COALESCE(SUM(i.line_amount), 0) AS DECIMAL(14,2)) AS total_amount,
               s.total_amount AS recorded_total
        FROM src_sales s LEFT JOIN fact_sales_item i ON i.sale_id = s.id
        LEFT JOIN dim_client c ON c.client_id = s.client_id AND c.valid_from <= s.sold_at
             AND (c.valid_to IS NULL OR c.valid_to > s.sold_at)
        GROUP BY s.id, s.sold_at, s.client_id, c.client_sk, s.sales_person_id, s.status, s.total_amount""",
    "agg_daily_sales": """
        SELECT to_date(sold_at) AS sale_date, COUNT(*) AS sales_count, SUM(item_count) AS item_count,
               SUM(total_quantity) AS quantity, SUM(total_amount) AS revenue
        FROM fact_sales GROUP BY to_date(sold_at)""",
    "agg_product_month": """
        SELECT product_id, trunc(to_date(sold_at), 'MM') AS month, SUM(quantity) AS quantity,
               SUM(line_amount) AS revenue, COUNT(DISTINCT sale_id) AS sales_count
        FROM fact_sales_item GROUP BY product_id, trunc(to_date(sold_at), 'MM')""",
    "agg_sales_person_month": """
        SELECT sales_person_id, trunc(to_date(sold_at), 'MM') AS month, COUNT(*) AS sales_count,
               SUM(total_amount) AS revenue
        FROM fact_sales GROUP BY sales_person_id, trunc(to_date(sold_at), 'MM')""",
    "agg_client_lifetime": """
        SELECT client_id, MIN(sold_at) AS first_sale_at, MAX(sold_at) AS last_sale_at,
               COUNT(*) AS sales_count, SUM(total_amount) AS revenue
        FROM fact_sales GROUP BY client_id""",
}


def _utc(value):
    # Naive MySQL datetimes are UTC; an aware value keeps Python's local zone out of the conversion.
    return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) else value


def load_source(spark: SparkSession, cfg: Config, conn, salt: str) -> None:
    """Every registry table as a temporary view `src_<table>` (PII hashed as in silver)."""
    with conn.cursor() as cur:
        for table in cfg.tables.values():
            cur.execute(f"SELECT {', '.join(f'`{c}`' for c in table.column_names)} FROM `{table.name}`")
            pii = [c in table.pii for c in table.column_names]
            rows = [
                tuple(pii_hash(salt, v) if p else _utc(v) for v, p in zip(r, pii, strict=True))
                for r in cur.fetchall()
            ]
            schema = T.StructType(source_fields(table, pii_as_hash=True))
            spark.createDataFrame(rows, schema).createOrReplaceTempView(f"src_{table.name}")


def build_gold(spark: SparkSession, cfg: Config, conn, salt: str) -> dict[str, int]:
    """Write every gold model as a Delta table under the lake's gold layer; returns row counts."""
    load_source(spark, cfg, conn, salt)
    counts = {}
    for model, sql in GOLD_SQL.items():
        df = spark.sql(sql)
        path = cfg.env.table_path("gold", model)
        df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
        spark.read.format("delta").load(path).createOrReplaceTempView(model)
        counts[model] = spark.read.format("delta").load(path).count()
    return counts
