import { Text } from '@react-email/components';
import { Layout, textStyle } from './_components/layout.js';

export interface OrderCompletedEmailProps {
  username: string;
  orderId: string;
  flowId: string;
  /** The step whose success completed the order. */
  lastStep: string;
  year: number;
  /** The recipient's preference page (the footer's link). */
  preferencesUrl: string;
}

/** Seed 002's completion notification: every step of the order's flow has succeeded, told once. */
export function OrderCompletedEmail({
  username,
  orderId,
  flowId,
  lastStep,
  year,
  preferencesUrl,
}: OrderCompletedEmailProps) {
  return (
    <Layout preview={`Order ${orderId} is complete`} year={year} preferencesUrl={preferencesUrl}>
      <Text style={textStyle}>Hi {username},</Text>
      <Text style={textStyle}>
        We are pleased to inform you that order {orderId} is complete: every step of Workflow {flowId} has succeeded,
        the last one {lastStep}.
      </Text>
    </Layout>
  );
}

OrderCompletedEmail.PreviewProps = {
  username: 'ada',
  orderId: '42',
  flowId: 'F1063',
  lastStep: 'order.shipped',
  year: 2026,
  preferencesUrl: 'https://orderly.example.com/v1/preferences?token=preview',
} satisfies OrderCompletedEmailProps;

export default OrderCompletedEmail;
