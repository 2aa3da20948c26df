import type { Component } from './component.js';
import { connect } from './connect.js';
import { kafka } from './kafka.js';
import { mariadb } from './mariadb.js';
import { smtpSink } from './smtp-sink.js';
import { temporal } from './temporal.js';

export type { Component, ComponentName } from './component.js';

/** Every component; each names what it starts after, so this order is only the order of status lines. */
export const components: Component[] = [temporal, mariadb, kafka, connect, smtpSink];
