-- Issue 26: the suppression list is one row per address, across tenants; its diagnostic is what the last bounce's
-- receiving server said about one tenant's mail. The customer whose mail that was: only its key sees the diagnostic.
ALTER TABLE email_suppressions
  ADD COLUMN last_customer_id BIGINT UNSIGNED NULL;
