"""dim_sales_person: one sales person as they are now (SCD1; e-mail hashed as in silver)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import restrict


def build(sales_people: DataFrame, scope: DataFrame | None = None) -> DataFrame:
    df = sales_people.select(
        F.col("id").alias("sales_person_id"),
        "first_name",
        "last_name",
        "email",
        "region",
        "hired_on",
        "commission_rate",
    )
    return restrict(df, scope)
