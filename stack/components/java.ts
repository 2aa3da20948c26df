import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type StackDirs, debeziumPlugins, kafkaLibs, repoRoot, versions } from '../paths.js';
import { StackError, hasCommand, runCommand } from '../process.js';
import type { Step, Steps } from '../steps.js';

const log4jConfig = (dirs: StackDirs): string => join(dirs.run, 'log4j.properties');
const pom = join(repoRoot, 'stack', 'maven', 'pom.xml');

/** Kafka and Connect log through reload4j; INFO to stdout, which the stack sends to their log files. */
export function writeLog4jConfig(dirs: StackDirs): void {
  mkdirSync(dirs.run, { recursive: true });
  writeFileSync(
    log4jConfig(dirs),
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.org.apache.kafka.clients=WARN',
      'log4j.logger.org.reflections=ERROR',
      '',
    ].join('\n'),
  );
}

export function javaArgs(dirs: StackDirs, heap: string, mainClass: string, ...args: string[]): string[] {
  return [
    `-Xmx${heap}`,
    `-Dlog4j.configuration=file:${log4jConfig(dirs)}`,
    '-cp',
    `${kafkaLibs}/*`,
    mainClass,
    ...args,
  ];
}

/**
 * Kafka and Connect both wait on the same download, and the two Maven runs share ~/.m2, which Maven 3.8 does not
 * lock: one run at a time, whoever asks first. Forgotten once settled, so a failed download is tried again.
 */
const pending = new Map<'kafka' | 'debezium', Promise<void>>();

function once(key: 'kafka' | 'debezium', work: () => Promise<void>): Promise<void> {
  let promise = pending.get(key);
  if (promise === undefined) {
    promise = work().finally(() => pending.delete(key));
    pending.set(key, promise);
  }
  return promise;
}

/**
 * Runs Maven into `<folder>.partial`, renamed to `folder` only when complete: an interrupted run never counts, so
 * it may be stopped when another component fails.
 */
function fetchThenRename(steps: Steps, step: Step, goal: string[], folder: string): Promise<void> {
  const partial = `${folder}.partial`;
  return steps.run(step, async () => {
    await runCommand(
      steps.component,
      step.doing,
      'mvn',
      ['-q', '-B', '-f', pom, ...goal, `-DoutputDirectory=${partial}`],
      { signal: steps.signal, dirs: steps.dirs },
    );
    renameSync(partial, folder);
  });
}

function requireJava(steps: Steps): void {
  if (!hasCommand('java'))
    throw new StackError(`${steps.component}: Java is missing; install OpenJDK 17 to run Kafka and Debezium.`);
  if (!hasCommand('mvn'))
    throw new StackError(
      `${steps.component}: Maven is missing; install it to fetch the Kafka and Debezium jars from Maven Central.`,
    );
}

/** The Kafka broker and Connect runtime jars, from Maven Central into the version-keyed cache. */
export function provisionKafkaJars(steps: Steps): Promise<void> {
  if (existsSync(kafkaLibs)) return Promise.resolve();
  requireJava(steps);
  return once('kafka', async () => {
    await fetchThenRename(
      steps,
      {
        doing: `fetching Kafka ${versions.kafka} and Kafka Connect jars from Maven Central`,
        done: 'fetched the Kafka jars',
        expect: 'first run only, about 20-60 s',
      },
      ['org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies', '-DincludeScope=runtime'],
      kafkaLibs,
    );
  });
}

/** The Debezium MariaDB connector plugin; after the Kafka jars, since both Maven runs share ~/.m2. */
export function provisionDebeziumPlugin(steps: Steps): Promise<void> {
  if (existsSync(debeziumPlugins)) return Promise.resolve();
  requireJava(steps);
  return once('debezium', async () => {
    await provisionKafkaJars(steps);
    await fetchThenRename(
      steps,
      {
        doing: `fetching the Debezium MariaDB connector ${versions.debezium} from Maven Central`,
        done: 'fetched the Debezium connector',
        expect: 'first run only, about 10-30 s',
      },
      [
        'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:unpack',
        `-Dartifact=io.debezium:debezium-connector-mariadb:${versions.debezium}:tar.gz:plugin`,
      ],
      debeziumPlugins,
    );
  });
}
