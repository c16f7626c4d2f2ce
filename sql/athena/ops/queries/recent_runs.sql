-- Question: the last twenty runs: when each started, how long it took, its status and its rows.
SELECT
    run_id,
    min(started_at) AS started_at,
    CAST(date_diff('millisecond', min(started_at), max(ended_at)) AS DOUBLE) / 1000 AS seconds,
    count(DISTINCT job) AS jobs,
    count(*) AS tables,
    CASE
        WHEN count_if(status = 'failed') > 0 THEN 'failed'
        WHEN count_if(status = 'quarantined') > 0 THEN 'quarantined'
        WHEN count_if(status <> 'noop') = 0 THEN 'noop'
        ELSE 'ok'
    END AS status,
    coalesce(sum(rows_read), 0) AS rows_read,
    coalesce(sum(rows_written), 0) AS rows_written,
    coalesce(sum(rows_quarantined), 0) AS rows_quarantined
FROM pipeline_runs
GROUP BY run_id
ORDER BY started_at DESC, run_id DESC
LIMIT 20
