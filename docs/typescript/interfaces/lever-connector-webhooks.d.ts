/** @module Interface lever:connector/webhooks@0.2.0 **/
/**
 * Handles one Lever webhook delivery to `connection`: `body` is the raw request body,
 * exactly as received (at most 1 MiB).
 * 
 * Errors: `too-large` over 1 MiB; `invalid-input` for malformed JSON, missing fields or a
 * bad connection id; `unauthorized` for a missing or wrong signature (a delivery signed
 * for another connection included), a connection without webhooks (never set up, or
 * disconnected), or a `triggeredAt` outside the freshness window; `not-configured` naming
 * the missing key (nothing recorded: Lever retries); a failure a later attempt may fix
 * answers `queued` (the delivery is in the outbox). Idempotent per delivery token; a
 * claim left "processing" by a stopped instance lapses after `delivery_lease_secs`.
 */
export function handleLeverWebhook(connection: ConnectionId, body: Uint8Array): WebhookReceipt;
/**
 * Retries every connection's outbox items that are due, each under a lease (two hosts
 * calling it at once never work on the same item). Hosts call it on an interval;
 * `lever-host serve` does so every `tick_interval_secs`.
 */
export function tick(): TickReport;
export type ConnectionId = import('./lever-connector-types.js').ConnectionId;
export type ConnectorError = import('./lever-connector-types.js').ConnectorError;
export type OpportunityId = import('./lever-connector-types.js').OpportunityId;
export type PartnerCandidateId = import('./lever-connector-types.js').PartnerCandidateId;
export type StageId = import('./lever-connector-types.js').StageId;
/**
 * The partner event sent because of a delivery.
 */
export interface ForwardedEvent {
  /**
   * The Standard Webhooks `webhook-id` sent to the partner: stable for one Lever change,
   * so a redelivery of the same change carries the same id.
   */
  webhookId: string,
  /**
   * The partner event type: `candidate.stage_changed`, `candidate.archived`,
   * `candidate.unarchived`, `candidate.hired` or `candidate.deleted`.
   */
  eventType: string,
  /**
   * The Lever opportunity.
   */
  opportunityId: OpportunityId,
  /**
   * The partner's candidate linked to it.
   */
  partnerCandidateId: PartnerCandidateId,
  /**
   * For stage changes: the Lever stage confirmed with Lever (not the unsigned one from
   * the delivery).
   */
  leverStageId?: StageId,
  /**
   * For stage changes: the partner stage it maps to.
   */
  partnerStage?: string,
}
/**
 * Why a verified delivery needed no partner call.
 */
export type SkipReason = SkipReasonOpportunityNotInLever | SkipReasonNotLinked | SkipReasonStageNotMapped | SkipReasonAlreadyReported | SkipReasonNotHired | SkipReasonStillInLever | SkipReasonPing | SkipReasonInterviewNotConfirmed;
/**
 * Lever has no such opportunity (deleted since).
 */
export interface SkipReasonOpportunityNotInLever {
  tag: 'opportunity-not-in-lever',
  val: OpportunityId,
}
/**
 * The opportunity is not linked to a partner candidate on this connection.
 */
export interface SkipReasonNotLinked {
  tag: 'not-linked',
  val: OpportunityId,
}
/**
 * Its Lever stage has no partner stage in the connection's stage map.
 */
export interface SkipReasonStageNotMapped {
  tag: 'stage-not-mapped',
  val: StageId,
}
/**
 * This state (a stage id, `archived:<reason id>`, `active` or `deleted`) was reported
 * for this opportunity already, or the partner itself caused it (no echo).
 */
export interface SkipReasonAlreadyReported {
  tag: 'already-reported',
  val: string,
}
/**
 * `candidateHired`, but Lever does not show the opportunity hired.
 */
export interface SkipReasonNotHired {
  tag: 'not-hired',
  val: OpportunityId,
}
/**
 * `candidateDeleted`, but Lever still has the opportunity.
 */
export interface SkipReasonStillInLever {
  tag: 'still-in-lever',
  val: OpportunityId,
}
/**
 * Lever's test delivery (`candidateHired` with empty data).
 */
export interface SkipReasonPing {
  tag: 'ping',
}
/**
 * An interview event Lever does not confirm (the interview is missing, or still there
 * and not canceled): the interview's id.
 */
export interface SkipReasonInterviewNotConfirmed {
  tag: 'interview-not-confirmed',
  val: string,
}
/**
 * Where a delivery token stands.
 * # Variants
 * 
 * ## `"processing"`
 * 
 * Claimed; its work is under way.
 * ## `"forwarded"`
 * 
 * The partner was notified.
 * ## `"ignored"`
 * 
 * A verified event not acted on.
 * ## `"skipped"`
 * 
 * Nothing needed sending.
 * ## `"queued"`
 * 
 * Accepted; its work failed and waits in the connection's outbox for a retry.
 * ## `"dead-lettered"`
 * 
 * Its work ran out of attempts; it sits in the dead letters with its last error.
 */
export type DeliveryState = 'processing' | 'forwarded' | 'ignored' | 'skipped' | 'queued' | 'dead-lettered';
/**
 * An accepted delivery whose work failed and is retried from the outbox.
 */
export interface QueuedDelivery {
  /**
   * Attempts made so far.
   */
  attempts: number,
  /**
   * When the next attempt is due.
   */
  nextAttemptAt: bigint,
  /**
   * Why the last attempt failed (no secrets).
   */
  lastError: string,
  /**
   * Whether that was the last attempt allowed (`outbox_max_attempts`): it is in the dead
   * letters now.
   */
  deadLettered: boolean,
}
/**
 * What one `tick` did.
 */
export interface TickReport {
  /**
   * Items attempted.
   */
  attempted: number,
  /**
   * Items whose work is done now.
   */
  delivered: number,
  /**
   * Items that failed again and wait for their next attempt.
   */
  rescheduled: number,
  /**
   * Items moved to the dead letters.
   */
  deadLettered: number,
  /**
   * Items not yet due, or held by another instance.
   */
  waiting: number,
  /**
   * Expired guards (delivery records, trigger-seen markers, portal links and sessions,
   * OAuth states) and their index entries deleted by this tick's sweep.
   */
  swept: number,
}
/**
 * What the connector did with an accepted delivery.
 */
export type WebhookOutcome = WebhookOutcomeForwarded | WebhookOutcomeDuplicate | WebhookOutcomeIgnored | WebhookOutcomeSkipped | WebhookOutcomeQueued;
/**
 * The partner was notified.
 */
export interface WebhookOutcomeForwarded {
  tag: 'forwarded',
  val: ForwardedEvent,
}
/**
 * This delivery token was handled before (or is being handled within its lease);
 * nothing was done again. Carries where it stands.
 */
export interface WebhookOutcomeDuplicate {
  tag: 'duplicate',
  val: DeliveryState,
}
/**
 * A verified event the connector does not act on (an unknown event type, or one handled
 * by a later version); carries the event name.
 */
export interface WebhookOutcomeIgnored {
  tag: 'ignored',
  val: string,
}
/**
 * A verified event that needed no partner call, recorded with its reason.
 */
export interface WebhookOutcomeSkipped {
  tag: 'skipped',
  val: SkipReason,
}
/**
 * Accepted, but its work failed in a way a retry may fix (Lever or the partner down or
 * rate limiting, credentials refused): it was written to the
 * connection's outbox before this answer, and `tick` retries it.
 */
export interface WebhookOutcomeQueued {
  tag: 'queued',
  val: QueuedDelivery,
}
/**
 * The connector's answer to one delivery.
 */
export interface WebhookReceipt {
  /**
   * The connection it was delivered to.
   */
  connection: ConnectionId,
  /**
   * The Lever event name, as sent.
   */
  event: string,
  /**
   * The delivery token, as sent.
   */
  token: string,
  /**
   * What happened.
   */
  outcome: WebhookOutcome,
}
