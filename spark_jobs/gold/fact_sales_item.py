"""fact_sales_item: one sale item line, with the client and product versions valid at the sale.

Quantity, unit price and line amount are the item's own (the price at sale time, as recorded).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.gold.common import date_key, restrict, version_at


def build(
    sales_items: DataFrame,
    sales: DataFrame,
    dim_client: DataFrame,
    dim_product: DataFrame,
    scope: DataFrame | None = None,
) -> DataFrame:
    items = restrict(sales_items.withColumnRenamed("id", "sales_item_id"), scope).select(
        "sales_item_id", "sale_id", "product_id", "quantity", "unit_price", "line_amount"
    )
    sale = restrict(sales.withColumnRenamed("id", "sale_id"), scope).select(
        "sale_id", "sold_at", "client_id", "sales_person_id", F.col("status").alias("sale_status")
    )
    facts = items.join(sale, on="sale_id")  # an item whose sale is gone is not a sale
    facts = version_at(facts, dim_client, "client_id", "sold_at", "client_sk", "sales_item_id")
    facts = version_at(facts, dim_product, "product_id", "sold_at", "product_sk", "sales_item_id")
    return facts.select(
        "sales_item_id",
        "sale_id",
        date_key("sold_at").alias("date_key"),
        "sold_at",
        "client_id",
        "client_sk",
        "product_id",
        "product_sk",
        "sales_person_id",
        "sale_status",
        "quantity",
        "unit_price",
        "line_amount",
    )
