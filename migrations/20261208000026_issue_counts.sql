-- How many of an asset's checks fail in each score computation (its open issues): an increase of
-- 10 or 5 between computations alerts (VISION.md: ISSUE_INCREASE_CRITICAL / _HIGH). NULL for
-- computations before this migration.
ALTER TABLE asset_scores ADD COLUMN issues integer CHECK (issues >= 0);
