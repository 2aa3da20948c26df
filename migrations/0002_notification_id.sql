-- A row's status can change after its insert, and each change is its own notification: deliveries and
-- dead letters are keyed by notification (the event id for the insert, `<eventId>@<binlog position>` for
-- a status change), no longer by event.

ALTER TABLE deliveries ADD COLUMN notification_id VARCHAR(160) NULL AFTER id;
UPDATE deliveries SET notification_id = event_id;
ALTER TABLE deliveries
  MODIFY notification_id VARCHAR(160) NOT NULL,
  DROP INDEX deliveries_once,
  ADD UNIQUE KEY deliveries_once (notification_id, user_id, channel),
  ADD KEY deliveries_by_event (event_id);

ALTER TABLE dead_letters ADD COLUMN notification_id VARCHAR(160) NULL AFTER id;
UPDATE dead_letters SET notification_id = event_id;
ALTER TABLE dead_letters
  MODIFY notification_id VARCHAR(160) NOT NULL,
  DROP INDEX dead_letters_once,
  ADD UNIQUE KEY dead_letters_once (notification_id, user_id, error_type),
  ADD KEY dead_letters_by_event (event_id);
