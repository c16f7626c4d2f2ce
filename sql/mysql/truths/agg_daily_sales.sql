-- Truth for gold agg_daily_sales: one row per calendar day with sales.
SELECT
  DATE(s.sold_at) AS sale_date,
  COUNT(DISTINCT s.id) AS sales_count,
  COUNT(i.id) AS item_count,
  COALESCE(SUM(i.quantity), 0) AS quantity,
  COALESCE(SUM(i.line_amount), 0) AS revenue
FROM sales AS s
LEFT JOIN sales_items AS i ON i.sale_id = s.id
GROUP BY DATE(s.sold_at)
