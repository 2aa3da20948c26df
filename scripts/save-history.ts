/**
 * Saves a workflow's history as JSON for the replay test: `tsx scripts/save-history.ts <workflowId> <file> [runId]`
 * (the latest run unless a run id is given).
 * Save a new one whenever a workflow changes shape on purpose, and keep the old ones.
 */
import { writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { loadConfig } from '../src/config.js';

const [workflowId, file, runId] = process.argv.slice(2);
if (!workflowId || !file) {
  console.error('usage: tsx scripts/save-history.ts <workflowId> <file> [runId]');
  process.exit(2);
}
const config = loadConfig();
const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
const history = await new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }).workflow
  .getHandle(workflowId, runId)
  .fetchHistory();
writeFileSync(file, historyToJSON(history));
console.log(`saved ${history.events?.length ?? 0} events of ${workflowId} to ${file}`);
await connection.close();
