/** @module Interface wasi:keyvalue/store@0.2.0-draft2 **/
/**
 * Opens the bucket the host provides under `identifier`.
 * 
 * Fails with `no-such-store` when the host does not know the identifier.
 */
export function open(identifier: string): Bucket;
/**
 * What can go wrong with a store operation.
 */
export type Error = ErrorNoSuchStore | ErrorAccessDenied | ErrorOther;
/**
 * No bucket with the requested identifier is provided by the host.
 */
export interface ErrorNoSuchStore {
  tag: 'no-such-store',
}
/**
 * The component may not use this bucket.
 */
export interface ErrorAccessDenied {
  tag: 'access-denied',
}
/**
 * Anything else the backend reports, described for a human.
 */
export interface ErrorOther {
  tag: 'other',
  val: string,
}
/**
 * One page of keys from `list-keys`.
 */
export interface KeyResponse {
  /**
   * The keys on this page.
   */
  keys: Array<string>,
  /**
   * Where the next page starts; `none` when this was the last page.
   */
  cursor?: string,
}

export class Bucket {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * The value stored under `key`, or `none` when there is none.
  */
  get(key: string): Uint8Array | undefined;
  /**
  * Stores `value` under `key`, replacing any earlier value.
  */
  set(key: string, value: Uint8Array): void;
  /**
  * Removes `key`; removing a missing key is not an error.
  */
  'delete'(key: string): void;
  /**
  * Whether a value is stored under `key`.
  */
  exists(key: string): boolean;
  /**
  * Lists keys a page at a time, starting after `cursor` (from the start when `none`).
  */
  listKeys(cursor: string | undefined): KeyResponse;
}
