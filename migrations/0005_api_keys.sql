-- The HTTP API's keys (issue 5): stored as SHA-256 of the key (keys are 32 random bytes, so a fast hash is
-- enough); customer_id NULL is an operator (admin) key.
CREATE TABLE api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  key_hash CHAR(64) NOT NULL,
  customer_id BIGINT UNSIGNED NULL,
  name VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  revoked_at DATETIME(6) NULL,
  UNIQUE KEY api_keys_by_hash (key_hash)
);
