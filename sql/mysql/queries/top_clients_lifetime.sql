-- MySQL twin of sql/athena/queries/top_clients_lifetime.sql.
WITH per_sale AS (
  SELECT s.id, s.client_id, s.sold_at, COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.client_id, s.sold_at
)
SELECT
  ps.client_id,
  c.segment,
  COUNT(*) AS sales_count,
  SUM(ps.amount) AS revenue,
  MIN(ps.sold_at) AS first_sale_at,
  MAX(ps.sold_at) AS last_sale_at
FROM per_sale AS ps
JOIN clients AS c ON c.id = ps.client_id
GROUP BY ps.client_id, c.segment
ORDER BY revenue DESC, ps.client_id
LIMIT 20
