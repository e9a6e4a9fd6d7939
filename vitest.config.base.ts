import { defineConfig } from 'vitest/config'

/**
 * The one base config every package's vitest project extends.
 * Workspace imports resolve to `src/` through the `@epost/source` export condition,
 * so tests never need a build.
 */
export const SOURCE_CONDITION = '@epost/source'

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, 'import', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, 'import', 'node', 'default'], externalConditions: [SOURCE_CONDITION] } },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', '*.test.ts', '**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
