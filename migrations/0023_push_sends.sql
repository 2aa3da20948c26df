-- Issue 26: which devices a notification's push has reached, kept across retry rounds (each round is a new activity,
-- whose heartbeat starts empty): a device already reached is never sent the same push again.
CREATE TABLE push_sends (
  notification_id VARCHAR(255) NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  -- The push provider (web-push, fcm) that reached it: each provider's attempt reads its own.
  provider VARCHAR(32) NOT NULL,
  registration_id BIGINT UNSIGNED NOT NULL,
  provider_message_id VARCHAR(1024) NOT NULL,
  sent_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (notification_id, user_id, provider, registration_id)
);
