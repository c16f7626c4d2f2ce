-- Question: how much revenue came from each client segment and country, taking each client's
-- segment and address as they were at the time of the sale (not as they are today)?
SELECT
  c.segment,
  c.country,
  COUNT(*) AS sales_count,
  COUNT(DISTINCT f.client_id) AS clients,
  SUM(f.total_amount) AS revenue
FROM fact_sales AS f
JOIN dim_client AS c ON c.client_sk = f.client_sk
GROUP BY c.segment, c.country
ORDER BY revenue DESC, c.segment, c.country
