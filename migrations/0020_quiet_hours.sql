-- Quiet hours (issue 24): a user's window, in their time zone, in which notifications on some channels wait until
-- it ends (the order's next notifications wait behind them). One window per user; failures may go through.
CREATE TABLE quiet_hours (
  user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer_id BIGINT UNSIGNED NOT NULL,
  -- An IANA time zone, e.g. 'Europe/Paris'.
  time_zone VARCHAR(64) NOT NULL,
  -- Local 'HH:MM', start inclusive, end exclusive; a start after the end spans midnight (22:00 to 07:00).
  starts_at CHAR(5) NOT NULL,
  ends_at CHAR(5) NOT NULL,
  channels SET('email', 'sms', 'push', 'webhook') NOT NULL DEFAULT 'sms,push',
  -- Failure notifications go out even in the window.
  failures_exempt BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY quiet_hours_by_customer (customer_id)
);
