-- Question: what is the daily revenue trend? Each day with sales, its revenue and the average
-- over it and the six days with sales before it (a seven-day moving average).
SELECT
  sale_date,
  sales_count,
  revenue,
  ROUND(
    AVG(CAST(revenue AS DOUBLE)) OVER (ORDER BY sale_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 2
  ) AS revenue_7d_avg
FROM agg_daily_sales
ORDER BY sale_date
