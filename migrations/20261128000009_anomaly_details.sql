-- What an anomaly was judged against, for its explanation: the update rhythm of a freshness_lag
-- series (expected interval, tolerance, last update), the usual drift of a distribution_drift
-- series, the features furthest from their usual values for a table_vector anomaly (the
-- multivariate model over a table's metrics; metric 'table_vector', column ''). NULL for the
-- seasonal detector's events, whose band says it all.
ALTER TABLE anomaly_events ADD COLUMN details jsonb;
