import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      'jt-smoothing': fileURLToPath(new URL('../jupyter_tracker/notebook/static/smoothing.js', import.meta.url))
    }
  },
  test: { include: ['test/**/*.test.ts'], environment: 'node', testTimeout: 30000 }
});
