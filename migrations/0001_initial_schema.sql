-- The contract with the upstream system (customers, users, orders, order_events)
-- and Orderly's own record of what it did (subscriptions, deliveries, dead_letters).

CREATE TABLE customers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL
);

CREATE TABLE users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT UNSIGNED NOT NULL,
  username VARCHAR(255) NOT NULL,
  email VARCHAR(320) NULL,
  KEY users_by_customer (customer_id)
);

CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT UNSIGNED NOT NULL,
  state VARCHAR(64) NOT NULL DEFAULT 'open',
  KEY orders_by_customer (customer_id)
);

-- Written by the upstream system; captured by Debezium. No foreign keys on purpose:
-- an event for an unknown order must still be recorded and dead-lettered, not refused.
CREATE TABLE order_events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  flow_id VARCHAR(64) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  status ENUM('success', 'failure') NOT NULL,
  source VARCHAR(255) NOT NULL,
  execution_ms INT UNSIGNED NULL,
  error_code VARCHAR(64) NULL,
  error_desc MEDIUMTEXT NULL,
  occurred_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY order_events_by_order (order_id, id),
  KEY order_events_by_time (occurred_at)
);

-- Which user hears about which events, on which channel. flow_id NULL means every flow.
CREATE TABLE subscriptions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  flow_id VARCHAR(64) NULL,
  on_success BOOLEAN NOT NULL DEFAULT TRUE,
  on_failure BOOLEAN NOT NULL DEFAULT TRUE,
  channel VARCHAR(16) NOT NULL DEFAULT 'email',
  muted BOOLEAN NOT NULL DEFAULT FALSE,
  KEY subscriptions_by_user (user_id),
  CONSTRAINT subscriptions_channel CHECK (channel IN ('email'))
);

-- One row per event x recipient x channel: the full record of what happened to a notification.
CREATE TABLE deliveries (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT UNSIGNED NOT NULL,
  order_id BIGINT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  channel VARCHAR(16) NOT NULL,
  recipient VARCHAR(320) NULL,
  template VARCHAR(64) NULL,
  state ENUM('pending', 'delivered', 'suppressed', 'dead_lettered', 'cancelled') NOT NULL,
  reason VARCHAR(255) NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  provider_message_id VARCHAR(255) NULL,
  last_error TEXT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  delivered_at DATETIME(6) NULL,
  UNIQUE KEY deliveries_once (event_id, user_id, channel),
  KEY deliveries_by_order (order_id, event_id),
  KEY deliveries_by_state (state, updated_at)
);

-- Events that could not be notified at all (unknown order, unknown template) or whose delivery
-- was given up; the dead-letter workflow holds the same entries for operators to redrive.
CREATE TABLE dead_letters (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id BIGINT UNSIGNED NOT NULL,
  order_id BIGINT UNSIGNED NOT NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  -- 0 when the event as a whole could not be notified (unknown order), else the recipient.
  user_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
  channel VARCHAR(16) NULL,
  error_type VARCHAR(64) NOT NULL,
  message TEXT NOT NULL,
  attempts INT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY dead_letters_once (event_id, user_id, error_type),
  KEY dead_letters_by_order (order_id)
);
