/** @module Interface lever:connector/partner@0.2.0 **/
/**
 * Uploads a submitted candidate to the Lever posting linked to its role, at the
 * connection's upload stage, as the `perform_as` user, with the note and resume.
 * Idempotent per partner candidate id, even after an attempt that died half way.
 * Errors: `invalid-input` (bad fields, a resume type Lever does not take), `too-large`
 * (resume over 30 MB), `not-found` (role not linked), `not-configured` (`perform_as`),
 * `conflict` (another attempt for the candidate is under way; retry), `upstream`.
 */
export function submitCandidate(connection: ConnectionId, submission: CandidateSubmission): UploadedCandidate;
/**
 * Moves or rejects the candidate's Lever opportunity. The state set is not echoed back
 * to the partner when Lever's webhook for it arrives. Errors: `not-found` (candidate not
 * linked, or gone from Lever), `invalid-input` (a stage that maps to nothing, naming
 * it), `not-configured` (a rejection without a usable archive reason).
 */
export function setCandidateStage(connection: ConnectionId, partnerCandidateId: PartnerCandidateId, requested: CandidateMove): MovedCandidate;
/**
 * Re-reads the opportunities Lever changed since the connection's cursor and reports
 * what a missed webhook left behind. Safe to run any time.
 */
export function reconcile(connection: ConnectionId): ReconcileReport;
/**
 * Records that `partner-candidate-id` is the Lever opportunity `opportunity-id` on this
 * connection (for candidates uploaded before the connector was installed, or by another
 * path). Idempotent: linking the same pair again succeeds. Errors: `invalid-input` for an
 * empty id; `conflict` when either side is already linked to something else.
 */
export function linkCandidate(connection: ConnectionId, partnerCandidateId: PartnerCandidateId, opportunityId: OpportunityId): void;
/**
 * The partner candidate linked to an opportunity on this connection, if any.
 */
export function getLinkedCandidate(connection: ConnectionId, opportunityId: OpportunityId): PartnerCandidateId | undefined;
export type ConnectionId = import('./lever-connector-types.js').ConnectionId;
export type ConnectorError = import('./lever-connector-types.js').ConnectorError;
export type OpportunityId = import('./lever-connector-types.js').OpportunityId;
export type PartnerCandidateId = import('./lever-connector-types.js').PartnerCandidateId;
export type PostingId = import('./lever-connector-types.js').PostingId;
export type Phone = import('./lever-connector-types.js').Phone;
export type StageId = import('./lever-connector-types.js').StageId;
export type UnixMs = import('./lever-connector-types.js').UnixMs;
/**
 * What the partner asks for its candidate.
 */
export type CandidateMove = CandidateMoveStage | CandidateMoveRejected;
/**
 * Move to the Lever stage mapped from this partner stage (the stage map first, then
 * a case- and punctuation-insensitive match of Lever stage names).
 */
export interface CandidateMoveStage {
  tag: 'stage',
  val: string,
}
/**
 * Reject: archive with the Lever archive reason matching this text by name, else the
 * connection's rejection reason.
 */
export interface CandidateMoveRejected {
  tag: 'rejected',
  val: string | undefined,
}
/**
 * What a partner move did in Lever.
 */
export interface MovedCandidate {
  /**
   * The Lever opportunity.
   */
  opportunityId: OpportunityId,
  /**
   * Its Lever stage now.
   */
  leverStageId: StageId,
  /**
   * The archive reason, for a rejection.
   */
  archiveReasonId?: string,
  /**
   * False when Lever already showed this (nothing was written).
   */
  changed: boolean,
}
/**
 * What a reconciliation found and fixed.
 */
export interface ReconcileReport {
  /**
   * Opportunities Lever changed since the cursor.
   */
  changed: number,
  /**
   * Of those, the ones linked to partner candidates.
   */
  tracked: number,
  /**
   * Partner events sent to repair what a missed webhook left behind.
   */
  fixed: number,
  /**
   * The cursor now: the newest `updatedAt` read.
   */
  cursor: UnixMs,
}
/**
 * Where a resume's bytes come from.
 */
export type ResumeSource = ResumeSourceBytes | ResumeSourceUrl;
/**
 * The bytes, at most 30 MB.
 */
export interface ResumeSourceBytes {
  tag: 'bytes',
  val: Uint8Array,
}
/**
 * An http(s) URL the connector fetches (its host must be allowed by the host).
 */
export interface ResumeSourceUrl {
  tag: 'url',
  val: string,
}
/**
 * A resume file.
 */
export interface Resume {
  /**
   * File name with extension (pdf, doc, docx, txt, png or jpg).
   */
  fileName: string,
  /**
   * MIME type; guessed from the extension when absent.
   */
  contentType?: string,
  /**
   * The bytes or where to fetch them.
   */
  source: ResumeSource,
}
/**
 * A candidate submitted on the partner platform for a role linked to a Lever posting.
 */
export interface CandidateSubmission {
  /**
   * The partner's candidate id (the idempotency key: submitting twice uploads once).
   */
  partnerCandidateId: PartnerCandidateId,
  /**
   * The partner role; it must be linked to a Lever posting.
   */
  partnerRoleId: string,
  /**
   * Full name.
   */
  name: string,
  /**
   * Email addresses.
   */
  emails: Array<string>,
  /**
   * Phone numbers.
   */
  phones: Array<Phone>,
  /**
   * LinkedIn profile URL, when known.
   */
  linkedinUrl?: string,
  /**
   * Link back to the application on the partner platform.
   */
  applicationUrl?: string,
  /**
   * A note for the hiring team, attached to the opportunity.
   */
  note?: string,
  /**
   * Resume file, when given.
   */
  resume?: Resume,
}
/**
 * The result of an upload.
 */
export interface UploadedCandidate {
  /**
   * The Lever opportunity created (or found, on a repeated submission).
   */
  opportunityId: OpportunityId,
  /**
   * Its page in Lever.
   */
  url?: string,
  /**
   * The posting it was attached to.
   */
  postingId: PostingId,
  /**
   * The stage it was placed in.
   */
  stageId: StageId,
  /**
   * Whether Lever attached it to an existing contact with the same email.
   */
  deduped: boolean,
  /**
   * False when this partner candidate was uploaded before (nothing was created now).
   */
  created: boolean,
}
