-- MySQL twin of sql/athena/queries/revenue_by_sales_person.sql.
WITH per_sale AS (
  SELECT s.id, s.sales_person_id, COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.sales_person_id
)
SELECT
  sp.id AS sales_person_id,
  sp.region,
  COUNT(*) AS sales_count,
  SUM(ps.amount) AS revenue,
  ROUND(SUM(ps.amount) / COUNT(*), 2) AS avg_sale
FROM per_sale AS ps
JOIN sales_people AS sp ON sp.id = ps.sales_person_id
GROUP BY sp.id, sp.region
ORDER BY revenue DESC, sp.id
