-- Registers `quarantine_files` as a native Delta table (Athena engine v3): the raw files bronze
-- quarantined whole (the file, the reason, the run). On AWS the gold crawler already catalogues
-- it in the gold database; this file is the same registration for a catalog without crawlers.
-- ${ops_root} is the ops zone (e.g. s3://<prefix>-gold/_ops).
CREATE EXTERNAL TABLE quarantine_files
LOCATION '${ops_root}/quarantine_files/'
TBLPROPERTIES ('table_type' = 'DELTA')
