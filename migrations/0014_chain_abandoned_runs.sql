-- A notification whose workflow could not be started is abandoned: its row stays (so that submitting it again is
-- recognised) but counts as settled, so that the notifications behind it do not wait for a workflow that never ran.
ALTER TABLE notification_runs ADD COLUMN abandoned BOOLEAN NOT NULL DEFAULT FALSE AFTER settled_at;
