-- MySQL twin of sql/athena/queries/revenue_by_segment_country.sql. The address valid at a sale
-- is the client's address created at or before it that was still primary then (a move sets the
-- old address's is_primary to 0, stamping updated_at with the time of the move).
WITH per_sale AS (
  SELECT s.id, s.client_id, s.sold_at, COALESCE(SUM(i.line_amount), 0) AS amount
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY s.id, s.client_id, s.sold_at
)
SELECT
  c.segment,
  a.country,
  COUNT(*) AS sales_count,
  COUNT(DISTINCT ps.client_id) AS clients,
  SUM(ps.amount) AS revenue
FROM per_sale AS ps
JOIN clients AS c ON c.id = ps.client_id
JOIN client_addresses AS a
  ON a.client_id = ps.client_id
  AND a.created_at <= ps.sold_at
  AND (a.is_primary = 1 OR a.updated_at > ps.sold_at)
GROUP BY c.segment, a.country
ORDER BY revenue DESC, c.segment, a.country
