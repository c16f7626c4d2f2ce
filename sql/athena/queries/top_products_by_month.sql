-- Question: which five products earned the most in each month, and how many units did they sell?
-- Ties on revenue go to the lower product id, so the answer is the same on every run.
WITH ranked AS (
  SELECT
    a.month,
    a.product_id,
    p.name AS product_name,
    p.category,
    a.quantity,
    a.revenue,
    ROW_NUMBER() OVER (PARTITION BY a.month ORDER BY a.revenue DESC, a.product_id) AS rank_in_month
  FROM agg_product_month AS a
  JOIN dim_product AS p ON p.product_id = a.product_id AND p.is_current
)
SELECT month, rank_in_month, product_id, product_name, category, quantity, revenue
FROM ranked
WHERE rank_in_month <= 5
ORDER BY month, rank_in_month
