// The smallest JavaScript plugin: one operation that reads and writes storage.
import { plugin, storage } from '../../sdk/js/backoffice.js';

export const handler = plugin({
  operations: {
    touch(input) {
      const count = (storage.get(input.key) ?? 0) + 1;
      storage.put(input.key, count);
      return { count };
    },
    // What the sandbox leaves a JavaScript plugin: StarlingMonkey built without HTTP
    // (-d http) has no fetch, and no Node-style require/process to open files with.
    reach() {
      const files = typeof require === 'function' || typeof process === 'object';
      return { fetch: typeof fetch === 'function' ? 'present' : 'absent', files: files ? 'present' : 'absent' };
    },
  },
});
