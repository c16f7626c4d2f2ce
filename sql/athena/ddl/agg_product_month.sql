-- Registers gold model `agg_product_month` as a native Delta table (Athena engine v3): the schema comes from
-- the Delta log. ${gold_root} is the gold layer location (e.g. s3://<prefix>-gold), filled in
-- by whoever runs this file (the DAG, Terraform's templatefile or `lakehouse sql` locally).
CREATE EXTERNAL TABLE agg_product_month
LOCATION '${gold_root}/agg_product_month/'
TBLPROPERTIES ('table_type' = 'DELTA')
