// The smallest JavaScript plugin: one operation that reads and writes storage.
import { plugin, storage } from '../../sdk/js/backoffice.js';

export const handler = plugin({
  operations: {
    touch(input) {
      const count = (storage.get(input.key) ?? 0) + 1;
      storage.put(input.key, count);
      return { count };
    },
    // What the sandbox leaves a JavaScript plugin. StarlingMonkey keeps a fetch global
    // even when built without HTTP (-d http), but the component imports no wasi:http
    // or sockets, so no request can leave; there is no Node-style require or process
    // to open files with.
    reach() {
      let fetched;
      try {
        const pending = fetch('http://127.0.0.1:9/');
        pending.catch(() => {});
        fetched = 'returned a promise';
      } catch (e) {
        fetched = `threw: ${e}`;
      }
      const files = typeof require === 'function' || typeof process === 'object';
      return { fetch: fetched, files: files ? 'present' : 'absent' };
    },
  },
});
