-- Which order a notification run belongs to, so that one never started can be taken out of its order's chain
-- (its successors then follow its predecessor). NULL on runs recorded before.
ALTER TABLE notification_runs ADD COLUMN order_id BIGINT UNSIGNED NULL AFTER workflow_id;
