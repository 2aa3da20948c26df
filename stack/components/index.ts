import type { StackSettings } from '../local-settings.js';
import type { StackDirs } from '../paths.js';
import type { Component, ComponentContext } from './component.js';
import { connectWorker } from './connect.js';
import { kafkaNode } from './kafka.js';
import { mariadb } from './mariadb.js';
import { postgresql } from './postgresql.js';
import { smtpSink } from './smtp-sink.js';
import { temporalServer } from './temporal-server.js';
import { temporalUi } from './temporal-ui.js';
import { temporal } from './temporal.js';

export type { Component, ComponentName } from './component.js';

/**
 * Every component of a profile; each names what it starts after, so this order is only the order of status lines.
 * The dev profile: the Temporal dev server, MariaDB, one Kafka broker, one Connect worker, the SMTP sink. The
 * cluster profile: PostgreSQL, the Temporal server and its UI, MariaDB, a Kafka broker per node, a Connect worker
 * per REST port, the SMTP sink.
 */
export function componentsOf(settings: StackSettings, dirs: StackDirs): Component[] {
  const context: ComponentContext = { settings, dirs };
  const temporals = settings.postgres
    ? [postgresql(context), temporalServer(context), temporalUi(context)]
    : [temporal(context)];
  return [
    ...temporals,
    mariadb(context),
    ...settings.kafkaNodes.map((node) => kafkaNode(context, node)),
    ...settings.connectPorts.map((_port, index) => connectWorker(context, index)),
    smtpSink(context),
  ];
}
