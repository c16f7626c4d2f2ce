-- Question: where do the sales stand: how many sales, units and how much revenue per status
-- (placed, paid, shipped, delivered, returned), and each status's share of all sales?
SELECT
  status,
  COUNT(*) AS sales_count,
  SUM(total_quantity) AS quantity,
  SUM(total_amount) AS revenue,
  ROUND(100 * CAST(COUNT(*) AS DOUBLE) / SUM(COUNT(*)) OVER (), 2) AS share_of_sales_pct
FROM fact_sales
GROUP BY status
ORDER BY sales_count DESC, status
