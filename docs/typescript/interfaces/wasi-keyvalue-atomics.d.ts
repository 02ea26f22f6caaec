/** @module Interface wasi:keyvalue/atomics@0.2.0-draft2 **/
/**
 * Adds `delta` to the signed 64-bit integer stored under `key` (a missing key counts as 0)
 * and returns the new value.
 */
export function increment(bucket: Bucket, key: string, delta: bigint): bigint;
/**
 * Writes `value` only if the key still holds what `cas` saw.
 */
export function swap(cas: Cas, value: Uint8Array): void;
export type Bucket = import('./wasi-keyvalue-store.js').Bucket;
export type Error = import('./wasi-keyvalue-store.js').Error;
/**
 * Why a `swap` did not happen.
 */
export type CasError = CasErrorStoreError | CasErrorCasFailed;
/**
 * The store failed.
 */
export interface CasErrorStoreError {
  tag: 'store-error',
  val: Error,
}
/**
 * The key changed since the snapshot; the new snapshot is handed back for a retry.
 */
export interface CasErrorCasFailed {
  tag: 'cas-failed',
  val: Cas,
}

export class Cas {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * Takes a snapshot of `key` in `bucket`.
  */
  static 'new'(bucket: Bucket, key: string): Cas;
  /**
  * The value seen when the snapshot was taken.
  */
  current(): Uint8Array | undefined;
}
