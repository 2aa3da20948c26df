-- Each redrive of a dead letter is a notification run of its own (`#redrive-<id>-<n>`): the count names the next one,
-- so a second redrive after the first failed again is a new run, never a duplicate start that does nothing.
ALTER TABLE dead_letters ADD COLUMN redrives INT UNSIGNED NOT NULL DEFAULT 0 AFTER status;
