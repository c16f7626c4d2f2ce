-- Registers `quarantine_rows` as a native Delta table (Athena engine v3): the rows silver's
-- expectations quarantined, one row per broken rule (the row as JSON with its personal data
-- already hashed, the rule, the source file, the run). On AWS the gold crawler already catalogues
-- it in the gold database; this file is the same registration for a catalog without crawlers.
-- ${ops_root} is the ops zone (e.g. s3://<prefix>-gold/_ops).
CREATE EXTERNAL TABLE quarantine_rows
LOCATION '${ops_root}/quarantine_rows/'
TBLPROPERTIES ('table_type' = 'DELTA')
