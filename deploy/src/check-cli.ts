#!/usr/bin/env node
import { checkManifests } from './check-manifests';
import { formatProblems } from './manifest';
import { kubectlProblem, OVERLAYS, renderKustomization, renderOverlay } from './render-overlay';

/* `npm run check -w deploy [-- DIR...]`: renders and checks the given kustomizations (default: every
   overlay), printing one line per problem. For your own overlay: node deploy/dist/check-cli.js path/to/it */
async function main(args: string[]): Promise<number> {
  let failed = 0;
  for (const target of args.length ? args : OVERLAYS) {
    const objects = args.length ? renderKustomization(target) : renderOverlay(target);
    const note = !args.length && kubectlProblem() ? ' (the committed deploy/rendered render: kubectl is not usable here)' : '';
    const problems = await checkManifests(objects);
    process.stdout.write(`${target}: ${objects.length} objects, ${problems.length} problem(s)${note}\n`);
    if (problems.length) { failed++; process.stdout.write(`${formatProblems(problems)}\n`); }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
