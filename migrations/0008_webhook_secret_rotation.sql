-- Webhook secrets are stored sealed (AES-256-GCM, `v1:<key id>:<base64>`, see src/secrets.ts): longer values.
-- `npm run migrate` seals the rows still in the clear. A rotated secret stays valid until
-- previous_secret_expires_at: requests are signed with both meanwhile (Standard Webhooks allows several).
ALTER TABLE webhook_endpoints
  MODIFY secret VARCHAR(512) NOT NULL,
  ADD COLUMN previous_secret VARCHAR(512) NULL AFTER secret,
  ADD COLUMN previous_secret_expires_at DATETIME(6) NULL AFTER previous_secret;
