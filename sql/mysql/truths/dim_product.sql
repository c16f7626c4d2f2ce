-- Truth for the current rows of gold dim_product: every product as it is now.
SELECT id AS product_id, sku, name, category, unit_price, status
FROM products
