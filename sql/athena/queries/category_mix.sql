-- Question: what is the category mix of each month: revenue and units per product category
-- (the category of the product as it was when sold) and each category's share of the month?
WITH category_month AS (
  SELECT
    CAST(date_trunc('month', i.sold_at) AS DATE) AS month,
    p.category,
    SUM(i.quantity) AS quantity,
    SUM(i.line_amount) AS revenue
  FROM fact_sales_item AS i
  JOIN dim_product AS p ON p.product_sk = i.product_sk
  GROUP BY CAST(date_trunc('month', i.sold_at) AS DATE), p.category
)
SELECT
  month,
  category,
  quantity,
  revenue,
  ROUND(100 * CAST(revenue AS DOUBLE) / SUM(CAST(revenue AS DOUBLE)) OVER (PARTITION BY month), 2)
    AS revenue_share_pct
FROM category_month
ORDER BY month, revenue DESC, category
