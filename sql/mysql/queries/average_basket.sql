-- MySQL twin of sql/athena/queries/average_basket.sql.
WITH per_sale AS (
  SELECT
    s.id,
    s.sold_at,
    COUNT(i.id) AS line_count,
    COALESCE(SUM(i.quantity), 0) AS units,
    COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.sold_at
)
SELECT
  CAST(DATE_FORMAT(sold_at, '%Y-%m-01') AS DATE) AS month,
  COUNT(*) AS sales_count,
  ROUND(AVG(line_count), 2) AS avg_lines,
  ROUND(AVG(units), 2) AS avg_units,
  ROUND(AVG(amount), 2) AS avg_basket
FROM per_sale
GROUP BY CAST(DATE_FORMAT(sold_at, '%Y-%m-01') AS DATE)
ORDER BY month
