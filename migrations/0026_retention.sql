-- Issue 26: settled runs, chain rows and deliveries older than RETENTION_S are pruned in the background. The pruner
-- finds runs by when they settled, and whether a run is still the end of its order's chain.
ALTER TABLE notification_runs
  ADD KEY notification_runs_by_settled (settled_at);
ALTER TABLE notification_chain
  ADD KEY notification_chain_by_end (last_workflow_id);
ALTER TABLE inbound_reports
  ADD KEY inbound_reports_by_age (received_at);
ALTER TABLE push_sends
  ADD KEY push_sends_by_age (sent_at);
