-- Claim before send: a delivery moves `pending` -> `sending` (with the attempt's id and a lease the sender renews
-- while its send is in flight) before a send, so a second attempt never sends beside a live one. A claim whose lease
-- ran out belonged to an attempt that died mid-send: the next attempt takes it over and counts an unknown outcome,
-- a possible duplicate for channels without an idempotency key (email).
-- `sending` comes last: MySQL stores an ENUM by position.
ALTER TABLE deliveries
  MODIFY state ENUM('pending', 'sent', 'delivered', 'undelivered', 'suppressed', 'dead_lettered', 'cancelled', 'bounced', 'sending') NOT NULL,
  ADD COLUMN attempt_id CHAR(36) NULL,
  ADD COLUMN lease_until DATETIME(6) NULL,
  ADD COLUMN unknown_outcomes INT UNSIGNED NOT NULL DEFAULT 0;
