-- MySQL twin of sql/athena/queries/returns_by_month.sql.
WITH per_sale AS (
  SELECT s.id, s.sold_at, s.status, COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.sold_at, s.status
)
SELECT
  CAST(DATE_FORMAT(sold_at, '%Y-%m-01') AS DATE) AS month,
  COUNT(*) AS sales_count,
  SUM(CASE WHEN status = 'returned' THEN 1 ELSE 0 END) AS returned_count,
  ROUND(100 * SUM(CASE WHEN status = 'returned' THEN 1 ELSE 0 END) / COUNT(*), 2) AS return_rate_pct,
  SUM(CASE WHEN status = 'returned' THEN amount ELSE 0 END) AS returned_revenue
FROM per_sale
GROUP BY CAST(DATE_FORMAT(sold_at, '%Y-%m-01') AS DATE)
ORDER BY month
