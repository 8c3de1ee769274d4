import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time (ms) of this process's main thread and of all its other threads together, from
 * /proc/self/task (Linux); undefined elsewhere. CPU time, not wall time, so it says which threads
 * worked even when other jobs load the machine.
 */
export function threadCpuMs(): { main: number; others: number } | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const tick = 10; // USER_HZ is 100 on Linux
  let main = 0;
  let others = 0;
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) * tick; // utime + stime
    if (Number(tid) === process.pid) main += ms;
    else others += ms;
  }
  return { main, others };
}
