"""dim_date: one calendar day between the first and the last sale."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def build(sales: DataFrame) -> DataFrame:
    bounds = sales.agg(F.to_date(F.min("sold_at")).alias("lo"), F.to_date(F.max("sold_at")).alias("hi"))
    days = bounds.filter(F.col("lo").isNotNull()).select(F.explode(F.sequence("lo", "hi")).alias("date"))
    iso_dow = (F.dayofweek("date") + 5) % 7 + 1  # Spark: 1 = Sunday; ISO: 1 = Monday
    return days.select(
        F.date_format("date", "yyyyMMdd").cast("int").alias("date_key"),
        F.col("date"),
        F.year("date").alias("year"),
        F.quarter("date").alias("quarter"),
        F.month("date").alias("month"),
        F.dayofmonth("date").alias("day"),
        iso_dow.alias("day_of_week"),
        F.trunc("date", "MM").alias("month_start"),
        (iso_dow >= 6).alias("is_weekend"),
    )
