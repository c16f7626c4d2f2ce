-- Truth for gold agg_client_lifetime: one row per client with at least one sale.
SELECT
  s.client_id,
  MIN(s.sold_at) AS first_sale_at,
  MAX(s.sold_at) AS last_sale_at,
  COUNT(DISTINCT s.id) AS sales_count,
  COALESCE(SUM(i.line_amount), 0) AS revenue
FROM sales AS s
LEFT JOIN sales_items AS i ON i.sale_id = s.id
GROUP BY s.client_id
