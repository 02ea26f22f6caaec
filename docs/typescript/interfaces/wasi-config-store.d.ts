/** @module Interface wasi:config/store@0.2.0-draft-2024-09-27 **/
/**
 * The value configured under `key`, or `none` when it is not set.
 */
export function get(key: string): string | undefined;
/**
 * Every configured key and value.
 */
export function getAll(): Array<[string, string]>;
/**
 * What can go wrong when reading configuration.
 */
export type Error = ErrorUpstream | ErrorIo;
/**
 * The backend holding the configuration failed (a remote store, say).
 */
export interface ErrorUpstream {
  tag: 'upstream',
  val: string,
}
/**
 * Reading the configuration failed locally.
 */
export interface ErrorIo {
  tag: 'io',
  val: string,
}
