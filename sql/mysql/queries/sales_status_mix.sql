-- MySQL twin of sql/athena/queries/sales_status_mix.sql.
WITH per_sale AS (
  SELECT s.id, s.status, COALESCE(SUM(i.quantity), 0) AS units, COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.status
)
SELECT
  status,
  COUNT(*) AS sales_count,
  SUM(units) AS quantity,
  SUM(amount) AS revenue,
  ROUND(100 * COUNT(*) / SUM(COUNT(*)) OVER (), 2) AS share_of_sales_pct
FROM per_sale
GROUP BY status
ORDER BY sales_count DESC, status
