-- Truth for gold fact_sales: one row per sale; totals from its items, the recorded total as is.
SELECT
  s.id AS sale_id,
  CAST(DATE_FORMAT(s.sold_at, '%Y%m%d') AS UNSIGNED) AS date_key,
  s.sold_at,
  s.client_id,
  s.sales_person_id,
  s.status,
  COUNT(i.id) AS item_count,
  COALESCE(SUM(i.quantity), 0) AS total_quantity,
  COALESCE(SUM(i.line_amount), 0) AS total_amount,
  s.total_amount AS recorded_total
FROM sales AS s
LEFT JOIN sales_items AS i ON i.sale_id = s.id
GROUP BY s.id, s.sold_at, s.client_id, s.sales_person_id, s.status, s.total_amount
