/** A history as `historyToJSON` writes it (and the replay fixtures hold it): event types by name. */
export interface HistoryJson {
  events?: { eventType?: string }[];
}
const eventTypePrefix = 'EVENT_TYPE_';

/** What one workflow execution cost Temporal, read from its history. */
export interface WorkflowCost {
  workflowTasks: number;
  historyEvents: number;
  /**
   * Billable actions, counted the way Temporal Cloud prices them: the start, each signal received or sent, each
   * timer, activity, child workflow and search-attribute upsert, and one per workflow task that ran local
   * activities (their markers).
   */
  actions: number;
}

const billedOnce = new Set([
  'WORKFLOW_EXECUTION_STARTED',
  'WORKFLOW_EXECUTION_SIGNALED',
  'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED',
  'TIMER_STARTED',
  'ACTIVITY_TASK_SCHEDULED',
  'START_CHILD_WORKFLOW_EXECUTION_INITIATED',
  'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
]);

/** Counts one history. */
export function costOf(history: HistoryJson): WorkflowCost {
  const types = (history.events ?? []).map((event) => (event.eventType ?? '').replace(eventTypePrefix, ''));
  let actions = 0;
  let markersSinceTask = false;
  for (const type of types) {
    if (billedOnce.has(type)) actions++;
    if (type === 'WORKFLOW_TASK_COMPLETED') markersSinceTask = false;
    if (type === 'MARKER_RECORDED' && !markersSinceTask) {
      actions++;
      markersSinceTask = true;
    }
  }
  return {
    workflowTasks: types.filter((t) => t === 'WORKFLOW_TASK_COMPLETED').length,
    historyEvents: types.length,
    actions,
  };
}

/** The mean cost over several executions, to one decimal. */
export function meanCost(costs: WorkflowCost[]): WorkflowCost {
  const mean = (pick: (c: WorkflowCost) => number) =>
    Math.round((costs.reduce((sum, c) => sum + pick(c), 0) / Math.max(1, costs.length)) * 10) / 10;
  return {
    workflowTasks: mean((c) => c.workflowTasks),
    historyEvents: mean((c) => c.historyEvents),
    actions: mean((c) => c.actions),
  };
}
