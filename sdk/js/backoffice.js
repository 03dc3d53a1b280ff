/**
 * Helpers for backoffice plugins written in JavaScript and built with componentize-js.
 *
 * A plugin module registers its operations and exports the handler the host calls:
 *
 *     import { plugin, storage, InvalidInput } from '../../sdk/js/backoffice.js';
 *
 *     export const handler = plugin({
 *       operations: {
 *         greet(input) {
 *           if (!input.name) throw new InvalidInput("'name' is required, for example {\"name\": \"Ann\"}");
 *           storage.put(`greeted/${input.name}`, true);
 *           return { greeting: `Hello, ${input.name}` };
 *         },
 *       },
 *     });
 *
 * Operations take the parsed JSON input and return a JSON-serialisable value. Throwing a
 * `PluginError` subclass returns that error to the caller; any other exception becomes an
 * `internal` error (logged with its message), and the call rolls back either way.
 *
 * The WIT imports are bound by componentize-js under their interface names
 * (`backoffice:host/storage@0.1.0`, ...): functions take camelCase names, records are
 * objects, `option<T>` is `T | undefined`, `list<u8>` a `Uint8Array`, `s64` a `BigInt`, and
 * an import returning `result<_, error>` throws on `err` with the variant in `payload`.
 */

import * as rawStorage from 'backoffice:host/storage@0.1.0';
import * as rawContext from 'backoffice:host/context@0.1.0';
import * as rawEvents from 'backoffice:host/events@0.1.0';
import * as rawPlugins from 'backoffice:host/plugins@0.1.0';
import * as rawLog from 'backoffice:host/log@0.1.0';

// --- errors ------------------------------------------------------------------

/**
 * An expected failure; `message` should say how to fix the problem. `tag` is the case of
 * the WIT `error` variant; `val` and `payload` are what componentize-js lowers.
 */
export class PluginError extends Error {
  /** @param {string} message @param {string} [tag] */
  constructor(message, tag = 'internal') {
    super(message);
    this.name = 'PluginError';
    this.tag = tag;
    this.val = message;
    this.payload = { tag, val: message };
  }
}

/** The input is malformed or breaks a business rule (HTTP 400, exit code 2). */
export class InvalidInput extends PluginError {
  /** @param {string} message */
  constructor(message) {
    super(message, 'invalid-input');
    this.name = 'InvalidInput';
  }
}

/** A record the call refers to does not exist (HTTP 404, exit code 3). */
export class NotFound extends PluginError {
  /** @param {string} message */
  constructor(message) {
    super(message, 'not-found');
    this.name = 'NotFound';
  }
}

/** The call conflicts with the current state (HTTP 409, exit code 4). */
export class Conflict extends PluginError {
  /** @param {string} message */
  constructor(message) {
    super(message, 'conflict');
    this.name = 'Conflict';
  }
}

/** The caller lacks a permission or the plugin a capability (HTTP 403). */
export class Forbidden extends PluginError {
  /** @param {string} message */
  constructor(message) {
    super(message, 'forbidden');
    this.name = 'Forbidden';
  }
}

/** Something went wrong that the caller cannot fix (HTTP 500). */
export class Internal extends PluginError {
  /** @param {string} message */
  constructor(message) {
    super(message, 'internal');
    this.name = 'Internal';
  }
}

const BY_TAG = {
  'invalid-input': InvalidInput,
  'not-found': NotFound,
  conflict: Conflict,
  forbidden: Forbidden,
  internal: Internal,
};

/**
 * The `PluginError` for what a host import threw (its `payload` is the WIT variant).
 * @param {any} e
 * @returns {PluginError}
 */
export function fromHost(e) {
  if (e instanceof PluginError) return e;
  const variant = e && typeof e === 'object' && 'payload' in e ? e.payload : e;
  if (variant && typeof variant === 'object' && typeof variant.tag === 'string') {
    const Kind = BY_TAG[variant.tag];
    if (Kind) return new Kind(String(variant.val));
    return new PluginError(String(variant.val), variant.tag);
  }
  return new Internal(String(e));
}

function host(f) {
  try {
    return f();
  } catch (e) {
    throw fromHost(e);
  }
}

// --- storage -----------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Entries fetched per host call while scanning (the host caps a page at 1000). */
export const PAGE = 500;

/**
 * The plugin's transactional key-value storage with JSON values. Keys are strings (at most
 * 512 bytes) ordered by their UTF-8 bytes. Needs the `storage` capability.
 */
export const storage = {
  /**
   * The value stored at `key`, or `undefined` when the key is absent.
   * @param {string} key
   * @returns {any}
   */
  get(key) {
    const raw = host(() => rawStorage.get(key));
    return raw === undefined || raw === null ? undefined : JSON.parse(decoder.decode(raw));
  },

  /**
   * Store `value` (JSON-encoded) at `key`, replacing any previous value.
   * @param {string} key
   * @param {any} value
   */
  put(key, value) {
    if (value === undefined) throw new Internal(`storage.put('${key}'): the value is undefined`);
    host(() => rawStorage.put(key, encoder.encode(JSON.stringify(value))));
  },

  /**
   * Delete `key`; whether it existed.
   * @param {string} key
   * @returns {boolean}
   */
  delete(key) {
    return host(() => rawStorage.delete(key));
  },

  /**
   * Keys and values of `[start, end)`, or of every key under `prefix`, in key order
   * (`reverse`: from the last key down), following the host's continuations until the
   * range or `limit` is exhausted.
   * @param {{start?: string, end?: string, prefix?: string, reverse?: boolean, limit?: number}} [range]
   * @returns {Generator<[string, any]>}
   */
  *scan({ start, end, prefix, reverse = false, limit } = {}) {
    if (prefix !== undefined) {
      start = prefix;
      end = prefixEnd(prefix);
    }
    const keyRange = { start, end };
    let after;
    let left = limit;
    while (left === undefined || left > 0) {
      const size = left === undefined ? PAGE : Math.min(PAGE, left);
      const page = host(() => rawStorage.scan(keyRange, reverse, size, after));
      for (const entry of page.entries) {
        yield [entry.key, JSON.parse(decoder.decode(entry.value))];
      }
      if (left !== undefined) left -= page.entries.length;
      if (page.next === undefined || page.next === null) return;
      after = page.next;
    }
  },
};

/**
 * The first key after every key that starts with `prefix` (`undefined`: no bound). Bumping
 * a last ASCII character is exact; otherwise the bound is `prefix` followed by the highest
 * code point.
 * @param {string} prefix
 * @returns {string | undefined}
 */
export function prefixEnd(prefix) {
  if (prefix === '') return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last < 0x7f) return prefix.slice(0, -1) + String.fromCharCode(last + 1);
  return prefix + '\u{10FFFF}';
}

// --- context -----------------------------------------------------------------

/** Who is calling, what time it is for the business, tenant settings. */
export const context = {
  /** @returns {string} the tenant (company) the call belongs to */
  tenant: () => rawContext.caller().tenant,
  /** @returns {string | undefined} the user or token id; undefined for the host itself */
  callerId: () => rawContext.caller().id ?? undefined,
  /** @returns {'user' | 'token' | 'system'} how the caller authenticated */
  callerKind: () => rawContext.caller().kind,
  /** @returns {string[]} role names the caller holds in this tenant */
  roles: () => [...rawContext.caller().roles],
  /** @param {string} permission @returns {boolean} */
  hasPermission: (permission) => rawContext.hasPermission(permission),
  /**
   * The call's business time: fixed when the call starts, the same for every read.
   * @returns {Date}
   */
  now() {
    const instant = rawContext.now();
    return new Date(Number(instant.seconds) * 1000 + Math.floor(instant.nanoseconds / 1e6));
  },
  /** @returns {string} the UTC date of `now()`, as YYYY-MM-DD */
  today: () => context.now().toISOString().slice(0, 10),
  /** @returns {string} the tenant's IANA time zone, for example `Europe/Berlin` */
  timeZone: () => rawContext.timeZone(),
  /** @param {string} name @returns {string | undefined} a tenant setting, undefined when unset */
  setting: (name) => rawContext.setting(name) ?? undefined,
  /** @returns {string} a unique id of this call, for correlating logs */
  invocationId: () => rawContext.invocationId(),
};

// --- events, plugins, log ----------------------------------------------------

/** Events to other plugins, delivered only if this call commits. Needs `events`. */
export const events = {
  /**
   * Queue `payload` (JSON-encoded) on `topic`, which must start with this plugin's id.
   * @param {string} topic
   * @param {any} payload
   */
  emit(topic, payload) {
    host(() => rawEvents.emit(topic, JSON.stringify(payload)));
  },
};

/** Calls into other plugins in the same transaction. Needs `plugins` and a dependency. */
export const plugins = {
  /**
   * Invoke `operation` of `plugin` with `input`; its parsed JSON output. Its errors are
   * thrown as the matching `PluginError`.
   * @param {string} plugin
   * @param {string} operation
   * @param {any} input
   * @returns {any}
   */
  call(plugin, operation, input) {
    return JSON.parse(host(() => rawPlugins.call(plugin, operation, JSON.stringify(input))));
  },
};

/** Leveled logs, attributed by the host to the plugin, its version and the tenant. */
export const log = {
  /** @param {string} message */
  trace: (message) => rawLog.write('trace', message),
  /** @param {string} message */
  debug: (message) => rawLog.write('debug', message),
  /** @param {string} message */
  info: (message) => rawLog.write('info', message),
  /** @param {string} message */
  warn: (message) => rawLog.write('warn', message),
  /** @param {string} message */
  error: (message) => rawLog.write('error', message),
};

// --- the exported handler ----------------------------------------------------

function parse(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`the input is not JSON: ${e.message}`);
  }
}

function guard(what, f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof PluginError) throw e;
    const detail = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    log.error(`${what} failed: ${detail}`);
    throw new Internal(`${what} failed: ${e instanceof Error ? e.name : 'an exception'}`);
  }
}

/**
 * The `backoffice:host/handler` export, dispatching to the given functions.
 * @param {{
 *   operations?: Record<string, (input: any) => any>,
 *   events?: Record<string, (payload: any) => void>,
 *   jobs?: Record<string, (payload: any) => void>,
 *   migrate?: (from: string | undefined) => void,
 * }} handlers
 */
export function plugin({ operations = {}, events: onEvents = {}, jobs = {}, migrate } = {}) {
  const own = (table, name) => (Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined);
  return {
    invoke(operation, input) {
      return guard(`operation '${operation}'`, () => {
        const f = own(operations, operation);
        if (!f) throw new NotFound(`this plugin has no operation '${operation}'`);
        const output = f(parse(input));
        return JSON.stringify(output === undefined ? null : output);
      });
    },
    onEvent(topic, payload) {
      guard(`event '${topic}'`, () => {
        const f = own(onEvents, topic);
        if (f) f(parse(payload));
      });
    },
    runJob(job, payload) {
      guard(`job '${job}'`, () => {
        const f = own(jobs, job);
        if (!f) throw new NotFound(`this plugin has no job '${job}'`);
        f(parse(payload));
      });
    },
    migrate(from) {
      if (migrate) guard('migration', () => migrate(from ?? undefined));
    },
  };
}
