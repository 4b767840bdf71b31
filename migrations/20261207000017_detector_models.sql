-- A table model's forest in compact form, next to the detector state it belongs to, so a pass
-- that resumes the model does not regrow it. Written only when the model was retrained (an
-- UPDATE that leaves it out keeps the stored value without rewriting it); NULL for series
-- detectors, whose state is all in `state`. EXTERNAL: out of line and not compressed (it is
-- mostly floating-point values, which pglz does not shrink), so reading it costs no
-- decompression.
ALTER TABLE detector_snapshots ADD COLUMN model bytea;
ALTER TABLE detector_snapshots ALTER COLUMN model SET STORAGE EXTERNAL;
