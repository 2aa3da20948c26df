import { Section, Text } from '@react-email/components';
import { Layout, textStyle } from './_components/layout.js';

/** One event of a digest, as its line reads. */
export interface DigestLine {
  eventId: string;
  orderId: string;
  flowId: string;
  eventType: string;
  /** "succeeded", "failed: E402 Card declined", or "completed the order". */
  outcome: string;
  occurredAt: string;
}

export interface OrderDigestEmailProps {
  username: string;
  lines: DigestLine[];
  year: number;
  /** The recipient's preference page (the footer's link). */
  preferencesUrl: string;
}

const lineStyle = { ...textStyle, margin: '0 0 8px' } as const;

/** A digest (issue 24): the events of one window in one mail, in the order they were collected. */
export function OrderDigestEmail({ username, lines, year, preferencesUrl }: OrderDigestEmailProps) {
  const count = `${lines.length} ${lines.length === 1 ? 'update' : 'updates'}`;
  return (
    <Layout preview={`${count} on your orders`} year={year} preferencesUrl={preferencesUrl}>
      <Text style={textStyle}>Hi {username},</Text>
      <Text style={textStyle}>
        Here are the {count} on your orders since the last summary, in the order they happened.
      </Text>
      <Section>
        {lines.map((line, index) => (
          <Text key={`${line.eventId}-${index}`} style={lineStyle}>
            {index + 1}. Order {line.orderId}, event {line.eventId} ({line.eventType}, workflow {line.flowId}):{' '}
            {line.outcome}, {line.occurredAt}
          </Text>
        ))}
      </Section>
    </Layout>
  );
}

OrderDigestEmail.PreviewProps = {
  username: 'ada',
  lines: [
    {
      eventId: '10452',
      orderId: '42',
      flowId: 'F1063',
      eventType: 'payment.captured',
      outcome: 'succeeded',
      occurredAt: '2026-12-07 09:14 UTC',
    },
    {
      eventId: '10453',
      orderId: '42',
      flowId: 'F1063',
      eventType: 'order.shipped',
      outcome: 'failed: E402 Card declined by issuer',
      occurredAt: '2026-12-07 09:20 UTC',
    },
  ],
  year: 2026,
  preferencesUrl: 'https://orderly.example.com/v1/preferences?token=preview',
} satisfies OrderDigestEmailProps;

export default OrderDigestEmail;
