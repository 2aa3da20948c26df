-- SMS and push. Where a user is reached on them is Orderly's to keep (the upstream `users` table has email
-- only); subscriptions gain the two channels; a delivery records which provider carried it and, for SMS,
-- the provider's receipt moves it from `sent` to `delivered` or `undelivered`.

-- One mobile number per user, E.164 (validated on the way in).
CREATE TABLE phone_numbers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  e164 VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY phone_numbers_per_user (user_id),
  KEY phone_numbers_by_customer (customer_id)
);

-- Any number of devices per user: Web Push subscriptions as browsers produce them, or FCM registration tokens.
-- A registration the push service reports gone (404/410, UNREGISTERED) is deleted; later events skip it.
CREATE TABLE push_registrations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  kind ENUM('web-push', 'fcm') NOT NULL,
  -- web-push: the push service URL and the browser's keys; fcm: the registration token.
  endpoint TEXT NULL,
  p256dh VARCHAR(128) NULL,
  auth VARCHAR(64) NULL,
  token TEXT NULL,
  -- SHA-256 of the endpoint or token: the same device registered twice is one row.
  address_hash CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY push_registrations_once (user_id, address_hash),
  KEY push_registrations_by_customer (customer_id),
  CONSTRAINT push_registrations_shape CHECK (
    (kind = 'web-push' AND endpoint IS NOT NULL AND p256dh IS NOT NULL AND auth IS NOT NULL AND token IS NULL)
    OR (kind = 'fcm' AND token IS NOT NULL AND endpoint IS NULL)
  )
);

ALTER TABLE subscriptions
  DROP CONSTRAINT subscriptions_channel;
ALTER TABLE subscriptions
  ADD CONSTRAINT subscriptions_channel CHECK (channel IN ('email', 'webhook', 'sms', 'push'));

ALTER TABLE deliveries
  MODIFY state ENUM('pending', 'sent', 'delivered', 'undelivered', 'suppressed', 'dead_lettered', 'cancelled') NOT NULL,
  ADD COLUMN provider VARCHAR(32) NULL AFTER channel,
  ADD KEY deliveries_by_provider_message (provider, provider_message_id);
