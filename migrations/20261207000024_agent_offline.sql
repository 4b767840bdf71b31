-- Agents going offline become events (issue 14's "agents going offline" alert source): the
-- periodic incident upkeep marks an agent silent for longer than the stale limit (15 min) once,
-- emitting `agent.status_changed` with reason `went_offline`; its next heartbeat clears the mark
-- (and emits `back_online`, as before).
ALTER TABLE agents ADD COLUMN offline_reported_at timestamptz;
