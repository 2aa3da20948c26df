-- Complaints (RFC 5965 feedback reports) next to bounces in `inbound_reports`: which kind of report each row was,
-- and the user it was about (a complaint names the user even when its delivery row is gone). A complaint itself
-- is recorded as an opt-out, `recipient_opt_outs.source = 'complaint'` (migration 0010).
ALTER TABLE inbound_reports
  ADD COLUMN kind ENUM('delivery-status', 'feedback-report') NULL AFTER rcpt_to,
  ADD COLUMN user_id BIGINT UNSIGNED NULL AFTER delivery_id;

-- Every report kept so far that could be read was a delivery status notification.
UPDATE inbound_reports SET kind = 'delivery-status' WHERE outcome <> 'unparseable';
