import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers created in tests log state changes at INFO; only warnings are worth reading in test output.
Runtime.install({ logger: new DefaultLogger('WARN') });
