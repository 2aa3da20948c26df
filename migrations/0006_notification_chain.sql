-- Each order's notifications form a chain: a notification workflow is started with the id of the order's
-- previous one and sends only once that one has settled. `notification_chain` is the end of each order's chain,
-- swapped atomically by whoever submits a notification (ingest, API, redrive, replay); `previous_workflow_id` is
-- what the end was before, so that a submitter retrying the same notification gets the same predecessor again.
CREATE TABLE notification_chain (
  order_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  last_workflow_id VARCHAR(200) NOT NULL,
  previous_workflow_id VARCHAR(200) NULL
);

-- One row per submitted notification, written before its workflow starts: which notification it waits for, and
-- when it settled (delivered, suppressed, cancelled or dead-lettered). A notification that settles wakes the
-- ones waiting for it (found by predecessor); one that starts after it finds it settled here.
CREATE TABLE notification_runs (
  workflow_id VARCHAR(200) NOT NULL PRIMARY KEY,
  predecessor_workflow_id VARCHAR(200) NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  settled_at DATETIME(6) NULL,
  KEY notification_runs_by_predecessor (predecessor_workflow_id)
);
