// The report's route: "#report=<incident id>" opens the printable report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportFromHash } from '../../src/report.js';

test('reportFromHash reads the incident id of #report=N, alone or with other keys', () => {
  assert.equal(reportFromHash('#report=12'), 12);
  assert.equal(reportFromHash('#incident=3&report=7'), 7);
  assert.equal(reportFromHash('#incident=3'), null);
  assert.equal(reportFromHash('#report='), null);
  assert.equal(reportFromHash('#report=x1'), null);
  assert.equal(reportFromHash(''), null);
  assert.equal(reportFromHash(undefined), null);
});
