import type { SearchAttributeType } from '@temporalio/common';
import { searchAttributeList } from '../src/search-attributes.js';

const cliTypeNames = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
} as const satisfies Record<SearchAttributeType, string>;

/** Fixed addresses and credentials of the local stack; src/config.ts defaults point at the same ones. */
export const local = {
  temporalPort: 7233,
  temporalUiPort: 8233,
  temporalAddress: '127.0.0.1:7233',
  /** Those of src/search-attributes.ts, each with its type as the `temporal` CLI spells it. */
  searchAttributes: searchAttributeList.map(({ name, type }) => ({ name, type, cliType: cliTypeNames[type] })),
  mysqlPort: 3306,
  mysqlDatabase: 'orderly',
  mysqlUser: 'orderly',
  mysqlPassword: 'orderly',
  cdcUser: 'debezium',
  cdcPassword: 'debezium',
  get mysqlConnection() {
    return {
      host: '127.0.0.1',
      port: this.mysqlPort,
      user: this.mysqlUser,
      password: this.mysqlPassword,
      database: this.mysqlDatabase,
    };
  },
  kafkaPort: 9092,
  kafkaControllerPort: 9093,
  kafkaBroker: '127.0.0.1:9092',
  kafkaPartitions: 6,
  /** Largest Kafka record: order_events.error_desc is MEDIUMTEXT, so a change event can be megabytes. */
  maxMessageBytes: 16 * 1024 * 1024,
  connectPort: 8083,
  eventsTopic: 'cdc.orderly.order_events',
  deadLetterTopic: 'orderly.ingest.dead-letters',
  smtpPort: 1025,
  mailUiPort: 1080,
};

export const connectorName = 'orderly-order-events';

/**
 * Keys and values as plain JSON: the ingest reads {"order_id":...} keys and Debezium envelopes. Set on the local
 * Connect worker, and on the connector in docker/connector.json (scripts/check-compose.ts checks they agree).
 */
export const jsonConverters = {
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'key.converter.schemas.enable': 'false',
  'value.converter.schemas.enable': 'false',
};

/**
 * The Debezium connector capturing order_events; docker/connector.json is its MySQL 8 twin for docker-compose, and
 * scripts/check-compose.ts checks every setting they share is equal.
 */
export const connectorConfig = {
  'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
  'tasks.max': '1',
  'database.hostname': '127.0.0.1',
  'database.port': String(local.mysqlPort),
  'database.user': local.cdcUser,
  'database.password': local.cdcPassword,
  'database.server.id': '5401',
  'database.ssl.mode': 'disable',
  'topic.prefix': 'cdc',
  'database.include.list': local.mysqlDatabase,
  'table.include.list': `${local.mysqlDatabase}.order_events`,
  // Key by order, not by event id: all events of one order land on one partition, in commit order.
  'message.key.columns': `${local.mysqlDatabase}.order_events:order_id`,
  // A new connector starts at the current binlog position: old rows are never re-published as notifications.
  'snapshot.mode': 'no_data',
  'schema.history.internal.kafka.bootstrap.servers': local.kafkaBroker,
  'schema.history.internal.kafka.topic': 'cdc.schema-history',
  'include.schema.changes': 'false',
  // Default 500 ms; the binlog reader hands rows over at most this late.
  'poll.interval.ms': '20',
  'max.batch.size': '2048',
  'topic.creation.default.replication.factor': '1',
  'topic.creation.default.partitions': String(local.kafkaPartitions),
};
