-- Registers the run log `pipeline_runs` (one row per run, job and table; spark_jobs/run_log.py) as
-- a native Delta table (Athena engine v3). On AWS the gold crawler already catalogues it in the
-- gold database; this file is the same registration for a catalog without crawlers. ${ops_root}
-- is the ops zone (e.g. s3://<prefix>-gold/_ops), filled in by whoever runs this file.
CREATE EXTERNAL TABLE pipeline_runs
LOCATION '${ops_root}/pipeline_runs/'
TBLPROPERTIES ('table_type' = 'DELTA')
