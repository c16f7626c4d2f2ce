"""agg_product_month: one product in one calendar month: quantity, revenue, sales."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import month, restrict


def build(fact_sales_item: DataFrame, scope: DataFrame | None = None) -> DataFrame:
    items = restrict(fact_sales_item.withColumn("month", month("sold_at")), scope)
    return items.groupBy("product_id", "month").agg(
        F.sum("quantity").cast("bigint").alias("quantity"),
        F.sum("line_amount").cast("decimal(18,2)").alias("revenue"),
        F.countDistinct("sale_id").cast("bigint").alias("sales_count"),
    )
