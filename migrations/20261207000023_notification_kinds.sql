-- Channels beyond the webhook (issue 14): an incident's acknowledgement is told to the channels
-- told of its opening (PagerDuty and Opsgenie stop paging), and a message may get back what the
-- next ones of the incident refer to (Slack's `ts`, which they thread under).
ALTER TABLE notifications DROP CONSTRAINT notifications_event_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_event_check
    CHECK (event IN ('opened', 'acknowledged', 'resolved', 'escalated'));
ALTER TABLE notifications ADD COLUMN external_ref text;
