-- Question: what was quarantined, per table and rule (rows) or reason (whole files): how many, how
-- many of those rows came back once their parent landed (a `quarantine` references rule), and when last.
SELECT
    q.table_name,
    q.kind,
    q.rule,
    count(*) AS quarantined,
    count(DISTINCT q.item) AS distinct_items,
    count(r.row_key) AS released,
    max(q.quarantined_at) AS last_quarantined_at,
    max_by(q.run_id, q.quarantined_at) AS last_run_id
FROM (
    SELECT
        table_name, 'row' AS kind, rule, row_key AS item, "_commit_ts" AS commit_ts,
        "_change_seq" AS change_seq, quarantined_at, "_run_id" AS run_id
    FROM quarantine_rows
    UNION ALL
    SELECT
        table_name, 'file' AS kind, reason AS rule, "_source_file" AS item, CAST(NULL AS timestamp) AS commit_ts,
        CAST(NULL AS varchar) AS change_seq, quarantined_at, "_run_id" AS run_id
    FROM quarantine_files
) AS q
LEFT JOIN quarantine_released AS r
    ON q.kind = 'row'
    AND r.table_name = q.table_name
    AND r.rule = q.rule
    AND r.row_key = q.item
    AND r."_commit_ts" IS NOT DISTINCT FROM q.commit_ts
    AND r."_change_seq" IS NOT DISTINCT FROM q.change_seq
GROUP BY q.table_name, q.kind, q.rule
ORDER BY last_quarantined_at DESC, q.table_name, q.kind, q.rule
