import { describe, expect, it } from 'vitest';
import { createBounceAddresses, notificationHashOf } from '../../src/bounce-address.js';

const key = (id: string, byte: number) => `${id}:${Buffer.alloc(32, byte).toString('base64')}`;

describe('bounce addresses (VERP)', () => {
  it('name the delivery, fit a local part, and read back only when signed by a listed key', () => {
    const id = `${'9'.repeat(20)}@${'x'.repeat(120)}`;
    const bounces = createBounceAddresses(key('k1', 1), 'bounces.example.com');
    const address = bounces.addressFor(id, '18446744073709551615');
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(address).toMatch(/^bounce\+[0-9a-z.]+@bounces\.example\.com$/);
    expect(bounces.read(address.toUpperCase())).toEqual({
      userId: '18446744073709551615',
      notificationHash: notificationHashOf(id),
    });
    // Rotation: a new first key still reads addresses signed with the old one.
    expect(createBounceAddresses(`${key('k2', 2)},${key('k1', 1)}`, 'bounces.example.com').read(address)).toBeDefined();
    expect(createBounceAddresses(key('k2', 2), 'bounces.example.com').read(address)).toBeUndefined();
    expect(bounces.read(address.replace('bounces.example.com', 'other.example.com'))).toBeUndefined();
    expect(bounces.read(address.replace(/\.\d/, '.7'))).toBeUndefined();
    expect(bounces.read('someone@bounces.example.com')).toBeUndefined();
  });
});
