/**
 * A Bloom filter of the facts a tenant has ever held (presence keys, encoding/fact-keys.ts), so a
 * write can skip reading the current state of facts that cannot exist yet. No false negatives:
 * every fact written is added; false positives only cost the read that would happen anyway.
 * Scalable: when a stage fills up, a stage four times larger is added.
 */
const BITS_PER_KEY = 10;
const HASHES = 7;
const FIRST_CAPACITY = 4096;

interface Stage {
  readonly bits: Uint32Array;
  readonly size: number;
  readonly capacity: number;
  count: number;
}

export class KeyFilter {
  private readonly stages: Stage[] = [];

  constructor() {
    this.addStage(FIRST_CAPACITY);
  }

  private addStage(capacity: number): Stage {
    const size = capacity * BITS_PER_KEY;
    const stage = { bits: new Uint32Array(Math.ceil(size / 32)), size, capacity, count: 0 };
    this.stages.push(stage);
    return stage;
  }

  add(key: string): void {
    let stage = this.stages[this.stages.length - 1] as Stage;
    if (stage.count >= stage.capacity) stage = this.addStage(stage.capacity * 4);
    const [h1, h2] = hashes(key);
    for (let i = 0; i < HASHES; i++) {
      const bit = (h1 + i * h2) % stage.size;
      (stage.bits[bit >>> 5] as number) |= 1 << (bit & 31);
    }
    stage.count++;
  }

  mightContain(key: string): boolean {
    const [h1, h2] = hashes(key);
    for (const stage of this.stages) {
      let all = true;
      for (let i = 0; i < HASHES && all; i++) {
        const bit = (h1 + i * h2) % stage.size;
        all = (((stage.bits[bit >>> 5] as number) >>> (bit & 31)) & 1) === 1;
      }
      if (all) return true;
    }
    return false;
  }
}

/** Two 32-bit hashes of a string (FNV-1a, and a second pass with another basis), for double hashing. */
function hashes(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, (b | 1) >>> 0];
}
