// The smallest JavaScript plugin: one operation that reads and writes storage.
import { plugin, storage } from '../../sdk/js/backoffice.js';

export const handler = plugin({
  operations: {
    touch(input) {
      const count = (storage.get(input.key) ?? 0) + 1;
      storage.put(input.key, count);
      return { count };
    },
    // What the sandbox leaves a JavaScript plugin: no Node-style require or process to
    // open files with. StarlingMonkey keeps a fetch global even when built without
    // HTTP (-d http), but the component imports no wasi:http or sockets: calling it
    // traps (see `fetch`), which ends the call and rolls it back.
    reach() {
      const files = typeof require === 'function' || typeof process === 'object';
      return { fetch: typeof fetch, files: files ? 'present' : 'absent' };
    },
    fetch(input) {
      fetch(input.url).catch(() => {});
      return { sent: true };
    },
  },
});
