-- Registers `quarantine_released` as a native Delta table (Athena engine v3): the quarantined
-- changes that a `quarantine` references rule let go once their parent landed, one row per
-- quarantine row (table, key, rule, change) with the run that applied it. On AWS the gold crawler
-- already catalogues it in the gold database; this file is the same registration for a catalog
-- without crawlers. ${ops_root} is the ops zone (e.g. s3://<prefix>-gold/_ops).
CREATE EXTERNAL TABLE quarantine_released
LOCATION '${ops_root}/quarantine_released/'
TBLPROPERTIES ('table_type' = 'DELTA')
