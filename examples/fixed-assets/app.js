/**
 * Fixed-asset register: a back-office plugin written in JavaScript.
 *
 * An asset has a cost and a salvage value (integer minor units of one currency), a useful
 * life in months and an in-service date. Depreciation is straight-line by month, starting
 * in the month of the in-service date: each month is floor((cost - salvage) / life), and
 * the last month takes the remainder, so the months add up to exactly cost - salvage.
 * `depreciate` posts one month for every asset as one balanced ledger entry through the
 * ledger's `post-entry` operation (`plugins.call`, same transaction).
 *
 * Storage (JSON values):
 * - `asset/<code>`: an asset, with `accumulated` (posted so far) and `disposed`
 * - `period/<YYYY-MM>`: a posted month: the ledger entry and the amount per asset
 */

import {
  Conflict,
  InvalidInput,
  NotFound,
  events,
  plugin,
  plugins,
  storage,
} from '../../sdk/js/backoffice.js';

const ASSET = 'asset/';
const PERIOD = 'period/';

// --- pure rules ----------------------------------------------------------------

/** Months since year 0 of a YYYY-MM or YYYY-MM-DD string, checked. */
function monthIndex(text, field) {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(text);
  const year = m && Number(m[1]);
  const month = m && Number(m[2]);
  if (!m || month < 1 || month > 12) {
    throw new InvalidInput(`'${field}' must be a date such as 2026-01-31 or a month such as 2026-01, not '${text}'`);
  }
  if (m[3] !== undefined) {
    const day = Number(m[3]);
    if (day < 1 || day > lastDay(year, month)) {
      throw new InvalidInput(`'${field}' is not a calendar date: '${text}'`);
    }
  }
  return year * 12 + (month - 1);
}

function lastDay(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function periodName(index) {
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

function periodEnd(index) {
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${periodName(index)}-${String(lastDay(year, month)).padStart(2, '0')}`;
}

/** Depreciation of month `i` of an asset's life (0 = the in-service month). */
function monthAmount(asset, i) {
  if (i < 0 || i >= asset['life-months']) return 0;
  const base = asset.cost - asset.salvage;
  const monthly = Math.floor(base / asset['life-months']);
  return i === asset['life-months'] - 1 ? base - monthly * (asset['life-months'] - 1) : monthly;
}

/** What `depreciate` would post for `asset` in month `index` (0 once disposed). */
function dueIn(asset, index) {
  if (asset.disposed && index >= monthIndex(asset.disposed, 'disposed')) return 0;
  return monthAmount(asset, index - monthIndex(asset['in-service'], 'in-service'));
}

function view(asset) {
  return { ...asset, 'book-value': asset.cost - asset.accumulated };
}

// --- storage glue --------------------------------------------------------------

function load(code) {
  const asset = storage.get(ASSET + code);
  if (asset === undefined) {
    throw new NotFound(`there is no asset '${code}'; add it with add or pick one from list`);
  }
  return asset;
}

function post(entry) {
  return plugins.call('ledger', 'post-entry', entry);
}

// --- operations ----------------------------------------------------------------

function add(input) {
  const salvage = input.salvage ?? 0;
  if (salvage >= input.cost) {
    throw new InvalidInput(
      `the salvage value ${salvage} must be less than the cost ${input.cost} (both in minor units of ${input.currency}); nothing would be left to depreciate`,
    );
  }
  monthIndex(input['in-service'], 'in-service');
  if (storage.get(ASSET + input.code) !== undefined) {
    throw new Conflict(`asset '${input.code}' already exists; pick another code`);
  }
  const asset = {
    code: input.code,
    name: input.name,
    cost: input.cost,
    salvage,
    currency: input.currency,
    'life-months': input['life-months'],
    'in-service': input['in-service'],
    'asset-account': input['asset-account'],
    'accumulated-account': input['accumulated-account'],
    'expense-account': input['expense-account'],
    accumulated: 0,
    disposed: null,
  };
  storage.put(ASSET + asset.code, asset);
  return view(asset);
}

function list() {
  const assets = [];
  for (const [, asset] of storage.scan({ prefix: ASSET })) assets.push(view(asset));
  return { assets };
}

function schedule(input) {
  const asset = load(input.code);
  const start = monthIndex(asset['in-service'], 'in-service');
  const stop = asset.disposed ? monthIndex(asset.disposed, 'disposed') : Infinity;
  const months = [];
  let accumulated = 0;
  for (let i = 0; i < asset['life-months'] && start + i < stop; i++) {
    const amount = dueIn(asset, start + i);
    accumulated += amount;
    const period = periodName(start + i);
    months.push({
      period,
      amount,
      accumulated,
      'book-value': asset.cost - accumulated,
      posted: storage.get(PERIOD + period) !== undefined,
    });
  }
  return { code: asset.code, currency: asset.currency, cost: asset.cost, salvage: asset.salvage, months };
}

function depreciate(input) {
  const index = monthIndex(input.period, 'period');
  const period = periodName(index);
  const done = storage.get(PERIOD + period);
  if (done !== undefined) {
    throw new Conflict(`${period} is already depreciated (ledger entry ${done.entry}); each month is posted once`);
  }
  const lines = [];
  const postings = [];
  for (const [key, asset] of storage.scan({ prefix: ASSET })) {
    const amount = dueIn(asset, index);
    if (amount === 0) continue;
    asset.accumulated += amount;
    storage.put(key, asset);
    lines.push({ code: asset.code, amount, currency: asset.currency });
    postings.push(
      { account: asset['expense-account'], amount, currency: asset.currency, memo: `${asset.code} ${asset.name}` },
      { account: asset['accumulated-account'], amount: -amount, currency: asset.currency, memo: asset.code },
    );
  }
  if (lines.length === 0) {
    throw new InvalidInput(`no asset is depreciating in ${period}; add assets in service then or pick another month`);
  }
  const entry = post({
    date: periodEnd(index),
    description: `Depreciation ${period}`,
    reference: { source: 'fixed-assets', document: `depreciation-${period}` },
    'idempotency-key': `fixed-assets/depreciation/${period}`,
    postings,
  });
  const totals = {};
  for (const line of lines) totals[line.currency] = (totals[line.currency] ?? 0) + line.amount;
  const record = { period, entry: entry.id, date: entry.date, assets: lines, totals };
  storage.put(PERIOD + period, record);
  events.emit('fixed-assets.depreciated', record);
  return record;
}

function dispose(input) {
  const asset = load(input.code);
  if (asset.disposed) {
    throw new Conflict(`asset '${asset.code}' was already disposed of on ${asset.disposed}`);
  }
  const index = monthIndex(input.date, 'date');
  if (index < monthIndex(asset['in-service'], 'in-service')) {
    throw new InvalidInput(`'date' ${input.date} is before the asset went into service on ${asset['in-service']}`);
  }
  const bookValue = asset.cost - asset.accumulated;
  const postings = [{ account: asset['asset-account'], amount: -asset.cost, currency: asset.currency, memo: asset.code }];
  if (asset.accumulated > 0) {
    postings.push({ account: asset['accumulated-account'], amount: asset.accumulated, currency: asset.currency, memo: asset.code });
  }
  if (bookValue > 0) {
    postings.push({ account: input['loss-account'], amount: bookValue, currency: asset.currency, memo: asset.code });
  }
  const entry = post({
    date: input.date,
    description: `Disposal of ${asset.code} ${asset.name}`,
    reference: { source: 'fixed-assets', document: `disposal-${asset.code}` },
    'idempotency-key': `fixed-assets/disposal/${asset.code}`,
    postings,
  });
  asset.disposed = input.date;
  storage.put(ASSET + asset.code, asset);
  const record = { code: asset.code, date: input.date, entry: entry.id, 'book-value': bookValue, currency: asset.currency };
  events.emit('fixed-assets.disposed', record);
  return record;
}

export const handler = plugin({
  operations: { add, list, schedule, depreciate, dispose },
});
