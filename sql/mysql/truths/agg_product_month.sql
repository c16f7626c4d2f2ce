-- Truth for gold agg_product_month: one row per product and month in which it was sold.
SELECT
  i.product_id,
  CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE) AS month,
  SUM(i.quantity) AS quantity,
  SUM(i.line_amount) AS revenue,
  COUNT(DISTINCT s.id) AS sales_count
FROM sales AS s
JOIN sales_items AS i ON i.sale_id = s.id
GROUP BY i.product_id, CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE)
