-- Registers gold model `dim_sales_person` as a native Delta table (Athena engine v3): the schema comes from
-- the Delta log. ${gold_root} is the gold layer location (e.g. s3://<prefix>-gold), filled in
-- by whoever runs this file (the DAG, Terraform's templatefile or `lakehouse sql` locally).
CREATE EXTERNAL TABLE dim_sales_person
LOCATION '${gold_root}/dim_sales_person/'
TBLPROPERTIES ('table_type' = 'DELTA')
