"""dim_product: one version of a product (SCD2 from silver's products history: price history)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import IS_CURRENT, VALID_FROM, VALID_TO, reach_back, restrict, surrogate_key


def build(products_history: DataFrame, scope: DataFrame | None = None) -> DataFrame:
    df = products_history.withColumnRenamed("id", "product_id")
    df = reach_back(restrict(df, scope), "product_id")
    return df.select(
        surrogate_key("product_id").alias("product_sk"),
        "product_id",
        "sku",
        "name",
        "category",
        "unit_price",
        "status",
        VALID_FROM,
        VALID_TO,
        F.col(IS_CURRENT).cast("boolean").alias(IS_CURRENT),
    )
