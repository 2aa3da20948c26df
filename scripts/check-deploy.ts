/**
 * `npm run check:deploy`: the deployment files are checked without a cluster or a Prometheus server.
 * - The Helm chart (deploy/helm/orderly): `helm lint --strict`; `helm template` with its defaults and with a second
 *   shape (ci/*-values.yaml); every rendered manifest validated against Kubernetes' schemas (kubernetes-validate,
 *   strict: unknown fields fail) for the oldest and newest Kubernetes the chart is checked for; and its guards: an
 *   ingest with more replicas than partitions, or a secret in the ConfigMap, must fail to render.
 * - The alert rules (deploy/prometheus/alerts.yml): `promtool check rules`, `promtool test rules` on
 *   alerts.test.yml, and every alert having a test that expects it to fire.
 * helm and promtool are built from the Go module proxy, kubernetes-validate installed from PyPI, each once into
 * ~/.cache/orderly/ keyed by version. Prints one line per check; exits 1 if any failed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { helmBinary, kubernetesValidateVenv, promtoolBinary, repoRoot, versions } from '../stack/paths.js';
import { StackError, errorText, goBuildFlags, hasCommand, runCommand } from '../stack/process.js';

const chart = join(repoRoot, 'deploy/helm/orderly');
const alerts = join(repoRoot, 'deploy/prometheus/alerts.yml');
const alertTests = join(repoRoot, 'deploy/prometheus/alerts.test.yml');
/** The chart's minimum (Chart.yaml `kubeVersion`) and the newest kubernetes-validate knows. */
const kubeVersions = ['1.25.0', '1.37.0'];
/** Values of the two shapes rendered; ci/ is left out of the packaged chart (.helmignore). */
const shapes = {
  'defaults (chart-made Secret, HPAs, PDBs)': 'ci/default-values.yaml',
  'existing Secret, fixed replicas, autoscaled ingest': 'ci/existing-secret-values.yaml',
};
const secretKeys = [
  'MYSQL_PASSWORD',
  'SMTP_PASSWORD',
  'SECRETS_ENCRYPTION_KEYS',
  'PAYLOAD_ENCRYPTION_KEYS',
  'ERASURE_HASH_KEY',
  'LINK_SIGNING_KEYS',
  'TWILIO_AUTH_TOKEN',
  'VONAGE_API_SECRET',
  'VAPID_PRIVATE_KEY',
  'FCM_SERVICE_ACCOUNT_JSON',
];

let failed = false;
function report(ok: boolean, what: string, detail = ''): void {
  failed ||= !ok;
  console.log(`check-deploy: ${ok ? 'ok    ' : 'FAILED'} ${what}`);
  if (!ok && detail.trim()) console.log(detail.trim().replace(/^/gm, '    '));
}

/** Runs a tool; its status and all it printed. */
function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}` };
}

/** Builds a Go tool once into its versioned cache folder, saying so: the first run takes minutes. */
async function goBuild(name: string, binary: string, expect: string, args: string[]): Promise<void> {
  if (existsSync(binary)) return;
  if (!hasCommand('go')) throw new StackError(`${name}: the Go toolchain is missing; install Go to build ${name}.`);
  console.log(`check-deploy: building ${name} from source (first run only, ${expect})...`);
  const started = Date.now();
  await runCommand(name, `building ${name}`, 'go', args, { env: { GOBIN: dirname(binary), CGO_ENABLED: '0' } });
  console.log(`check-deploy: built ${name} in ${Math.round((Date.now() - started) / 1000)} s`);
}

async function provision(): Promise<void> {
  await goBuild('helm', helmBinary, 'about 3-4 minutes on 2 cores', [
    'install',
    ...goBuildFlags,
    `helm.sh/helm/v3/cmd/helm@v${versions.helm}`,
  ]);
  if (!existsSync(promtoolBinary)) {
    // Prometheus tags its Go module v0.<major><minor, two digits>.<patch> (3.5.0 is v0.305.0), and its go.mod has
    // replace and exclude directives, which `go install module@version` refuses: build in the module's own folder.
    const [major, minor, patch] = versions.prometheus.split('.').map(Number) as [number, number, number];
    const module = `github.com/prometheus/prometheus@v0.${major * 100 + minor}.${patch}`;
    const { Dir } = JSON.parse(execFileSync('go', ['mod', 'download', '-json', module], { encoding: 'utf8' })) as {
      Dir: string;
    };
    await goBuild('promtool', promtoolBinary, 'about 3-5 minutes on 2 cores', [
      '-C',
      Dir,
      'build',
      ...goBuildFlags,
      '-o',
      promtoolBinary,
      './cmd/promtool',
    ]);
  }
  const validator = join(kubernetesValidateVenv, 'bin', 'kubernetes-validate');
  if (!existsSync(validator)) {
    console.log(
      `check-deploy: installing kubernetes-validate ${versions.kubernetesValidate} from PyPI (first run only)...`,
    );
    execFileSync('python3', ['-m', 'venv', kubernetesValidateVenv], { stdio: 'inherit' });
    execFileSync(
      join(kubernetesValidateVenv, 'bin', 'pip'),
      ['install', '--quiet', `kubernetes-validate==${versions.kubernetesValidate}`],
      { stdio: 'inherit' },
    );
  }
}

/** The YAML documents of a rendered chart whose `kind` is the given one. */
const documentsOf = (manifests: string, kind: string): string[] =>
  manifests.split(/^---$/m).filter((document) => new RegExp(`^kind: ${kind}$`, 'm').test(document));

function checkChart(work: string): void {
  const helm = (args: string[]) => run(helmBinary, args);
  // Explicit: a helm built with `go install` lacks the release build's ldflags, so its default is Kubernetes 1.20,
  // below the chart's kubeVersion.
  const kube = ['--kube-version', kubeVersions[0]!];
  const lint = helm([
    'lint',
    '--strict',
    ...kube,
    chart,
    '-f',
    join(chart, shapes[Object.keys(shapes)[0]! as keyof typeof shapes]),
  ]);
  report(lint.ok, 'helm lint --strict deploy/helm/orderly', lint.output);

  for (const [shape, values] of Object.entries(shapes)) {
    const rendered = helm(['template', 'orderly', chart, ...kube, '-f', join(chart, values)]);
    report(rendered.ok, `helm template: ${shape}`, rendered.output);
    if (!rendered.ok) continue;
    const file = join(work, `${values.replace(/\W/g, '-')}.yaml`);
    writeFileSync(file, rendered.output);
    for (const kubeVersion of kubeVersions) {
      const validation = run(join(kubernetesValidateVenv, 'bin', 'kubernetes-validate'), [
        '--strict',
        '--quiet',
        '--kubernetes-version',
        kubeVersion,
        file,
      ]);
      // It exits 0 on some failures of documents it cannot place; its ERROR lines are the verdict.
      const ok = validation.ok && !/^ERROR/m.test(validation.output);
      report(ok, `  ${shape}: every manifest valid against Kubernetes ${kubeVersion}'s schemas`, validation.output);
    }
    const configMap = documentsOf(rendered.output, 'ConfigMap').join('\n');
    const leaked = secretKeys.filter((key) => new RegExp(`^\\s+${key}:`, 'm').test(configMap));
    const deployments = documentsOf(rendered.output, 'Deployment').length;
    report(
      leaked.length === 0 && /^\s+ORDERLY_ENV: production$/m.test(configMap) && deployments === 6,
      `  ${shape}: six Deployments, ORDERLY_ENV=production, no secret in the ConfigMap`,
      `Deployments: ${deployments}; secrets in the ConfigMap: ${leaked.join(', ') || 'none'}`,
    );
  }

  const defaults = join(chart, 'ci/default-values.yaml');
  const guards: [string, string[], RegExp][] = [
    [
      'ingest.replicas above kafka.partitions',
      ['--set', 'ingest.replicas=7'],
      /ingest\.replicas \(7\) exceeds kafka\.partitions \(6\)/,
    ],
    [
      'ingest autoscaling beyond kafka.partitions',
      ['--set', 'ingest.autoscaling.enabled=true', '--set', 'ingest.autoscaling.maxReplicas=8'],
      /ingest\.autoscaling\.maxReplicas \(8\) exceeds kafka\.partitions \(6\)/,
    ],
    ['a secret in config (the ConfigMap)', ['--set', 'config.SMTP_PASSWORD=x'], /config\.SMTP_PASSWORD is a secret/],
    [
      'no SECRETS_ENCRYPTION_KEYS',
      ['--set', 'secrets.SECRETS_ENCRYPTION_KEYS='],
      /SECRETS_ENCRYPTION_KEYS is required/,
    ],
    [
      'no PAYLOAD_ENCRYPTION_KEYS',
      ['--set', 'secrets.PAYLOAD_ENCRYPTION_KEYS='],
      /PAYLOAD_ENCRYPTION_KEYS is required/,
    ],
    ['no ERASURE_HASH_KEY', ['--set', 'secrets.ERASURE_HASH_KEY='], /ERASURE_HASH_KEY is required/],
    ['no LINK_SIGNING_KEYS', ['--set', 'secrets.LINK_SIGNING_KEYS='], /LINK_SIGNING_KEYS is required/],
  ];
  for (const [what, args, message] of guards) {
    const refused = helm(['template', 'orderly', chart, ...kube, '-f', defaults, ...args]);
    report(!refused.ok && message.test(refused.output), `helm template refuses ${what}`, refused.output);
  }
}

function checkAlerts(): void {
  const promtool = (args: string[]) => run(promtoolBinary, args);
  const check = promtool(['check', 'rules', alerts]);
  report(check.ok, 'promtool check rules deploy/prometheus/alerts.yml', check.output);
  const test = promtool(['test', 'rules', alertTests]);
  report(test.ok, 'promtool test rules deploy/prometheus/alerts.test.yml', test.output);
  // promtool passes a rule no test mentions: each alert must appear in a test that expects it to fire.
  const names = [...readFileSync(alerts, 'utf8').matchAll(/^\s+- alert: (\S+)$/gm)].map((match) => match[1]!);
  const firing = new Set(
    [...readFileSync(alertTests, 'utf8').matchAll(/alertname: (\S+)\n\s+exp_alerts:\n\s+- exp_labels/g)].map(
      (match) => match[1]!,
    ),
  );
  const untested = names.filter((name) => !firing.has(name));
  report(
    names.length > 0 && untested.length === 0,
    `each of the ${names.length} alerts has a test that expects it to fire`,
    `untested: ${untested.join(', ')}`,
  );
}

try {
  await provision();
} catch (error) {
  console.error(`check-deploy: ${errorText(error)}`);
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), 'orderly-check-deploy-'));
try {
  checkChart(work);
  checkAlerts();
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed) {
  console.error('check-deploy: some checks failed (above)');
  process.exitCode = 1;
}
