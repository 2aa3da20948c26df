import { Text } from '@react-email/components';
import { Layout, textStyle } from './_components/layout.js';

export interface OrderEventSucceededEmailProps {
  username: string;
  eventId: string;
  /** Execution time in seconds, already formatted (for example "1.234"). */
  executionSeconds: string;
  flowId: string;
  source: string;
  year: number;
  /** The recipient's preference page (the footer's link). */
  preferencesUrl: string;
}

/** Seed 000's success mail: the event was processed, how long it took, its workflow and source. */
export function OrderEventSucceededEmail({
  username,
  eventId,
  executionSeconds,
  flowId,
  source,
  year,
  preferencesUrl,
}: OrderEventSucceededEmailProps) {
  return (
    <Layout preview={`Event ${eventId} was processed successfully`} year={year} preferencesUrl={preferencesUrl}>
      <Text style={textStyle}>Hi {username},</Text>
      <Text style={textStyle}>
        We are pleased to inform you that your recent event with identifier {eventId} was processed successfully in{' '}
        {executionSeconds} seconds.
      </Text>
      <Text style={textStyle}>
        Please note that this event was part of Workflow {flowId} and was sourced from {source}.
      </Text>
    </Layout>
  );
}

OrderEventSucceededEmail.PreviewProps = {
  username: 'ada',
  eventId: '10452',
  executionSeconds: '1.234',
  flowId: 'F1063',
  source: 'checkout-service',
  year: 2026,
  preferencesUrl: 'https://orderly.example.com/v1/preferences?token=preview',
} satisfies OrderEventSucceededEmailProps;

export default OrderEventSucceededEmail;
