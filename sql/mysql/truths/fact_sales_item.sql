-- Truth for gold fact_sales_item: one row per sale item, with its sale's attributes.
SELECT
  i.id AS sales_item_id,
  i.sale_id,
  CAST(DATE_FORMAT(s.sold_at, '%Y%m%d') AS UNSIGNED) AS date_key,
  s.sold_at,
  s.client_id,
  i.product_id,
  s.sales_person_id,
  s.status AS sale_status,
  i.quantity,
  i.unit_price,
  i.line_amount
FROM sales_items AS i
JOIN sales AS s ON s.id = i.sale_id
