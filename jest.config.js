/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/environment.js',
  transform: { '^.+\\.[tj]sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // ESM-only packages jest's module system cannot load as they are (the MP3 decoder the tests
  // listen with; the Strands SDK and its uuid): compiled to CommonJS like our sources.
  transformIgnorePatterns: ['/node_modules/(?!(mpg123-decoder|@wasm-audio-decoders|@strands-agents|uuid)/)'],
  // Dynamic imports name the compiled file (`./x.js`, as Node's ESM resolution wants); jest loads the TypeScript source.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/terraform/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
