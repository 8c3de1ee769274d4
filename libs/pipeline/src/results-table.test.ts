import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvaluateResponse, RunRecord } from '@selftrain/proto';
import { resultsTable } from './results-table';

const evalOf = (top1: number) => EvaluateResponse.fromPartial({ top1 });
const generation = (index: number, teacher: number, student: number) => ({
  index, teacherEval: evalOf(teacher), studentEval: evalOf(student),
  labelStats: { records: 58500, kept: 56000, dropped: 2500 }, teacherValEval: EvaluateResponse.fromPartial({ confidentAccuracy: 0.86 }),
});

test('one row per generation; with several, a last row compares the final student with the first teacher', () => {
  const two = resultsTable(RunRecord.fromPartial({ specJson: '{}', generations: [generation(0, 0.8437, 0.8679), generation(1, 0.8679, 0.8735)] }));
  const rows = two.split('\n').slice(2).map((r) => r.split('|').map((c) => c.trim()).filter(Boolean));
  assert.deepEqual(rows.map((r) => r.slice(0, 4)), [
    ['0', '84.37', '86.79', '+2.42'],
    ['1', '86.79', '87.35', '+0.56'],
    ['0-1', '84.37', '87.35', '+2.98'],
  ]);
  assert.deepEqual(rows[0].slice(4), ['56000/58500', '86.00']);
  const one = resultsTable(RunRecord.fromPartial({ specJson: '{}', generations: [generation(0, 0.8437, 0.8679)] }));
  assert.equal(one.split('\n').length, 3, 'no overall row for a single generation');
});
