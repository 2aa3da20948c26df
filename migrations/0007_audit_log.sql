-- Every state-changing action of an operator or a customer (API or CLI): who, what, on what, when, and how it
-- ended. Written after the action, whatever its outcome; never updated.
CREATE TABLE audit_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  -- `api-key:<id>`, or `cli:<OS user>`.
  actor VARCHAR(255) NOT NULL,
  -- The customer whose key acted; NULL for operators. A customer's key reads only its own rows.
  customer_id BIGINT UNSIGNED NULL,
  action VARCHAR(128) NOT NULL,
  target VARCHAR(255) NOT NULL,
  -- `ok`, or what went wrong (`404: there is no event 42`).
  outcome VARCHAR(512) NOT NULL,
  KEY audit_log_by_customer (customer_id, id)
);
