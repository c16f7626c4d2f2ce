-- MySQL twin of sql/athena/queries/top_products_by_month.sql, asked of the source tables.
WITH product_month AS (
  SELECT
    i.product_id,
    CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE) AS month,
    SUM(i.quantity) AS quantity,
    SUM(i.line_amount) AS revenue
  FROM sales AS s
  JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY i.product_id, CAST(DATE_FORMAT(s.sold_at, '%Y-%m-01') AS DATE)
), ranked AS (
  SELECT
    pm.month,
    pm.product_id,
    p.name AS product_name,
    p.category,
    pm.quantity,
    pm.revenue,
    ROW_NUMBER() OVER (PARTITION BY pm.month ORDER BY pm.revenue DESC, pm.product_id) AS rank_in_month
  FROM product_month AS pm
  JOIN products AS p ON p.id = pm.product_id
)
SELECT month, rank_in_month, product_id, product_name, category, quantity, revenue
FROM ranked
WHERE rank_in_month <= 5
ORDER BY month, rank_in_month
