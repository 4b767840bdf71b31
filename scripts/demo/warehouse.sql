-- CWIC demo warehouse: a small e-commerce schema (about 240k rows) with deliberate problems, so the
-- profiler, the checks and the anomaly detectors have something real to find.
--
-- Injected problems (and where):
--   customers.email     ~3% NULL, ~2% malformed (no @, no domain, spaces)
--   customers.phone     ~4% NULL, ~3% malformed (letters, too short)
--   customers.id        40 duplicated keys (no primary key constraint on purpose)
--   orders.customer_id  ~1% orphaned (no such customer)
--   orders.total_amount a few huge outliers
--   order_items.order_id ~0.5% orphaned
--   products.price      outliers; products.stock negative for some
--   payments            stale: nothing newer than 40 days (loads stopped)
SELECT setseed(0.42);

CREATE TABLE customers (
    id          integer NOT NULL,
    email       text,
    phone       text,
    full_name   text NOT NULL,
    country     char(2) NOT NULL,
    created_at  timestamptz NOT NULL
);
INSERT INTO customers
SELECT i,
       CASE WHEN r < 0.03 THEN NULL
            WHEN r < 0.04 THEN 'customer' || i || '.example.com'
            WHEN r < 0.045 THEN 'customer' || i || '@'
            WHEN r < 0.05 THEN 'customer ' || i || '@example .com'
            ELSE 'customer' || i || '@' || (ARRAY['example.com','mail.test','shop.example'])[1 + i % 3] END,
       CASE WHEN r2 < 0.04 THEN NULL
            WHEN r2 < 0.055 THEN 'call me'
            WHEN r2 < 0.07 THEN lpad((i % 9999)::text, 4, '0')
            ELSE '+44 20 ' || lpad((i * 7919 % 10000000)::text, 7, '0') END,
       'Customer ' || i,
       (ARRAY['GB','DE','FR','US','NL'])[1 + i % 5],
       now() - (i % 900) * interval '1 day' - (i % 24) * interval '1 hour'
FROM (SELECT i, random() AS r, random() AS r2 FROM generate_series(1, 20000) AS i) AS s;
-- duplicated keys
INSERT INTO customers SELECT id, email, phone, full_name || ' (dup)', country, created_at
FROM customers WHERE id % 500 = 0;

CREATE TABLE products (
    id          integer PRIMARY KEY,
    sku         text NOT NULL,
    name        text NOT NULL,
    category    text,
    price       numeric(12, 2) NOT NULL,
    stock       integer NOT NULL,
    updated_at  timestamptz NOT NULL
);
INSERT INTO products
SELECT i,
       'SKU-' || lpad(i::text, 6, '0'),
       'Product ' || i,
       CASE WHEN i % 40 = 0 THEN NULL ELSE (ARRAY['books','games','garden','kitchen','toys'])[1 + i % 5] END,
       CASE WHEN i % 333 = 0 THEN 999999.99 ELSE round((5 + random() * 195)::numeric, 2) END,
       CASE WHEN i % 97 = 0 THEN -5 ELSE (random() * 500)::int END,
       now() - (i % 30) * interval '1 day'
FROM generate_series(1, 2000) AS i;

CREATE TABLE orders (
    id            bigint PRIMARY KEY,
    customer_id   integer NOT NULL,
    status        text NOT NULL,
    total_amount  numeric(12, 2),
    ordered_at    timestamptz NOT NULL
);
INSERT INTO orders
SELECT i,
       CASE WHEN random() < 0.01 THEN 900000 + i ELSE 1 + (random() * 19999)::int END,
       (ARRAY['placed','paid','shipped','delivered','cancelled'])[1 + (random() * 4)::int],
       CASE WHEN i % 2500 = 0 THEN 250000.00
            WHEN random() < 0.005 THEN NULL
            ELSE round((10 + random() * 290)::numeric, 2) END,
       now() - (random() * 365) * interval '1 day'
FROM generate_series(1, 50000) AS i;

CREATE TABLE order_items (
    order_id    bigint NOT NULL,
    line        integer NOT NULL,
    product_id  integer NOT NULL,
    quantity    integer NOT NULL,
    unit_price  numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line)
);
INSERT INTO order_items
SELECT CASE WHEN random() < 0.005 THEN 1000000 + o ELSE o END,
       l,
       1 + (random() * 1999)::int,
       1 + (random() * 4)::int,
       round((5 + random() * 195)::numeric, 2)
FROM generate_series(1, 50000) AS o, generate_series(1, 3) AS l
WHERE l = 1 OR random() < 0.6;

CREATE TABLE payments (
    id          bigint PRIMARY KEY,
    order_id    bigint NOT NULL,
    method      text,
    amount      numeric(12, 2),
    paid_at     timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
INSERT INTO payments
SELECT i,
       i,
       CASE WHEN random() < 0.02 THEN NULL ELSE (ARRAY['card','paypal','bank_transfer','voucher'])[1 + i % 4] END,
       CASE WHEN random() < 0.01 THEN NULL ELSE round((10 + random() * 290)::numeric, 2) END,
       now() - interval '40 days' - (random() * 300) * interval '1 day',
       now() - interval '40 days' - (random() * 10) * interval '1 day'
FROM generate_series(1, 45000) AS i;

CREATE VIEW customer_order_totals AS
SELECT c.id AS customer_id, c.country, count(o.id) AS orders, sum(o.total_amount) AS total
FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.id, c.country;

ANALYZE customers, products, orders, order_items, payments;
