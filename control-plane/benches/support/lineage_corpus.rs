//! Typical statements for the lineage benchmarks: ETL inserts, CTAS with CTEs, merges, views, unions.
//! Shared by `lineage_throughput` and `lineage_fuzz` through `#[path]`.

pub const STATEMENTS: &[&str] = &[
    "INSERT INTO mart.daily_sales (day, region, revenue) SELECT date_trunc('day', o.ordered_at), c.region, sum(o.amount) \
     FROM raw.orders o JOIN raw.customers c ON c.id = o.customer_id WHERE o.status <> 'cancelled' GROUP BY 1, 2",
    "CREATE TABLE analytics.customer_ltv AS WITH orders AS (SELECT customer_id, amount FROM raw.orders WHERE amount > 0), \
     totals AS (SELECT customer_id, sum(amount) AS ltv, count(*) AS n FROM orders GROUP BY customer_id) \
     SELECT c.id, c.email, t.ltv, t.n, t.ltv / nullif(t.n, 0) AS avg_order FROM raw.customers c LEFT JOIN totals t ON t.customer_id = c.id",
    "MERGE INTO dim.customers d USING staging.customers s ON d.id = s.id \
     WHEN MATCHED THEN UPDATE SET email = s.email, phone = s.phone \
     WHEN NOT MATCHED THEN INSERT (id, email, phone) VALUES (s.id, s.email, s.phone)",
    "CREATE VIEW reporting.top_products AS SELECT p.sku, p.name, rank() OVER (PARTITION BY p.category ORDER BY sum(i.quantity) DESC) AS rnk \
     FROM raw.order_items i JOIN raw.products p ON p.id = i.product_id GROUP BY p.sku, p.name, p.category",
    "INSERT INTO audit.events SELECT id, 'order' AS kind, created_at FROM raw.orders UNION ALL SELECT id, 'payment', paid_at FROM raw.payments",
    "UPDATE mart.inventory i SET stock = s.stock, updated_at = s.loaded_at FROM staging.stock s WHERE s.product_id = i.product_id",
    "INSERT INTO mart.sessions SELECT user_id, min(ts) AS started, max(ts) AS ended, count(*) AS events \
     FROM (SELECT user_id, ts, sum(new_session) OVER (PARTITION BY user_id ORDER BY ts) AS session \
           FROM (SELECT user_id, ts, CASE WHEN ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) > interval '30 minutes' \
                 THEN 1 ELSE 0 END AS new_session FROM raw.clicks) flagged) grouped GROUP BY user_id, session",
    "SELECT a.x, b.y FROM s.a a JOIN s.b b USING (id) WHERE a.x > 3",
];
