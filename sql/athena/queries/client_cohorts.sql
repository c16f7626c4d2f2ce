-- Question: grouping clients by the month of their first purchase (their cohort), how many
-- clients does each cohort hold, and how much have they bought over their lifetime?
SELECT
  CAST(date_trunc('month', first_sale_at) AS DATE) AS cohort_month,
  COUNT(*) AS clients,
  SUM(sales_count) AS sales_count,
  SUM(revenue) AS revenue,
  ROUND(CAST(SUM(revenue) AS DOUBLE) / COUNT(*), 2) AS revenue_per_client
FROM agg_client_lifetime
WHERE sales_count > 0
GROUP BY CAST(date_trunc('month', first_sale_at) AS DATE)
ORDER BY cohort_month
