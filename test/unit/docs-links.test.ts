import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import { lexer, type Token, walkTokens } from 'marked';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
const documents = ['README.md', ...readdirSync(join(repoRoot, 'docs')).map((name) => join('docs', name))].filter(
  (path) => path.endsWith('.md'),
);

function tokensOf(path: string): Token[] {
  const tokens = lexer(readFileSync(join(repoRoot, path), 'utf8'));
  const all: Token[] = [];
  // The callback is synchronous; walkTokens returns its (here empty) results.
  void walkTokens(tokens, (token) => {
    all.push(token);
  });
  return all;
}

/** The anchors GitHub gives a document's headings. */
function anchorsOf(path: string): Set<string> {
  const slugger = new GithubSlugger();
  return new Set(
    tokensOf(path)
      .filter((token) => token.type === 'heading')
      .map((token) => slugger.slug((token as { text: string }).text.replace(/`/g, ''))),
  );
}

/** Repository paths written in code spans (`src/config.ts`, `test/support/`): docs name files that exist. */
const repoPath = /^(src|test|scripts|stack|bench|docs|migrations|emails|docker|deploy)\/[\w./-]*$/;

describe.each(documents)('%s', (document) => {
  const tokens = tokensOf(document);

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const token of tokens) {
      if (token.type !== 'link') continue;
      const href = (token as { href: string }).href;
      if (/^(https?|mailto):/.test(href)) continue;
      const [file, anchor] = href.split('#');
      const target = file ? relative(repoRoot, resolve(dirname(join(repoRoot, document)), file)) : document;
      if (!existsSync(join(repoRoot, target))) broken.push(`${href} (no file ${target})`);
      else if (anchor && target.endsWith('.md') && !anchorsOf(target).has(anchor))
        broken.push(`${href} (no heading #${anchor} in ${target})`);
    }
    expect(broken).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const missing = tokens
      .filter((token) => token.type === 'codespan')
      .map((token) => (token as { text: string }).text)
      .filter((text) => repoPath.test(text) && !text.includes('<') && !existsSync(join(repoRoot, text)));
    expect(missing).toEqual([]);
  });
});

describe('README.md', () => {
  it('stays a first screen: under 10 KB, the rest in docs/', () => {
    expect(readFileSync(join(repoRoot, 'README.md')).length).toBeLessThan(10 * 1024);
  });
});
