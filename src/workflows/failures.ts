import { ActivityFailure, TemporalFailure } from '@temporalio/workflow';

/**
 * What an activity failed with. A regular activity's failure arrives wrapped in an ActivityFailure; a local
 * activity's arrives as the failure itself (ApplicationFailure, TimeoutFailure...). Anything else is not an
 * activity's failure but a bug in workflow code: undefined.
 */
export function activityFailureCause(error: unknown): TemporalFailure | undefined {
  if (error instanceof ActivityFailure) return error.cause instanceof TemporalFailure ? error.cause : error;
  return error instanceof TemporalFailure ? error : undefined;
}
