import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteOptions, subtreeIds } from '../../src/sites.js';
import { filterVehicles } from '../../src/vehiclefilter.js';

// A sub-centre admin's view: their site (2) and below, as /api/v1/sites lists it.
const sites = [
  { id: 2, parent_id: 1, name: 'North', path: '/1/2/' },
  { id: 10, parent_id: 2, name: 'Room 10', path: '/1/2/10/' },
  { id: 4, parent_id: 2, name: 'Room 4', path: '/1/2/4/' },
  { id: 11, parent_id: 4, name: 'Desk', path: '/1/2/4/11/' },
];

test('siteOptions indents by depth below the top, in tree order', () => {
  const o = siteOptions(sites);
  assert.deepEqual(o.map((x) => [x.id, x.depth]), [[2, 0], [4, 1], [11, 2], [10, 1]]);
  assert.equal(o[2].label, '\u00a0\u00a0\u00a0\u00a0Desk');
  assert.deepEqual(siteOptions([]), []);
});

test('subtreeIds is a site and everything below it', () => {
  assert.deepEqual([...subtreeIds(sites, 4)].sort((a, b) => a - b), [4, 11]);
  assert.deepEqual([...subtreeIds(sites, 2)].sort((a, b) => a - b), [2, 4, 10, 11]);
  assert.equal(subtreeIds(sites, 99).size, 0);
});

test('filterVehicles keeps the vehicles of the chosen subtree', () => {
  const rows = [{ id: 1, name: 'a', site: 10 }, { id: 2, name: 'b', site: 11 }, { id: 3, name: 'c', site: 4 }];
  assert.deepEqual(filterVehicles(rows, { sites: subtreeIds(sites, 4) }).map((r) => r.id), [2, 3]);
  assert.equal(filterVehicles(rows, {}).length, 3);
});
