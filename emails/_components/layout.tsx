import { Body, Container, Head, Heading, Hr, Html, Link, Preview, Section, Text } from '@react-email/components';
import type { ReactNode } from 'react';

export const supportAddress = 'event-queries@orderly.dev';

/** Orderly's look: the emails' frame, and the recipient's pages the API serves (src/api/pages/). */
export const brandStyles = {
  body: { backgroundColor: '#f4f5f7', fontFamily: 'Helvetica, Arial, sans-serif', margin: 0, padding: '24px 0' },
  container: { backgroundColor: '#ffffff', borderRadius: '8px', margin: '0 auto', maxWidth: '560px', padding: '32px' },
  brand: { color: '#1f6feb', fontSize: '22px', fontWeight: 700, letterSpacing: '0.5px', margin: '0 0 24px' },
  footer: { color: '#6b7280', fontSize: '12px', lineHeight: '18px' },
  link: { color: '#1f6feb' },
} as const;

export const textStyle = { color: '#1f2937', fontSize: '15px', lineHeight: '24px' } as const;

/**
 * Orderly's frame around every notification email: brand, preview line, support contact, the link to the
 * recipient's preference page and copyright.
 */
export function Layout({
  preview,
  year,
  preferencesUrl,
  children,
}: {
  preview: string;
  year: number;
  /** The recipient's preference page, with a token for them (see src/recipient-links.ts). */
  preferencesUrl: string;
  children: ReactNode;
}) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body style={brandStyles.body}>
        <Container style={brandStyles.container}>
          <Heading as="h1" style={brandStyles.brand}>
            Orderly
          </Heading>
          <Section>{children}</Section>
          <Hr />
          <Text style={brandStyles.footer}>
            If you have any questions about your event, contact us at {supportAddress}.
          </Text>
          <Text style={brandStyles.footer}>
            Choose which of these emails you receive:{' '}
            {/* No full stop after the link: the plain-text part ends the line with the URL, where it would stick. */}
            <Link href={preferencesUrl} style={brandStyles.link}>
              your notification preferences
            </Link>
          </Text>
          <Text style={brandStyles.footer}>© {year} Orderly. All rights reserved.</Text>
        </Container>
      </Body>
    </Html>
  );
}
