-- Question: per day, job and table: runs, rows read and written, and the slowest run's seconds.
SELECT
    CAST(date_trunc('day', started_at) AS DATE) AS run_date,
    job,
    table_name,
    count(DISTINCT run_id) AS runs,
    coalesce(sum(rows_read), 0) AS rows_read,
    coalesce(sum(rows_written), 0) AS rows_written,
    max(CAST(date_diff('millisecond', started_at, ended_at) AS DOUBLE) / 1000) AS max_seconds
FROM pipeline_runs
GROUP BY CAST(date_trunc('day', started_at) AS DATE), job, table_name
ORDER BY run_date DESC, job, table_name
