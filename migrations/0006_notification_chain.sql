-- Each order's notifications form a chain: every notification workflow is started with the id of the order's
-- previous one and waits for it to settle. This row is the end of the chain, swapped atomically by whoever
-- submits a notification (ingest, API, redrive, replay). `previous_*` is what `last_*` replaced, so that a
-- submitter retrying the same notification gets the same predecessor again.
CREATE TABLE notification_chain (
  order_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  last_workflow_id VARCHAR(200) NOT NULL,
  -- When it was submitted (epoch ms, the submitter's clock).
  last_submitted_ms BIGINT NOT NULL,
  previous_workflow_id VARCHAR(200) NULL,
  previous_submitted_ms BIGINT NULL
);
