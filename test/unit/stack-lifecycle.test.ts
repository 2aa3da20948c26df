import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Component, ComponentName } from '../../stack/components/index.js';
import { forEachComponent } from '../../stack/lifecycle.js';
import { StackAborted, StackError } from '../../stack/process.js';

/** Only what the scheduler reads: a name and what it starts after. */
const fake = (name: ComponentName, after: ComponentName[] = []): Component =>
  ({ name, after }) as Partial<Component> as Component;

const stack = [
  fake('temporal'),
  fake('mariadb'),
  fake('kafka'),
  fake('debezium', ['kafka', 'mariadb']),
  fake('smtp-sink'),
];

describe('forEachComponent (how stack:up schedules components)', () => {
  it('starts every provisioning at once, and a start only after what it starts after is up', async () => {
    const log: string[] = [];
    const provisionMs: Partial<Record<ComponentName, number>> = { temporal: 80, kafka: 40, mariadb: 10 };
    await forEachComponent(stack, async (component, dependencies) => {
      log.push(`provision ${component.name}`);
      await sleep(provisionMs[component.name] ?? 0);
      await dependencies();
      log.push(`up ${component.name}`);
    });
    expect(log.slice(0, 5).sort()).toEqual(stack.map((c) => `provision ${c.name}`).sort());
    const up = log.filter((line) => line.startsWith('up ')).map((line) => line.slice(3));
    // Everything but Temporal is up while its slow provisioning (the Go build) still runs.
    expect(up.at(-1)).toBe('temporal');
    expect(up.indexOf('debezium')).toBeGreaterThan(up.indexOf('kafka'));
    expect(up.indexOf('debezium')).toBeGreaterThan(up.indexOf('mariadb'));
  });

  it('aborts the others on the first failure and throws that failure, not the aborts it caused', async () => {
    const failure = new StackError('kafka: fetching the jars failed (exit 1); see kafka-provision.log.');
    let debeziumStarted = false;
    const run = forEachComponent(stack, async (component, dependencies, signal) => {
      if (component.name === 'kafka') throw failure;
      if (component.name === 'temporal') {
        // A long build: it stops when told to.
        while (!signal.aborted) await sleep(5);
        throw new StackAborted('temporal: stopped because another component failed.');
      }
      await dependencies();
      if (component.name === 'debezium') debeziumStarted = true;
    });
    await expect(run).rejects.toBe(failure);
    expect(debeziumStarted).toBe(false);
  });
});
