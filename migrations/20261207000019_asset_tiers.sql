-- An asset's tier (issue 13's ROI): the cost of an hour of its downtime is the tenant's
-- `roi_settings.downtime_hourly_cost` of that tier (its `default` when the asset has none, or one
-- the settings do not name). Set by an admin with PUT /api/v1/assets/{id}/tier.
ALTER TABLE assets ADD COLUMN tier text
    CHECK (tier IS NULL OR tier ~ '^[a-z0-9][a-z0-9_-]{0,62}$');
