import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { silentLogger } from '@selftrain/logger';
import { ServiceMetrics } from './service-metrics';
import { startMetricsServer } from './metrics-server';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('calls, images, pseudo-labels and jobs are exported with bounded labels', async () => {
  const states = new Map([['JOB_STATE_RUNNING', 1], ['JOB_STATE_SUCCEEDED', 3]]);
  const m = new ServiceMetrics('labeler', ['/selftrain.v1.Labeler/LabelShard'], () => states);
  m.observeCall('/selftrain.v1.Labeler/LabelShard', 0, 0.2);
  m.observeCall('/selftrain.v1.Labeler/LabelShard', 5, 0.01);
  // A caller inventing method names cannot grow the label set.
  for (let i = 0; i < 50; i++) m.observeCall(`/evil.Service/M${i}`, 12, 0.001);
  m.imagesProcessed('label', 600, 0.5);
  m.pseudoLabels(550, 50);
  const server = await startMetricsServer(m, '127.0.0.1', 0, silentLogger);
  try {
    const { status, body } = await get(server.port, '/metrics');
    assert.equal(status, 200);
    assert.match(body, /selftrain_rpc_calls_total\{method="\/selftrain.v1.Labeler\/LabelShard",code="OK",service="labeler"\} 1/);
    assert.match(body, /selftrain_rpc_calls_total\{method="\/selftrain.v1.Labeler\/LabelShard",code="NOT_FOUND",service="labeler"\} 1/);
    assert.match(body, /selftrain_rpc_calls_total\{method="other",code="UNIMPLEMENTED",service="labeler"\} 50/);
    assert.doesNotMatch(body, /evil/);
    assert.match(body, /selftrain_images_total\{stage="label",service="labeler"\} 600/);
    assert.match(body, /selftrain_images_per_second\{stage="label",service="labeler"\} 1200/);
    assert.match(body, /selftrain_pseudo_labels_total\{outcome="kept",service="labeler"\} 550/);
    assert.match(body, /selftrain_pseudo_labels_total\{outcome="dropped",service="labeler"\} 50/);
    assert.match(body, /selftrain_jobs\{state="JOB_STATE_SUCCEEDED",service="labeler"\} 3/);
    assert.match(body, /selftrain_rpc_duration_seconds_bucket\{le="0.5",service="labeler",method="\/selftrain.v1.Labeler\/LabelShard"\} 2/);
    assert.match(body, /selftrain_process_resident_memory_bytes\{service="labeler"\}/);
    assert.equal((await get(server.port, '/other')).status, 404);
  } finally {
    await server.close();
  }
});
