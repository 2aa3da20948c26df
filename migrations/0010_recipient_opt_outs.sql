-- The recipient's own choices, apart from the customer-managed `subscriptions`: what a user turned off
-- themselves (a one-click unsubscribe now; a preference page or a spam complaint later). A matching row
-- suppresses the user's delivery whatever the subscriptions say. flow_id NULL means every flow; status
-- 'both' means success and failure. One row per scope, so unsubscribing twice changes nothing.
CREATE TABLE recipient_opt_outs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  channel VARCHAR(16) NOT NULL,
  flow_id VARCHAR(64) NULL,
  status ENUM('success', 'failure', 'both') NOT NULL,
  source ENUM('one-click', 'preferences', 'complaint') NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  -- NULL never collides in a unique key, so every-flow rows are keyed by '*'.
  flow_scope VARCHAR(64) AS (COALESCE(flow_id, '*')) STORED,
  UNIQUE KEY recipient_opt_outs_once (user_id, channel, flow_scope, status)
);
