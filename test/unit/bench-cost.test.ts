import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type HistoryJson, costOf, meanCost } from '../../bench/cost.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/histories/${name}`, import.meta.url), 'utf8')) as HistoryJson;

describe("costOf (the benchmark's per-event Temporal cost)", () => {
  it('counts workflow tasks, events and billable actions of a saved notification history', () => {
    // Started; task 1: 2 markers (one action), 2 activities; task 2: a marker; task 3: a marker and an upsert.
    expect(costOf(fixture('notification-two-recipients.json'))).toEqual({
      workflowTasks: 3,
      historyEvents: 22,
      actions: 7,
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
