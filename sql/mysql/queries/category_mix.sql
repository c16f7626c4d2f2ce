-- MySQL twin of sql/athena/queries/category_mix.sql (a product's category never changes).
WITH category_month AS (
  SELECT
    CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE) AS month,
    p.category,
    SUM(i.quantity) AS quantity,
    SUM(i.line_amount) AS revenue
  FROM sales AS s
  JOIN sales_items AS i ON i.sale_id = s.id
  JOIN products AS p ON p.id = i.product_id
  GROUP BY CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE), p.category
)
SELECT
  month,
  category,
  quantity,
  revenue,
  ROUND(100 * revenue / SUM(revenue) OVER (PARTITION BY month), 2) AS revenue_share_pct
FROM category_month
ORDER BY month, revenue DESC, category
