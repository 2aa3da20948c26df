import { describe, expect, it } from 'vitest';
import { classifySmtpError } from '../../src/activities/email.js';

const smtpError = (responseCode: number, response: string) =>
  Object.assign(new Error(response), { responseCode, response, code: 'EENVELOPE' });

describe('classifySmtpError', () => {
  it('makes 5xx replies permanent', () => {
    const failure = classifySmtpError(smtpError(550, '550 5.1.1 no such user'), 2);
    expect(failure).toMatchObject({ type: 'SmtpPermanentFailure', nonRetryable: true, details: [{ attempts: 2 }] });
    expect(failure.message).toContain('550 5.1.1 no such user');
  });

  it('retries 4xx replies and connection errors', () => {
    expect(classifySmtpError(smtpError(451, '451 4.3.0 try later'), 1)).toMatchObject({
      type: 'SmtpTransientFailure',
      nonRetryable: false,
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1025'), { code: 'ESOCKET' });
    expect(classifySmtpError(refused, 3)).toMatchObject({
      type: 'ESOCKET',
      nonRetryable: false,
      details: [{ attempts: 3 }],
    });
  });
});
