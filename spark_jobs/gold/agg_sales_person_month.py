"""agg_sales_person_month: one sales person in one calendar month: sales and revenue."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import month, restrict


def build(fact_sales: DataFrame, scope: DataFrame | None = None) -> DataFrame:
    facts = restrict(fact_sales.withColumn("month", month("sold_at")), scope)
    return facts.groupBy("sales_person_id", "month").agg(
        F.count(F.lit(1)).alias("sales_count"),
        F.sum("total_amount").cast("decimal(18,2)").alias("revenue"),
    )
