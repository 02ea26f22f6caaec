/** @module Interface lever:connector/triggers@0.2.0 **/
/**
 * Enables exactly these triggers for the connection.
 */
export function enable(connection: ConnectionId, kinds: Array<TriggerKind>): void;
/**
 * Polls Lever's postings now (hosts also do it on an interval). Errors: `not-configured`
 * when no posting trigger is enabled.
 */
export function pollPostings(connection: ConnectionId): PostingPoll;
/**
 * The events of one trigger since `cursor` (from now on when `none`); posting triggers
 * poll Lever first. Errors: `not-configured` when the trigger is not enabled.
 */
export function poll(connection: ConnectionId, kind: TriggerKind, cursor: string | undefined): TriggerBatch;
export type ConnectionId = import('./lever-connector-types.js').ConnectionId;
export type ConnectorError = import('./lever-connector-types.js').ConnectorError;
export type Opportunity = import('./lever-connector-types.js').Opportunity;
export type Posting = import('./lever-connector-types.js').Posting;
export type UnixMs = import('./lever-connector-types.js').UnixMs;
/**
 * What a trigger event is about.
 */
export type TriggerSubject = TriggerSubjectOpportunity | TriggerSubjectPosting;
/**
 * The opportunity, fetched fresh (candidate triggers).
 */
export interface TriggerSubjectOpportunity {
  tag: 'opportunity',
  val: Opportunity,
}
/**
 * The posting, fetched fresh (posting triggers).
 */
export interface TriggerSubjectPosting {
  tag: 'posting',
  val: Posting,
}
/**
 * The four triggers.
 * # Variants
 * 
 * ## `"candidate-created"`
 * 
 * A new opportunity was created in Lever.
 * ## `"candidate-updated"`
 * 
 * An opportunity changed (stage, archive state, contact details).
 * ## `"posting-created"`
 * 
 * A new posting was created.
 * ## `"posting-updated"`
 * 
 * A posting changed.
 */
export type TriggerKind = 'candidate-created' | 'candidate-updated' | 'posting-created' | 'posting-updated';
/**
 * One trigger event.
 */
export interface TriggerEvent {
  /**
   * Stable id of the event (the platform's dedupe key).
   */
  id: string,
  /**
   * Which trigger fired.
   */
  kind: TriggerKind,
  /**
   * When the change happened in Lever.
   */
  occurredAt: UnixMs,
  /**
   * What changed.
   */
  subject: TriggerSubject,
}
/**
 * The events since a cursor.
 */
export interface TriggerBatch {
  /**
   * Events, oldest first.
   */
  events: Array<TriggerEvent>,
  /**
   * Pass this to the next `poll` to continue after these events.
   */
  cursor: string,
}
/**
 * What a postings poll found.
 */
export interface PostingPoll {
  /**
   * Postings created since the last poll.
   */
  created: number,
  /**
   * Postings changed since the last poll.
   */
  updated: number,
  /**
   * The poll's cursor now (the newest `updatedAt` read).
   */
  cursor: UnixMs,
}
