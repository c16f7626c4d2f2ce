"""Gold models: one module per model, each a pure transform (DataFrames in, a DataFrame out).

Every `build` takes an optional `scope`: a small DataFrame of the values of the model's scope
columns (conf/gold.yaml) whose rows are recomputed; None recomputes the whole model. The job
(spark_jobs/jobs/gold.py) decides the scope from silver's change data feed.
"""

MODELS = (
    "dim_date",
    "dim_sales_person",
    "dim_product",
    "dim_client",
    "fact_sales_item",
    "fact_sales",
    "agg_daily_sales",
    "agg_product_month",
    "agg_sales_person_month",
    "agg_client_lifetime",
)
