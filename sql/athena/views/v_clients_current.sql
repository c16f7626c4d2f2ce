-- The current version of every client without its personal data (names, e-mail and phone
-- stay hashed in dim_client and are left out here): safe to share with any analyst.
CREATE OR REPLACE VIEW v_clients_current AS
SELECT
  client_id,
  segment,
  status,
  city,
  postal_code,
  country,
  valid_from AS current_since
FROM dim_client
WHERE is_current
