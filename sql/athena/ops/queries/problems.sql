-- Question: every job and table that failed or quarantined something, newest first, with why.
SELECT
    started_at,
    run_id,
    job,
    table_name,
    status,
    rows_quarantined,
    files_quarantined,
    message
FROM pipeline_runs
WHERE status IN ('failed', 'quarantined')
   OR coalesce(rows_quarantined, 0) > 0
   OR coalesce(files_quarantined, 0) > 0
ORDER BY started_at DESC, run_id DESC, job, table_name
