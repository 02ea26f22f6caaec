/** @module Interface wasi:keyvalue/batch@0.2.0-draft2 **/
/**
 * The values of `keys`, one entry per key, in the same order.
 */
export function getMany(bucket: Bucket, keys: Array<string>): Array<[string, Uint8Array | undefined]>;
/**
 * Stores every pair.
 */
export function setMany(bucket: Bucket, keyValues: Array<[string, Uint8Array]>): void;
/**
 * Removes every key.
 */
export function deleteMany(bucket: Bucket, keys: Array<string>): void;
export type Bucket = import('./wasi-keyvalue-store.js').Bucket;
export type Error = import('./wasi-keyvalue-store.js').Error;
