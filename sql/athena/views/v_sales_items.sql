-- One row per sale item with the product as it was at the sale (category, list price then)
-- and the sale's client segment and country: for product and category questions.
CREATE OR REPLACE VIEW v_sales_items AS
SELECT
  i.sales_item_id,
  i.sale_id,
  i.sold_at,
  CAST(date_trunc('month', i.sold_at) AS DATE) AS sale_month,
  i.sale_status,
  i.product_id,
  p.sku,
  p.name AS product_name,
  p.category,
  p.unit_price AS list_price,
  i.quantity,
  i.unit_price,
  i.line_amount,
  i.client_id,
  c.segment,
  c.country,
  i.sales_person_id
FROM fact_sales_item AS i
LEFT JOIN dim_product AS p ON p.product_sk = i.product_sk
LEFT JOIN dim_client AS c ON c.client_sk = i.client_sk
