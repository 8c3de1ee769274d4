import type { Problem } from './manifest';
import { RUN_AS_USER } from './workload-rules';

/* A static reading of deploy/images/Dockerfile (Docker cannot run here): stages, FROM bases with build
   arguments resolved, and the rules an image for this project keeps. */

export interface Instruction { op: string; args: string; line: number }
export interface Stage { index: number; name?: string; from: string; line: number; instructions: Instruction[] }
export interface Dockerfile { globalArgs: Record<string, string>; stages: Stage[] }

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i])) line += lines[i];
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ index: stages.length, from: f?.[1] ?? '', name: f?.[2]?.toLowerCase(), line: start, instructions: [] });
    } else if (stages.length === 0) {
      // An ARG without a default stays unresolved (Docker would substitute an empty string).
      const eq = args.indexOf('=');
      if (op === 'ARG' && eq > 0) globalArgs[args.slice(0, eq).trim()] = args.slice(eq + 1).trim().replace(/^"|"$/g, '');
    } else {
      stages[stages.length - 1].instructions.push({ op, args, line: start });
    }
  }
  return { globalArgs, stages };
}

function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string, b: string) => vars[a ?? b] ?? m);
}

/** The stage a FROM or COPY --from names, if it names a stage (by name or index) rather than an image. */
function stageNamed(df: Dockerfile, ref: string, before: number): Stage | undefined {
  return df.stages.find((s) => s.index < before && (s.name === ref.toLowerCase() || String(s.index) === ref));
}

export interface Build {
  df: Dockerfile;
  args: Record<string, string>;
  /** Stage -> its base: another stage, or an image reference. */
  baseOf(stage: Stage): { stage?: Stage; image?: string };
  /** The stage and its ancestors through FROM, nearest first. */
  chain(stage: Stage): Stage[];
  final: Stage;
}

export function resolveBuild(df: Dockerfile, buildArgs: Record<string, string> = {}): Build {
  const args = { ...df.globalArgs, ...buildArgs };
  const baseOf = (stage: Stage) => {
    const from = substitute(stage.from, args);
    const s = stageNamed(df, from, stage.index);
    return s ? { stage: s } : { image: from };
  };
  const chain = (stage: Stage): Stage[] => { const b = baseOf(stage).stage; return [stage, ...(b ? chain(b) : [])]; };
  return { df, args, baseOf, chain, final: df.stages[df.stages.length - 1] };
}

/** The image the final stage is built on, through stage aliases. */
export function finalBaseImage(build: Build): string | undefined {
  const chain = build.chain(build.final);
  return build.baseOf(chain[chain.length - 1]).image;
}

/** ENV values a stage sees (its own and inherited through FROM). */
export function stageEnv(build: Build, stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of build.chain(stage).reverse()) {
    for (const ins of s.instructions.filter((x) => x.op === 'ENV')) {
      for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
    }
  }
  return env;
}

const IMAGE_PINNED = /^(?:[^@]+@sha256:[0-9a-f]{64}|[^@]+:[^/:@]+)$/;
// Package installs that keep devDependencies (npm ci/install, yarn, pnpm without a production flag).
const INSTALL = /\b(npm\s+(ci|install|i)\b|yarn(\s+install)?\b|pnpm\s+(install|i)\b)/;
const PRODUCTION_ONLY = /--omit[= ]dev\b|--production\b|--only[= ]prod(uction)?\b|--prod\b/;

function installsDev(ins: Instruction): boolean {
  if (ins.op !== 'RUN') return false;
  return ins.args.split(/&&|;|\|\|/).some((cmd) => INSTALL.test(cmd) && !/npm\s+cache\b/.test(cmd) && !PRODUCTION_ONLY.test(cmd));
}

function copySources(ins: Instruction): { from?: string; sources: string[] } {
  const parts = ins.args.split(/\s+/);
  const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
  const rest = parts.filter((p) => !p.startsWith('--'));
  return { from, sources: rest.slice(0, -1) };
}

function workdir(build: Build, stage: Stage): string {
  for (const s of build.chain(stage)) {
    const w = [...s.instructions].reverse().find((x) => x.op === 'WORKDIR');
    if (w) return w.args;
  }
  return '/';
}

/** Why a stage holds devDependencies (an install without --omit=dev, or node_modules copied from one), or undefined. */
export function devDependencyReason(build: Build, stage: Stage): string | undefined {
  for (const s of build.chain(stage)) {
    for (const ins of s.instructions) {
      if (installsDev(ins)) return `line ${ins.line} (stage ${s.name ?? s.index}) installs packages without --omit=dev`;
      if (ins.op !== 'COPY' && ins.op !== 'ADD') continue;
      const { from, sources } = copySources(ins);
      const src = from ? stageNamed(build.df, substitute(from, build.args), s.index) : undefined;
      if (!src) continue;
      const reason = devDependencyReason(build, src);
      if (!reason) continue;
      const wd = workdir(build, src).replace(/\/$/, '');
      const bad = sources.find((p) => /node_modules/.test(p) || ['/', '.', './', wd, `${wd}/`].includes(p));
      if (bad) return `line ${ins.line} (stage ${s.name ?? s.index}) copies ${bad} from stage ${src.name ?? src.index}, whose ${reason}`;
    }
  }
  return undefined;
}

/** The rules, for one set of build arguments (run once per variant). */
export function checkDockerfile(text: string, buildArgs: Record<string, string> = {}): Problem[] {
  const df = parseDockerfile(text);
  const label = `Dockerfile${Object.keys(buildArgs).length ? ` (${Object.entries(buildArgs).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`;
  const problems: Problem[] = [];
  const add = (line: number | string, message: string) => problems.push({ object: label, path: typeof line === 'number' ? `line ${line}` : line, message });
  if (df.stages.length < 2) add('FROM', `has ${df.stages.length} stage(s): build in one stage and ship a production-only final stage`);
  if (df.stages.length === 0) return problems;
  const build = resolveBuild(df, buildArgs);

  for (const stage of df.stages) {
    const base = build.baseOf(stage);
    if (base.stage) continue;
    const image = base.image ?? '';
    if (/\$/.test(image)) add(stage.line, `FROM ${stage.from}: ${image} has an unresolved build argument (give it a default)`);
    else if (image !== 'scratch' && !IMAGE_PINNED.test(image)) add(stage.line, `FROM ${image} is not pinned: give a version tag or a digest`);
    else if (/:latest$/.test(image)) add(stage.line, `FROM ${image} uses latest: pin a version tag or a digest`);
  }

  const user = build.chain(build.final).map((s) => [...s.instructions].reverse().find((x) => x.op === 'USER')).find(Boolean);
  if (!user) add(build.final.line, `the final stage ${build.final.name ?? build.final.index} has no USER: the image would run as root`);
  else {
    const uid = user.args.split(':')[0];
    if (uid === '0' || uid === 'root') add(user.line, `USER ${user.args} is root`);
    else if (uid !== String(RUN_AS_USER)) add(user.line, `USER ${user.args}: use the numeric user ${RUN_AS_USER}, which the manifests run as (runAsUser) and Kubernetes can check as non-root`);
  }

  const dev = devDependencyReason(build, build.final);
  if (dev) add('final stage', `ships devDependencies: ${dev}`);
  return problems;
}

/** Patterns the build context must leave out (local installs and outputs would shadow the image's own). */
export const REQUIRED_DOCKERIGNORE = ['**/node_modules', '**/dist', '.git'];

export function checkDockerignore(text: string): Problem[] {
  const patterns = new Set(text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  return REQUIRED_DOCKERIGNORE.filter((p) => !patterns.has(p)).map((p) => ({ object: 'Dockerfile.dockerignore', path: p, message: `must exclude ${p}` }));
}
