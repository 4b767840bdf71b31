-- Scores are series too (issue 13): each computation remembers the collection its evidence was
-- measured in, and the score is written as that collection's `quality_score` metric point, so
-- detection and forecasts run on it like on any metric; a score anomaly's causes compare the
-- computations of two collections.
ALTER TABLE asset_scores ADD COLUMN measured_at timestamptz;
CREATE INDEX asset_scores_measured ON asset_scores (tenant_id, asset_id, measured_at)
    WHERE measured_at IS NOT NULL;
