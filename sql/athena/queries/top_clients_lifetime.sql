-- Question: who are the twenty most valuable clients over their lifetime, in which segment,
-- and when did they first and last buy? (Clients appear by id only: no personal data.)
SELECT
  l.client_id,
  c.segment,
  l.sales_count,
  l.revenue,
  l.first_sale_at,
  l.last_sale_at
FROM agg_client_lifetime AS l
JOIN dim_client AS c ON c.client_id = l.client_id AND c.is_current
ORDER BY l.revenue DESC, l.client_id
LIMIT 20
