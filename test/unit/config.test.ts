import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      SMTP_PORT: 1025,
      MYSQL_DATABASE: 'orderly',
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ SMTP_PORT: 'twenty-five' })).toThrow(/^Invalid configuration: SMTP_PORT: /);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });

  it('gives SMS and push an hour of retry rounds unless PROVIDER_MAX_AGE_S says otherwise', () => {
    expect(loadConfig({}).PROVIDER_MAX_AGE_S).toBe(3600);
    expect(loadConfig({ PROVIDER_MAX_AGE_S: '600' }).PROVIDER_MAX_AGE_S).toBe(600);
    expect(() => loadConfig({ PROVIDER_MAX_AGE_S: '0' })).toThrow(/PROVIDER_MAX_AGE_S/);
  });

  it('splits a broker list', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'a:9092, b:9092' }).KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });
});
