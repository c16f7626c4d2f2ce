-- Question: how many sales of each month were returned, what share is that, and how much
-- revenue did they carry? (Cancelled sales are deleted in the source, so they are never here.)
SELECT
  CAST(date_trunc('month', sold_at) AS DATE) AS month,
  COUNT(*) AS sales_count,
  SUM(CASE WHEN status = 'returned' THEN 1 ELSE 0 END) AS returned_count,
  ROUND(100 * CAST(SUM(CASE WHEN status = 'returned' THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*), 2)
    AS return_rate_pct,
  SUM(CASE WHEN status = 'returned' THEN total_amount ELSE 0 END) AS returned_revenue
FROM fact_sales
GROUP BY CAST(date_trunc('month', sold_at) AS DATE)
ORDER BY month
