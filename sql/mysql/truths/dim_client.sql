-- Truth for the current rows of gold dim_client: every client with its primary address.
SELECT
  c.id AS client_id,
  c.segment,
  c.status,
  a.id AS address_id,
  a.city,
  a.postal_code,
  a.country
FROM clients AS c
LEFT JOIN client_addresses AS a ON a.client_id = c.id AND a.is_primary = 1
