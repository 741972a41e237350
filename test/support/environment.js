// Jest's node environment, plus Node's own fetch dispatcher made visible inside the test
// sandbox. SDKs that look up `globalThis[Symbol.for('undici.globalDispatcher.1')]` (such as
// @google/genai) find it there in a plain Node process, but not in Jest's separate global.
const { TestEnvironment } = require('jest-environment-node');

const DISPATCHER = Symbol.for('undici.globalDispatcher.1');

class Story42Environment extends TestEnvironment {
  async setup() {
    await super.setup();
    new Headers(); // Node initialises its fetch machinery lazily.
    if (globalThis[DISPATCHER]) this.global[DISPATCHER] = globalThis[DISPATCHER];
  }
}

module.exports = Story42Environment;
