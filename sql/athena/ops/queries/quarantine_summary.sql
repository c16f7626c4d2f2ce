-- Question: what was quarantined, per table and rule (rows) or reason (whole files): how many, and when last.
SELECT
    table_name,
    kind,
    rule,
    count(*) AS quarantined,
    count(DISTINCT item) AS distinct_items,
    max(quarantined_at) AS last_quarantined_at,
    max_by(run_id, quarantined_at) AS last_run_id
FROM (
    SELECT table_name, 'row' AS kind, rule, row_key AS item, quarantined_at, "_run_id" AS run_id
    FROM quarantine_rows
    UNION ALL
    SELECT table_name, 'file' AS kind, reason AS rule, "_source_file" AS item, quarantined_at, "_run_id" AS run_id
    FROM quarantine_files
) AS q
GROUP BY table_name, kind, rule
ORDER BY last_quarantined_at DESC, table_name, kind, rule
