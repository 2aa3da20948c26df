import type { StackDirs } from './paths.js';
import { runCommand } from './process.js';

/** Where the stack's progress lines go: `console.log` for the CLI and the demo, nothing for tests. */
export type Report = (line: string) => void;

/** One step of a component, as the user reads it: `<doing>...` when it starts, `<done> in N s` when it ends. */
export interface Step {
  /** Present tense, e.g. 'building the Temporal CLI v1.5.1 from source'. */
  doing: string;
  /** Past tense, e.g. 'built the Temporal CLI'. */
  done: string;
  /** For long steps, what to expect, e.g. 'first run only, about 3-6 minutes'; such steps also say they still run. */
  expect?: string;
  /**
   * Whether the step's command may be stopped halfway when another component fails: only for those whose result
   * appears whole or not at all (a `go install`, a download renamed when complete), never apt-get or a data dir.
   */
  abortable?: boolean;
}

/** A long step says it is still at work this often, so a silent minute never looks like a hang. */
const heartbeatMs = 60_000;

/** Runs the steps of one component, each telling when it starts and how long it took. */
export class Steps {
  constructor(
    readonly component: string,
    /** The folders of the profile the component belongs to: provisioning logs go there. */
    readonly dirs: StackDirs,
    readonly report: Report,
    /** Aborted when another component failed: long commands stop instead of running on for minutes. */
    readonly signal: AbortSignal,
    private readonly quiet = false,
  ) {}

  /** The same, but steps say nothing (`say` still does): for configuring a component that was already running. */
  quietly(): Steps {
    return new Steps(this.component, this.dirs, this.report, this.signal, true);
  }

  /** A line of its own, said even when quiet: news such as a migration applied. */
  say(text: string): void {
    this.report(`${this.component}: ${text}`);
  }

  async run<T>(step: Step, work: () => Promise<T>): Promise<T> {
    if (this.quiet) return work();
    const started = Date.now();
    const elapsed = (): number => (Date.now() - started) / 1000;
    this.say(`${step.doing}${step.expect ? ` (${step.expect})` : ''}...`);
    const heartbeat =
      step.expect === undefined
        ? undefined
        : setInterval(() => this.say(`still ${step.doing} (${Math.round(elapsed())} s so far)`), heartbeatMs);
    try {
      const result = await work();
      const seconds = elapsed();
      this.say(`${step.done} in ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`);
      return result;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Runs a command as a step; its output goes to `<component>-provision.log`, named in the error if it fails. */
  command(step: Step, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
    const signal = step.abortable ? this.signal : undefined;
    return this.run(step, () =>
      runCommand(this.component, step.doing, command, args, { env, signal, dirs: this.dirs }),
    );
  }
}
