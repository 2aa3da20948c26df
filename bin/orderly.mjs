#!/usr/bin/env node
// The `orderly` command: runs the TypeScript CLI through tsx, as every Orderly process does.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/orderly.ts');
