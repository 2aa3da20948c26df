import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DeadLetter } from '../domain.js';
import { deadLetterSignal, deadLettersQuery } from './messages.js';

export interface DeadLettersState {
  entries: DeadLetter[];
}

/** The workflow keeps the newest entries for the Web UI; the `dead_letters` table keeps them all. */
const maxEntries = 2_000;

/** Entries recorded before notification ids existed carry only the event id. */
const entryKey = (entry: DeadLetter): string =>
  `${entry.notificationId ?? entry.eventId}/${entry.userId ?? '-'}/${entry.channel ?? '-'}/${entry.endpointId ?? '-'}`;

/**
 * One long-lived workflow (id `dead-letters`) collecting every notification that failed for good, so operators
 * can list them in one place. A repeated report of the same failure replaces the earlier one.
 */
export async function deadLettersWorkflow(state: DeadLettersState): Promise<void> {
  const entries = new Map(state.entries.map((entry) => [entryKey(entry), entry]));
  setHandler(deadLetterSignal, (entry) => {
    entries.delete(entryKey(entry));
    entries.set(entryKey(entry), entry);
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  });
  setHandler(deadLettersQuery, () => [...entries.values()]);

  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof deadLettersWorkflow>({ entries: [...entries.values()] });
}
