-- Question: how much has each sales person sold, in how many sales, and what is their average sale?
SELECT
  sp.sales_person_id,
  sp.region,
  SUM(a.sales_count) AS sales_count,
  SUM(a.revenue) AS revenue,
  ROUND(CAST(SUM(a.revenue) AS DOUBLE) / SUM(a.sales_count), 2) AS avg_sale
FROM agg_sales_person_month AS a
JOIN dim_sales_person AS sp ON sp.sales_person_id = a.sales_person_id
GROUP BY sp.sales_person_id, sp.region
ORDER BY revenue DESC, sp.sales_person_id
