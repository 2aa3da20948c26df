import { Body, Container, Head, Heading, Hr, Html, Preview, Section, Text } from '@react-email/components';
import type { ReactNode } from 'react';

export const supportAddress = 'event-queries@orderly.dev';

const styles = {
  body: { backgroundColor: '#f4f5f7', fontFamily: 'Helvetica, Arial, sans-serif', margin: 0, padding: '24px 0' },
  container: { backgroundColor: '#ffffff', borderRadius: '8px', margin: '0 auto', maxWidth: '560px', padding: '32px' },
  brand: { color: '#1f6feb', fontSize: '22px', fontWeight: 700, letterSpacing: '0.5px', margin: '0 0 24px' },
  footer: { color: '#6b7280', fontSize: '12px', lineHeight: '18px' },
} as const;

export const textStyle = { color: '#1f2937', fontSize: '15px', lineHeight: '24px' } as const;

/** Orderly's frame around every notification email: brand, preview line, support contact and copyright. */
export function Layout({ preview, year, children }: { preview: string; year: number; children: ReactNode }) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Heading as="h1" style={styles.brand}>
            Orderly
          </Heading>
          <Section>{children}</Section>
          <Hr />
          <Text style={styles.footer}>If you have any questions about your event, contact us at {supportAddress}.</Text>
          <Text style={styles.footer}>© {year} Orderly. All rights reserved.</Text>
        </Container>
      </Body>
    </Html>
  );
}
