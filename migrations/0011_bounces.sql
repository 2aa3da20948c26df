-- Bounces for email. Each mail's envelope sender is a per-delivery bounce address (VERP), so a delivery status
-- notification names the delivery it is about: a permanent failure marks the delivery `bounced` and suppresses
-- the address; transient ones are counted and suppress after BOUNCE_TRANSIENT_LIMIT.

-- Existing values keep their order (MySQL stores an ENUM by position); `bounced` comes last.
ALTER TABLE deliveries
  MODIFY state ENUM('pending', 'sent', 'delivered', 'undelivered', 'suppressed', 'dead_lettered', 'cancelled', 'bounced') NOT NULL,
  -- The bounce listener finds a delivery by its user (the VERP token names the user and a hash of the notification).
  ADD KEY deliveries_by_user (user_id, channel);

-- Addresses that bounced. `suppressed` is set by a permanent failure, or by BOUNCE_TRANSIENT_LIMIT transient
-- ones (`transient_count`); later deliveries to a suppressed address are recorded `suppressed` without a send.
-- Clear one by deleting its row (on the recipient's request, once the address works again).
CREATE TABLE email_suppressions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  address VARCHAR(320) NOT NULL,
  reason ENUM('permanent', 'transient') NOT NULL,
  status_code VARCHAR(16) NOT NULL,
  diagnostic TEXT NULL,
  transient_count INT UNSIGNED NOT NULL DEFAULT 0,
  suppressed BOOLEAN NOT NULL DEFAULT FALSE,
  first_seen_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  last_seen_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY email_suppressions_once (address)
);

-- Every report the bounce listener received, raw, with what came of it: `applied` (a delivery and address were
-- updated), `unmatched` (parsed, but no delivery of ours), `unparseable` (kept for a person to read).
CREATE TABLE inbound_reports (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  mail_from VARCHAR(320) NULL,
  rcpt_to VARCHAR(320) NOT NULL,
  outcome ENUM('applied', 'unmatched', 'unparseable') NOT NULL,
  detail TEXT NULL,
  delivery_id BIGINT UNSIGNED NULL,
  status_code VARCHAR(16) NULL,
  raw LONGBLOB NOT NULL,
  received_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY inbound_reports_by_outcome (outcome, received_at)
);
