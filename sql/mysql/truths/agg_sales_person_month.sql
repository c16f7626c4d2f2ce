-- Truth for gold agg_sales_person_month: one row per sales person and month with sales.
SELECT
  s.sales_person_id,
  CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE) AS month,
  COUNT(DISTINCT s.id) AS sales_count,
  COALESCE(SUM(i.line_amount), 0) AS revenue
FROM sales AS s
LEFT JOIN sales_items AS i ON i.sale_id = s.id
GROUP BY s.sales_person_id, CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE)
