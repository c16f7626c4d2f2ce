"""agg_client_lifetime: one client with at least one sale: first and last sale, sales, revenue."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import restrict


def build(fact_sales: DataFrame, scope: DataFrame | None = None) -> DataFrame:
    facts = restrict(fact_sales, scope)
    return facts.groupBy("client_id").agg(
        F.min("sold_at").alias("first_sale_at"),
        F.max("sold_at").alias("last_sale_at"),
        F.count(F.lit(1)).alias("sales_count"),
        F.sum("total_amount").cast("decimal(18,2)").alias("revenue"),
    )
