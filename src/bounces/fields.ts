/**
 * The field groups of a report part (`message/delivery-status`, `message/feedback-report`): header-like
 * `Name: value` lines, folded lines joined, groups separated by blank lines. Names are lower-cased; within a group
 * the last of a repeated field wins.
 */
export function fieldGroups(body: string): Map<string, string>[] {
  return (
    body
      .replace(/\r\n/g, '\n')
      // Folded lines continue the field above.
      .replace(/\n[ \t]+/g, ' ')
      .split(/\n\s*\n/)
      .map((group) => {
        const fields = new Map<string, string>();
        for (const line of group.split('\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        return fields;
      })
  );
}
