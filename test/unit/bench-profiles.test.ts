import { describe, expect, it } from 'vitest';
import { argumentsWithoutProfile } from '../../bench/profiles.js';

describe('bench --profile', () => {
  it("passes every option but --profile on to each profile's run", () => {
    expect(argumentsWithoutProfile(['--profile', 'cluster', '--rates', '25,50', '--webhook-rates', ''])).toEqual([
      '--rates',
      '25,50',
      '--webhook-rates',
      '',
    ]);
    expect(argumentsWithoutProfile(['--duration', '60', '--profile=cluster'])).toEqual(['--duration', '60']);
  });
});
