import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runLanes } from '../../src/ingest/consumer.js';

describe('ingest lanes (issue 26)', () => {
  it('a failing lane stops the other lanes, and the batch fails only once none is still handing a message over', async () => {
    const started: string[] = [];
    const handled: string[] = [];
    let inFlight = 0;
    // a2 fails while b2 is being handed over; every message takes a while, so b would go on to b3 unless stopped.
    const handle = async (message: string) => {
      started.push(message);
      inFlight++;
      try {
        if (message === 'a2') {
          while (!started.includes('b2')) await sleep(1);
          throw new Error('the dead-letter topic refused a2');
        }
        await sleep(message === 'a1' ? 5 : 30);
        handled.push(message);
      } finally {
        inFlight--;
      }
    };
    const lanes = [
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'],
    ];
    const failure = await runLanes(lanes, handle).then(
      () => undefined,
      (error: unknown) => ({ error, inFlightAtFailure: inFlight }),
    );
    expect(failure?.error).toEqual(new Error('the dead-letter topic refused a2'));
    expect(failure?.inFlightAtFailure, 'no lane still runs when the batch is retried').toBe(0);
    await sleep(100);
    expect(handled.sort(), 'lane b stops after the message it was handing over').toEqual(['a1', 'b1', 'b2']);
  });

  it('runs every lane to its end when none fails, each in order', async () => {
    const handled: string[] = [];
    await runLanes(
      [
        ['a1', 'a2'],
        ['b1', 'b2', 'b3'],
      ],
      async (message) => {
        await sleep(message.startsWith('a') ? 15 : 5);
        handled.push(message);
      },
    );
    expect(handled.filter((m) => m.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(handled.filter((m) => m.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
  });
});
