-- MySQL twin of sql/athena/queries/daily_revenue_trend.sql.
WITH per_day AS (
  SELECT DATE(s.sold_at) AS sale_date, COUNT(DISTINCT s.id) AS sales_count,
         COALESCE(SUM(i.line_amount), 0) AS revenue
  FROM sales AS s
  LEFT JOIN sales_items AS i ON i.sale_id = s.id
  GROUP BY DATE(s.sold_at)
)
SELECT
  sale_date,
  sales_count,
  revenue,
  ROUND(AVG(revenue) OVER (ORDER BY sale_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 2)
    AS revenue_7d_avg
FROM per_day
ORDER BY sale_date
