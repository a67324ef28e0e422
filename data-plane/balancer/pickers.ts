// The balancing algorithms. Each works on the current address list (weight > 0) and skips
// unhealthy addresses; `tried` (retries) is honoured when an untried healthy address exists,
// otherwise a tried one is reused, as Kong retries the same peer when it has no other.
import { fmix32 } from './hash.js';
import { hash32 } from './hash.js';
import type { Address } from './types.js';

const usable = (a: Address, tried: Set<string> | undefined) => a.healthy && (tried === undefined || !tried.has(a.id));

/** Smooth weighted round-robin (nginx's): deterministic, exact weight proportions, no bursts. */
export function pickRoundRobin(list: Address[], tried?: Set<string>): Address | null {
  const r = smooth(list, tried);
  return r === null && tried !== undefined && tried.size > 0 ? smooth(list, undefined) : r;
}

function smooth(list: Address[], tried: Set<string> | undefined): Address | null {
  let best: Address | null = null;
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (!usable(a, tried)) continue;
    a.current += a.weight;
    total += a.weight;
    if (best === null || a.current > best.current) best = a;
  }
  if (best !== null) best.current -= total;
  return best;
}

/** Fewest in-flight requests per unit of weight; ties go to the least recently picked. Counts the pick as in flight. */
export class LeastConnections {
  private seq = 0;
  pick(list: Address[], tried?: Set<string>): Address | null {
    let a = scan(list, tried);
    if (a === null && tried !== undefined && tried.size > 0) a = scan(list, undefined);
    if (a !== null) {
      a.inflight++;
      a.lastPicked = ++this.seq;
    }
    return a;
  }
}

function scan(list: Address[], tried: Set<string> | undefined): Address | null {
  let best: Address | null = null;
  let bestScore = Infinity;
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (!usable(a, tried)) continue;
    const score = (a.inflight + 1) / a.weight;
    if (score < bestScore || (score === bestScore && a.lastPicked < best!.lastPicked)) {
      bestScore = score;
      best = a;
    }
  }
  return best;
}

/**
 * Consistent hashing over a table of `slots` entries. Each slot belongs to the address with the
 * best weighted rendezvous score for it, so shares are proportional to weight and removing an
 * address reassigns only its own slots. A request hashes to a slot; if that address is unhealthy
 * (or already tried) the next slots are walked.
 */
export class HashRing {
  private readonly ring: Int32Array;
  constructor(
    private readonly list: Address[],
    slots: number,
  ) {
    const size = Math.max(1, Math.floor(slots));
    this.ring = new Int32Array(size).fill(-1);
    if (list.length === 0) return;
    const seeds = new Uint32Array(list.length);
    for (let j = 0; j < list.length; j++) seeds[j] = hash32(list[j]!.ringKey);
    for (let s = 0; s < size; s++) {
      const sh = fmix32(Math.imul(s + 1, 0x9e3779b1));
      let best = -1;
      let bestScore = Infinity;
      for (let j = 0; j < list.length; j++) {
        const u = (fmix32(sh ^ seeds[j]!) + 0.5) / 4294967296;
        const score = -Math.log(u) / list[j]!.weight;
        if (score < bestScore) {
          bestScore = score;
          best = j;
        }
      }
      this.ring[s] = best;
    }
  }

  pick(key: string, tried?: Set<string>): Address | null {
    const r = this.walk(key, tried);
    return r === null && tried !== undefined && tried.size > 0 ? this.walk(key, undefined) : r;
  }

  private walk(key: string, tried: Set<string> | undefined): Address | null {
    const size = this.ring.length;
    const start = hash32(key) % size;
    for (let i = 0; i < size; i++) {
      const j = this.ring[(start + i) % size]!;
      if (j < 0) return null;
      const a = this.list[j]!;
      if (usable(a, tried)) return a;
    }
    return null;
  }
}
