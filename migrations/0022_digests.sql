-- Digests (issue 24): a subscription may collect its events into one message per window (email: one mail listing
-- them; webhook: one POST with an array), sent when the window closes or it holds max_items. A recipient may choose a
-- daily digest of a flow on email themselves (recipient_digests), whatever the subscription says.
ALTER TABLE subscriptions
  ADD COLUMN digest_window_s INT UNSIGNED NULL,
  ADD COLUMN digest_max_items INT UNSIGNED NULL;

CREATE TABLE recipient_digests (
  user_id BIGINT UNSIGNED NOT NULL,
  channel VARCHAR(16) NOT NULL,
  -- '*': every flow.
  flow_scope VARCHAR(64) NOT NULL,
  window_s INT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (user_id, channel, flow_scope)
);

-- One digest: one window of one recipient's digested events on one channel (and endpoint) and flow scope. At most one
-- is open per digest_key; its workflow (`digest:<id>`) sends it when it closes.
CREATE TABLE digests (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  digest_key VARCHAR(255) NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  channel VARCHAR(16) NOT NULL,
  endpoint_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
  state ENUM('open', 'closed', 'sending', 'delivered', 'dead_lettered', 'cancelled') NOT NULL DEFAULT 'open',
  items INT UNSIGNED NOT NULL DEFAULT 0,
  max_items INT UNSIGNED NOT NULL,
  opened_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  closes_at DATETIME(6) NOT NULL,
  settled_at DATETIME(6) NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  provider_message_id VARCHAR(255) NULL,
  -- Why it was cancelled or dead-lettered.
  reason VARCHAR(255) NULL,
  -- The send that claimed it (`sending`) and until when its claim holds.
  attempt_id CHAR(36) NULL,
  lease_until DATETIME(6) NULL,
  -- Only the open digest of a key has one: a second open digest of the same key cannot be inserted.
  open_key VARCHAR(255) AS (IF(state = 'open', digest_key, NULL)) STORED,
  UNIQUE KEY digests_one_open (open_key),
  KEY digests_by_customer (customer_id, id)
);

-- A digest's events, in the order they were collected: for each order, the order its events were committed in.
CREATE TABLE digest_items (
  digest_id BIGINT UNSIGNED NOT NULL,
  position INT UNSIGNED NOT NULL,
  notification_id VARCHAR(255) NOT NULL,
  template VARCHAR(64) NOT NULL,
  event JSON NOT NULL,
  PRIMARY KEY (digest_id, position),
  UNIQUE KEY digest_items_once (digest_id, notification_id)
);

-- `digested`: the event went into a digest (digest_id), which carries it. Last: MySQL stores an ENUM by position.
ALTER TABLE deliveries
  MODIFY state ENUM('pending', 'sent', 'delivered', 'undelivered', 'suppressed', 'dead_lettered', 'cancelled', 'bounced', 'sending', 'digested') NOT NULL,
  ADD COLUMN digest_id BIGINT UNSIGNED NULL;
