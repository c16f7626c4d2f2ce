-- Registers gold model `dim_client` as a native Delta table (Athena engine v3): the schema comes from
-- the Delta log. ${gold_root} is the gold layer location (e.g. s3://<prefix>-gold), filled in
-- by whoever runs this file (the DAG, Terraform's templatefile or `lakehouse sql` locally).
CREATE EXTERNAL TABLE dim_client
LOCATION '${gold_root}/dim_client/'
TBLPROPERTIES ('table_type' = 'DELTA')
