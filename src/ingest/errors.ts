/**
 * What the ingest fails with, kafkajs-style (a `name` each, one `retriable` flag). A Temporal outage is not here:
 * the ingest waits it out, holding the partition, and never gives up on the message.
 */

/** A message that can never become a notification: it goes to the dead-letter topic, not back to Kafka. */
export class MalformedChangeEvent extends Error {
  /** The same bytes will fail the same way: never worth another attempt. */
  readonly retriable = false;

  constructor(message: string) {
    super(message);
    this.name = 'MalformedChangeEvent';
  }
}
