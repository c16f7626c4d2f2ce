-- MySQL twin of sql/athena/queries/client_cohorts.sql.
WITH per_sale AS (
  SELECT s.id, s.client_id, s.sold_at, COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.client_id, s.sold_at
), per_client AS (
  SELECT client_id, MIN(sold_at) AS first_sale_at, COUNT(*) AS sales_count, SUM(amount) AS revenue
  FROM per_sale
  GROUP BY client_id
)
SELECT
  CAST(DATE_FORMAT(first_sale_at, '%Y-%m-01') AS DATE) AS cohort_month,
  COUNT(*) AS clients,
  SUM(sales_count) AS sales_count,
  SUM(revenue) AS revenue,
  ROUND(SUM(revenue) / COUNT(*), 2) AS revenue_per_client
FROM per_client
GROUP BY CAST(DATE_FORMAT(first_sale_at, '%Y-%m-01') AS DATE)
ORDER BY cohort_month
