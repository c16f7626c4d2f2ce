"""fact_sales: one sale; its totals are summed from its own item lines.

Never a sale-level amount summed across item rows (the double count of a well-known public
version of this pipeline): each sale is one row, its items are aggregated before the join.
`recorded_total` keeps the source's own total beside the computed one.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import date_key, restrict, version_at


def build(
    sales: DataFrame, sales_items: DataFrame, dim_client: DataFrame, scope: DataFrame | None = None
) -> DataFrame:
    sale = restrict(sales.withColumnRenamed("id", "sale_id"), scope)
    lines = (
        restrict(sales_items, scope)
        .groupBy("sale_id")
        .agg(
            F.count(F.lit(1)).alias("_n"),
            F.sum("quantity").alias("_q"),
            F.sum("line_amount").alias("_amount"),
        )
    )
    facts = sale.join(lines, on="sale_id", how="left")
    facts = version_at(facts, dim_client, "client_id", "sold_at", "client_sk", "sale_id")
    return facts.select(
        "sale_id",
        date_key("sold_at").alias("date_key"),
        "sold_at",
        "client_id",
        "client_sk",
        "sales_person_id",
        "status",
        F.coalesce("_n", F.lit(0)).cast("int").alias("item_count"),
        F.coalesce("_q", F.lit(0)).cast("bigint").alias("total_quantity"),
        F.coalesce("_amount", F.lit(0)).cast("decimal(14,2)").alias("total_amount"),
        F.col("total_amount").cast("decimal(12,2)").alias("recorded_total"),
    )
