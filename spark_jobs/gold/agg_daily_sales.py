"""agg_daily_sales: one sale date: sales, item lines, quantity and revenue."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import restrict


def build(fact_sales: DataFrame, scope: DataFrame | None = None) -> DataFrame:
    facts = restrict(fact_sales.withColumn("sale_date", F.to_date("sold_at")), scope)
    return facts.groupBy("sale_date").agg(
        F.count(F.lit(1)).alias("sales_count"),
        F.sum("item_count").cast("bigint").alias("item_count"),
        F.sum("total_quantity").cast("bigint").alias("quantity"),
        F.sum("total_amount").cast("decimal(18,2)").alias("revenue"),
    )
