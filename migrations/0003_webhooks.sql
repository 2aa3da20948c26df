-- Webhooks (issue 4): customers register endpoints; a subscription on the 'webhook' channel names one.
-- Each endpoint's delivery policy is optional: NULL columns take the service's defaults (see README).

CREATE TABLE webhook_endpoints (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT UNSIGNED NOT NULL,
  url VARCHAR(2048) NOT NULL,
  -- Standard Webhooks secret: 'whsec_' followed by the base64 of 24 to 64 random bytes.
  secret VARCHAR(255) NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  disabled_reason VARCHAR(255) NULL,
  -- Seconds to wait before each retry, e.g. '[5, 30, 120]'; the last value repeats until max_age_s.
  retry_schedule_s JSON NULL,
  max_age_s INT UNSIGNED NULL,
  rate_limit_per_s INT UNSIGNED NULL,
  max_in_flight INT UNSIGNED NULL,
  circuit_failure_threshold INT UNSIGNED NULL,
  circuit_cooldown_s INT UNSIGNED NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY webhook_endpoints_by_customer (customer_id)
);

ALTER TABLE subscriptions
  ADD COLUMN endpoint_id BIGINT UNSIGNED NULL AFTER channel,
  DROP CONSTRAINT subscriptions_channel;
ALTER TABLE subscriptions
  ADD CONSTRAINT subscriptions_channel CHECK (channel IN ('email', 'webhook')),
  ADD CONSTRAINT subscriptions_webhook_endpoint CHECK ((channel = 'webhook') = (endpoint_id IS NOT NULL));

-- A user may subscribe several endpoints: a delivery is per notification x user x channel x endpoint (0 for email).
ALTER TABLE deliveries
  ADD COLUMN endpoint_id BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER channel,
  DROP INDEX deliveries_once,
  ADD UNIQUE KEY deliveries_once (notification_id, user_id, channel, endpoint_id);

ALTER TABLE dead_letters
  ADD COLUMN endpoint_id BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER channel,
  DROP INDEX dead_letters_once,
  ADD UNIQUE KEY dead_letters_once (notification_id, user_id, endpoint_id, error_type);
