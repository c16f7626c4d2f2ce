-- One row per sale with its calendar day, the client as they were at the sale (segment and
-- address valid then) and the sales person: the usual starting point for sale-level questions.
CREATE OR REPLACE VIEW v_sales AS
SELECT
  f.sale_id,
  f.sold_at,
  d."date" AS sale_date,
  d.year AS sale_year,
  d.month_start AS sale_month,
  d.day_of_week,
  d.is_weekend,
  f.status,
  f.client_id,
  c.segment,
  c.city,
  c.country,
  f.sales_person_id,
  sp.region,
  f.item_count,
  f.total_quantity,
  f.total_amount
FROM fact_sales AS f
JOIN dim_date AS d ON d.date_key = f.date_key
LEFT JOIN dim_client AS c ON c.client_sk = f.client_sk
LEFT JOIN dim_sales_person AS sp ON sp.sales_person_id = f.sales_person_id
