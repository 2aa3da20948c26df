-- The content of each webhook delivery (its event and template), stored once when the delivery is handed to its
-- endpoint's workflow: that workflow's history and the state it carries over continue-as-new name messages, never
-- events, so a backlog of thousands stays far under Temporal's payload limits and recipients' data stays here.
CREATE TABLE webhook_messages (
  message_id VARCHAR(255) NOT NULL PRIMARY KEY,
  endpoint_id BIGINT UNSIGNED NOT NULL,
  notification_id VARCHAR(255) NOT NULL,
  template VARCHAR(64) NOT NULL,
  event JSON NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY webhook_messages_by_age (created_at)
);
