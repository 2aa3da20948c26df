-- Operators resolve dead letters (issue 5): redriven (sent through the pipeline again) or discarded.
ALTER TABLE dead_letters
  ADD COLUMN status ENUM('open', 'redriven', 'discarded') NOT NULL DEFAULT 'open' AFTER attempts,
  ADD COLUMN resolved_at DATETIME(6) NULL AFTER status,
  ADD COLUMN resolution VARCHAR(255) NULL AFTER resolved_at,
  ADD KEY dead_letters_by_status (status, created_at);
