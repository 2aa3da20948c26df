import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failures with their messages and stack traces encrypted by the payload codec (`encodeCommonAttributes`): an SMTP
 * server's refusal quotes the address it refused. A module of its own: workers load it by path, into the workflow
 * sandbox too.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
