-- A notification marks its run started when its workflow first looks at its predecessor. A successor waiting for a
-- run known to have started has no phantom to suspect, so it does not look early (a burst of thousands waiting
-- made thousands of early looks at once, each a workflow task and a call to Temporal).
ALTER TABLE notification_runs ADD COLUMN started BOOLEAN NOT NULL DEFAULT FALSE;
