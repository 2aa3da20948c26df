-- Issue 26: a recipient's personal data can be erased on request (`orderly recipients erase`). The user row stays (the
-- upstream system owns it, and the ledger's rows name it) with its address and name gone and the day it was erased:
-- any later event for it is suppressed with that reason, even if the upstream writes the address back.
ALTER TABLE users
  ADD COLUMN erased_at DATETIME(6) NULL;

-- An erased address that was on the suppression list stays on it as a keyed hash (HMAC-SHA256 under ERASURE_HASH_KEY,
-- of the lower-cased address) with its address gone: a user who has that address later is still not mailed.
ALTER TABLE email_suppressions
  MODIFY address VARCHAR(320) NULL,
  ADD COLUMN address_hash CHAR(64) NULL,
  ADD UNIQUE KEY email_suppressions_by_hash (address_hash);
