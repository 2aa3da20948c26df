-- Operators (issue 5): dead letters get resolved (redriven or discarded); customers can be held.
ALTER TABLE dead_letters
  ADD COLUMN status ENUM('open', 'redriven', 'discarded') NOT NULL DEFAULT 'open' AFTER attempts,
  ADD COLUMN resolved_at DATETIME(6) NULL AFTER status,
  ADD COLUMN resolution VARCHAR(255) NULL AFTER resolved_at,
  ADD KEY dead_letters_by_status (status, created_at);

-- A held customer's notifications wait (durably, in their workflows) until an operator resumes the customer.
CREATE TABLE customer_holds (
  customer_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  reason VARCHAR(255) NULL,
  held_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
