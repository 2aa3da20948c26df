-- Completion aggregation (issue 24, seed 002): a customer's flow may name the steps (event types) that complete an
-- order; when every one of them has succeeded, one "order complete" notification goes out, once, whatever order the
-- steps came in and however often each was reported.
CREATE TABLE flow_completions (
  customer_id BIGINT UNSIGNED NOT NULL,
  flow_id VARCHAR(64) NOT NULL,
  -- A JSON array of event types, e.g. ["order.placed", "payment.captured", "order.shipped"].
  steps JSON NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (customer_id, flow_id)
);

-- One row per completed order and flow: the notification of the step that completed it sends "order complete".
CREATE TABLE order_completions (
  order_id BIGINT UNSIGNED NOT NULL,
  flow_id VARCHAR(64) NOT NULL,
  notification_id VARCHAR(255) NOT NULL,
  completed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (order_id, flow_id)
);
