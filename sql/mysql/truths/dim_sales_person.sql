-- Truth for gold dim_sales_person (non-personal columns).
SELECT id AS sales_person_id, region, hired_on, commission_rate
FROM sales_people
