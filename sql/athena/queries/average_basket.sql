-- Question: month by month, what does an average basket look like (lines, units, amount)?
-- Sale-level totals come from fact_sales, never summed across item rows.
SELECT
  CAST(date_trunc('month', sold_at) AS DATE) AS month,
  COUNT(*) AS sales_count,
  ROUND(AVG(CAST(item_count AS DOUBLE)), 2) AS avg_lines,
  ROUND(AVG(CAST(total_quantity AS DOUBLE)), 2) AS avg_units,
  ROUND(AVG(CAST(total_amount AS DOUBLE)), 2) AS avg_basket
FROM fact_sales
GROUP BY CAST(date_trunc('month', sold_at) AS DATE)
ORDER BY month
