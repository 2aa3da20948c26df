import { Heading, Text } from '@react-email/components';
import { Layout, textStyle } from './_components/layout.js';

export interface OrderEventFailedEmailProps {
  username: string;
  eventId: string;
  flowId: string;
  source: string;
  errorCode: string;
  errorDesc: string;
  year: number;
  /** The recipient's preference page (the footer's link). */
  preferencesUrl: string;
}

/** Seed 000's failure mail: which event failed, where it came from, and the error report summary. */
export function OrderEventFailedEmail({
  username,
  eventId,
  flowId,
  source,
  errorCode,
  errorDesc,
  year,
  preferencesUrl,
}: OrderEventFailedEmailProps) {
  return (
    <Layout preview={`Event ${eventId} failed: ${errorCode}`} year={year} preferencesUrl={preferencesUrl}>
      <Text style={textStyle}>Hi {username},</Text>
      <Text style={textStyle}>
        We regret to inform you that there was an issue processing your event with identifier {eventId} from {source}{' '}
        source for the workflow {flowId}.
      </Text>
      <Heading as="h2" style={{ ...textStyle, fontSize: '17px', fontWeight: 700 }}>
        Error Report Summary
      </Heading>
      <Text style={{ ...textStyle, fontFamily: 'Menlo, Consolas, monospace' }}>
        {errorCode}: {errorDesc}
      </Text>
    </Layout>
  );
}

OrderEventFailedEmail.PreviewProps = {
  username: 'ada',
  eventId: '10453',
  flowId: 'F1063',
  source: 'payment-gateway',
  errorCode: 'E402',
  errorDesc: 'Card declined by issuer',
  year: 2026,
  preferencesUrl: 'https://orderly.example.com/v1/preferences?token=preview',
} satisfies OrderEventFailedEmailProps;

export default OrderEventFailedEmail;
