// wasi:keyvalue@0.2.0-draft2 (store, atomics and batch) for the connector, in this process's memory.
//
// A platform would back this with its own database; the contract the connector relies on is
// that `swap` writes only if the key still holds what `Cas.new` saw (compare-and-swap), which
// is how it claims deliveries, OAuth state and the token-refresh lock. Node runs the
// component's calls one at a time on this thread, so a Map is enough here.

/** Buckets by name: Map<string, Map<string, Uint8Array>>. */
const buckets = new Map();

function equal(a, b) {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

class Bucket {
  #values;

  constructor(values) {
    this.#values = values;
  }

  /** Internal: the map itself, for Cas and increment. */
  static values(bucket) {
    return bucket.#values;
  }

  get(key) {
    const value = this.#values.get(key);
    return value === undefined ? undefined : value.slice();
  }

  set(key, value) {
    this.#values.set(key, Uint8Array.from(value));
  }

  delete(key) {
    this.#values.delete(key);
  }

  exists(key) {
    return this.#values.has(key);
  }

  listKeys(cursor) {
    const keys = [...this.#values.keys()].sort().filter((k) => cursor === undefined || k > cursor);
    return { keys, cursor: undefined };
  }
}

export const store = {
  Bucket,
  open(identifier) {
    if (!buckets.has(identifier)) buckets.set(identifier, new Map());
    return new Bucket(buckets.get(identifier));
  },
};

class Cas {
  constructor(values, key) {
    this.values = values;
    this.key = key;
    this.seen = values.get(key);
  }

  static new(bucket, key) {
    return new Cas(Bucket.values(bucket), key);
  }

  current() {
    return this.seen === undefined ? undefined : this.seen.slice();
  }
}

export const atomics = {
  Cas,
  increment(bucket, key, delta) {
    const values = Bucket.values(bucket);
    const held = values.get(key);
    const current = held === undefined ? 0n : BigInt(new TextDecoder().decode(held));
    const sum = current + delta;
    values.set(key, new TextEncoder().encode(sum.toString()));
    return sum;
  },
  swap(cas, value) {
    if (!equal(cas.values.get(cas.key), cas.seen)) {
      // The WIT error: `cas-failed`, with a fresh handle on what the key holds now.
      throw { tag: 'cas-failed', val: new Cas(cas.values, cas.key) };
    }
    cas.values.set(cas.key, Uint8Array.from(value));
  },
};

export const batch = {
  getMany(bucket, keys) {
    return keys.map((key) => [key, bucket.get(key)]);
  },
  setMany(bucket, keyValues) {
    for (const [key, value] of keyValues) bucket.set(key, value);
  },
  deleteMany(bucket, keys) {
    for (const key of keys) bucket.delete(key);
  },
};
