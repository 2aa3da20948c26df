-- What a webhook's direct first attempt (from the notification's own first attempt, on any workflow worker) needs to
-- know about its endpoint, shared by every worker process: whether its last attempts failed, its token bucket and the
-- direct attempts in flight. One row per endpoint, made on its first direct attempt; the endpoint's workflow keeps its
-- own circuit and bucket for what is handed to it, and its attempts update `consecutive_failures` and `tokens` here.
CREATE TABLE webhook_endpoint_state (
  endpoint_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  -- Attempts (direct or by the endpoint's workflow) that failed in a row; direct attempts go only while it is 0.
  consecutive_failures INT UNSIGNED NOT NULL DEFAULT 0,
  -- Token bucket: tokens as of tokens_at, refilled at the endpoint's rate when read.
  tokens DOUBLE NOT NULL,
  tokens_at DATETIME(3) NOT NULL,
  -- Direct attempts in flight; all of them have ended by in_flight_until (a worker that died mid-attempt leaks none).
  in_flight INT UNSIGNED NOT NULL DEFAULT 0,
  in_flight_until DATETIME(3) NULL,
  -- Direct attempts stand back until then: the endpoint's workflow was refused a token or slot, and what waits there
  -- goes first (else a steady stream of direct attempts could take every token while it waits).
  direct_paused_until DATETIME(3) NULL
);
