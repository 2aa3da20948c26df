import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type HistoryJson, costOf, meanCost } from '../../bench/cost.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/histories/${name}`, import.meta.url), 'utf8')) as HistoryJson;

describe("costOf (the benchmark's per-event Temporal cost)", () => {
  it('counts workflow tasks, events and billable actions of a saved notification history', () => {
    // Started; task 1: a marker (one action) and an activity; task 2: two markers (one action) and an upsert.
    expect(costOf(fixture('event-notification-retried-durably.json'))).toEqual({
      workflowTasks: 2,
      historyEvents: 15,
      actions: 5,
    });
  });

  it('averages several executions', () => {
    const costs = [
      { workflowTasks: 1, historyEvents: 7, actions: 3 },
      { workflowTasks: 2, historyEvents: 10, actions: 4 },
    ];
    expect(meanCost(costs)).toEqual({ workflowTasks: 1.5, historyEvents: 8.5, actions: 3.5 });
  });
});
