-- Question: how much revenue came from each client segment and country, taking each client's
-- segment and address as they were at the time of the sale (not as they are today)?
-- v_sales carries the dim_client version valid at the sale (fact_sales.client_sk).
SELECT
  segment,
  country,
  COUNT(*) AS sales_count,
  COUNT(DISTINCT client_id) AS clients,
  SUM(total_amount) AS revenue
FROM v_sales
GROUP BY segment, country
ORDER BY revenue DESC, segment, country
