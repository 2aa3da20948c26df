import { describe, expect, it } from 'vitest';
import { type OrderEvent, compactQueue, isEventRef, notificationRunKey } from '../../src/domain.js';
import { orderEvent } from '../support/order-event.js';

const event = (id: number, fields: Partial<OrderEvent> = {}): OrderEvent =>
  orderEvent({ eventId: String(id), notificationId: String(id), errorDesc: 'x'.repeat(1_000), ...fields });

describe('compactQueue (what an order workflow carries over continue-as-new)', () => {
  it('carries every event whole while they fit the budget', () => {
    const queue = [event(1), event(2)];
    expect(compactQueue(queue, 10_000)).toEqual(queue);
  });

  it('refers to the events past the budget by id, keeping order, status and rerun, so the input stays small', () => {
    const queue = Array.from({ length: 5_000 }, (_, i) =>
      event(
        i + 1,
        i === 4_000 ? { notificationId: '4001@mariadb-bin.000001:99:0', status: 'success', rerun: 'redrive-5' } : {},
      ),
    );
    const carried = compactQueue(queue, 512 * 1024);
    expect(carried.map((e) => e.eventId)).toEqual(queue.map((e) => e.eventId));
    expect(carried.map(notificationRunKey)).toEqual(queue.map(notificationRunKey));
    const whole = carried.filter((e) => !isEventRef(e)).length;
    expect(whole).toBeGreaterThan(400);
    expect(whole).toBeLessThan(520);
    expect(carried[4_000]).toEqual({
      ref: true,
      eventId: '4001',
      notificationId: '4001@mariadb-bin.000001:99:0',
      rerun: 'redrive-5',
      orderId: '7',
      customerId: '3',
      status: 'success',
    });
    expect(JSON.stringify(carried).length).toBeLessThan(1024 * 1024);
    expect(JSON.stringify(queue).length).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('never refers to a direct notification (event id 0): it has no row to re-read', () => {
    const direct = event(0, { notificationId: 'api-1' });
    expect(compactQueue([event(1), direct], 10)).toEqual([
      expect.objectContaining({ ref: true, eventId: '1' }),
      direct,
    ]);
  });

  it('leaves references as they are', () => {
    const ref = { ref: true as const, eventId: '9', orderId: '7', customerId: '3', status: 'success' as const };
    expect(compactQueue([ref], 0)).toEqual([ref]);
  });
});
