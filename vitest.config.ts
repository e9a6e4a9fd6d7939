import { defineConfig } from 'vitest/config'

// Each workspace member with a vitest.config.ts is one project.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tests/vitest.config.ts'],
  },
})
