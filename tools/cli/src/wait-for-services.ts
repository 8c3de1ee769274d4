import { UnavailableError } from '@selftrain/errors';
import { checkHealth, securityForHost, type ClientSecurity } from '@selftrain/rpc';
import { resolveReplicas, type ServiceAddresses } from '@selftrain/pipeline';

/**
 * Waits until every service, and every labeler replica behind its name, answers its health check with
 * SERVING: a pipeline Job started together with the services must not fail on its first call.
 */
export async function waitForServices(
  addresses: ServiceAddresses, security: ClientSecurity, waitSeconds: number, note: (message: string) => void,
): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  for (;;) {
    const targets: { name: string; address: string; security: ClientSecurity }[] = [
      { name: 'teacher', address: addresses.teacher, security },
      { name: 'student', address: addresses.student, security },
      { name: 'evaluator', address: addresses.evaluator, security },
    ];
    const labelers = await resolveReplicas(addresses.labelers).catch(() => []);
    for (const r of labelers) {
      targets.push({ name: `labeler ${r.address}`, address: r.address, security: securityForHost(security, r.host) });
    }
    const states = await Promise.all(targets.map((t) => checkHealth(t.address, '', 3000, t.security).catch((err: Error) => err.message)));
    const waiting = targets.flatMap((t, i) => (states[i] === 'SERVING' ? [] : [`${t.name} (${states[i]})`]));
    if (labelers.length === 0) waiting.push(`labelers ${addresses.labelers.join(',')} (no address resolved)`);
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new UnavailableError(`services not SERVING after ${waitSeconds} s: ${waiting.join('; ')}`);
    if (!told) note(`waiting for ${waiting.join('; ')}`);
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
