/** @module Interface lever:connector/types@0.2.0 **/
/**
 * A Lever opportunity id (one candidacy of a contact).
 */
export type OpportunityId = string;
/**
 * A Lever contact id (the person behind one or more opportunities).
 */
export type ContactId = string;
/**
 * A Lever stage id: a slug such as `lead-new` or a UUID for custom stages.
 */
export type StageId = string;
/**
 * A Lever posting id.
 */
export type PostingId = string;
/**
 * A Lever user id (the `perform_as` user, owners, hiring managers).
 */
export type UserId = string;
/**
 * The partner platform's own candidate id.
 */
export type PartnerCandidateId = string;
/**
 * Unix time in milliseconds.
 */
export type UnixMs = bigint;
/**
 * A connection: one Lever account connected by one of the partner's customers. Chosen by
 * the partner (its customer or workspace id): 1 to 64 characters of `[A-Za-z0-9_-]`.
 */
export type ConnectionId = string;
/**
 * A service the connector calls.
 * # Variants
 * 
 * ## `"lever"`
 * 
 * The Lever API (or Lever's OAuth server).
 * ## `"partner"`
 * 
 * The partner platform's callback endpoint.
 */
export type Service = 'lever' | 'partner';
/**
 * An HTTP method.
 * # Variants
 * 
 * ## `"get"`
 * 
 * GET
 * ## `"post"`
 * 
 * POST
 * ## `"put"`
 * 
 * PUT
 * ## `"delete"`
 * 
 * DELETE
 * ## `"patch"`
 * 
 * PATCH
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';
/**
 * How long to wait before retrying a rate-limited call.
 */
export interface RateLimit {
  /**
   * The wait Lever asked for with `Retry-After`, in milliseconds, when it sent one.
   */
  retryAfterMs?: bigint,
}
/**
 * An error answer from an upstream service.
 */
export interface UpstreamError {
  /**
   * Which service answered.
   */
  service: Service,
  /**
   * The HTTP status it answered with (0 when no answer arrived).
   */
  status: number,
  /**
   * Its error message, cut to a readable length; never contains credentials.
   */
  message: string,
}
/**
 * Every failure a connector function can report. The HTTP face maps each case to one
 * status code; whether a retry may help is part of the case.
 */
export type ConnectorError = ConnectorErrorInvalidInput | ConnectorErrorUnauthorized | ConnectorErrorNotFound | ConnectorErrorConflict | ConnectorErrorTooLarge | ConnectorErrorRateLimited | ConnectorErrorUpstream | ConnectorErrorNotConfigured | ConnectorErrorUnsupported | ConnectorErrorInternal;
/**
 * The input can never succeed as sent (malformed JSON, missing field, bad id). HTTP 400.
 */
export interface ConnectorErrorInvalidInput {
  tag: 'invalid-input',
  val: string,
}
/**
 * A signature or credential is missing, wrong or stale. HTTP 401. Not retryable.
 */
export interface ConnectorErrorUnauthorized {
  tag: 'unauthorized',
  val: string,
}
/**
 * The thing named does not exist, in Lever or in the connector. HTTP 404.
 */
export interface ConnectorErrorNotFound {
  tag: 'not-found',
  val: string,
}
/**
 * The request conflicts with the current state (already linked, say). HTTP 409.
 */
export interface ConnectorErrorConflict {
  tag: 'conflict',
  val: string,
}
/**
 * The request body is larger than the limit, given in bytes. HTTP 413.
 */
export interface ConnectorErrorTooLarge {
  tag: 'too-large',
  val: bigint,
}
/**
 * Lever (or the partner) is rate limiting us; retry after the given wait. HTTP 429.
 */
export interface ConnectorErrorRateLimited {
  tag: 'rate-limited',
  val: RateLimit,
}
/**
 * Lever or the partner answered with an error. HTTP 502; retry may help for 5xx.
 */
export interface ConnectorErrorUpstream {
  tag: 'upstream',
  val: UpstreamError,
}
/**
 * A required configuration key or setup step is missing (the string starts with its
 * name: a config key, `perform_as`, or "connection X is not connected"). HTTP 503.
 */
export interface ConnectorErrorNotConfigured {
  tag: 'not-configured',
  val: string,
}
/**
 * The function is declared but not implemented in this version. HTTP 501.
 */
export interface ConnectorErrorUnsupported {
  tag: 'unsupported',
  val: string,
}
/**
 * A fault in the connector or its host (storage failed). HTTP 500.
 */
export interface ConnectorErrorInternal {
  tag: 'internal',
  val: string,
}
/**
 * One phone number of a contact.
 */
export interface Phone {
  /**
   * Lever's phone type: `mobile`, `home`, `work`, `skype` or `other`.
   */
  kind: string,
  /**
   * The number as entered.
   */
  value: string,
}
/**
 * Why and when an opportunity was archived.
 */
export interface Archived {
  /**
   * The archive reason id.
   */
  reason: string,
  /**
   * When it was archived.
   */
  archivedAt: UnixMs,
}
/**
 * A Lever opportunity as the connector reports it.
 */
export interface Opportunity {
  /**
   * Its id.
   */
  id: OpportunityId,
  /**
   * The candidate's name.
   */
  name: string,
  /**
   * The candidate's headline, when set.
   */
  headline?: string,
  /**
   * The contact this opportunity belongs to.
   */
  contact: ContactId,
  /**
   * Email addresses.
   */
  emails: Array<string>,
  /**
   * Phone numbers.
   */
  phones: Array<Phone>,
  /**
   * Links (LinkedIn, the partner application, ...).
   */
  links: Array<string>,
  /**
   * Free-text location, when set.
   */
  location?: string,
  /**
   * The current stage.
   */
  stage: StageId,
  /**
   * How the candidate came in (`agency`, `sourced`, ...), when known.
   */
  origin?: string,
  /**
   * Source names.
   */
  sources: Array<string>,
  /**
   * Tags (Lever appends the posting's categories on create).
   */
  tags: Array<string>,
  /**
   * The owning user, when set.
   */
  owner?: UserId,
  /**
   * Application ids (Lever allows at most one per opportunity).
   */
  applications: Array<string>,
  /**
   * Set when the opportunity is archived.
   */
  archived?: Archived,
  /**
   * Creation time.
   */
  createdAt: UnixMs,
  /**
   * Last update time.
   */
  updatedAt: UnixMs,
}
/**
 * A Lever contact (the person).
 */
export interface Contact {
  /**
   * Its id.
   */
  id: ContactId,
  /**
   * Name.
   */
  name: string,
  /**
   * Headline, when set.
   */
  headline?: string,
  /**
   * Location name, when set.
   */
  location?: string,
  /**
   * Email addresses.
   */
  emails: Array<string>,
  /**
   * Phone numbers.
   */
  phones: Array<Phone>,
  /**
   * Whether Lever anonymized this contact.
   */
  isAnonymized: boolean,
}
/**
 * A posting's categories.
 */
export interface PostingCategories {
  /**
   * Team.
   */
  team?: string,
  /**
   * Department.
   */
  department?: string,
  /**
   * Primary location.
   */
  location?: string,
  /**
   * Commitment (`Full-time`, ...).
   */
  commitment?: string,
  /**
   * Level.
   */
  level?: string,
}
/**
 * A Lever posting (a job).
 */
export interface Posting {
  /**
   * Its id.
   */
  id: PostingId,
  /**
   * The job title.
   */
  text: string,
  /**
   * `published`, `internal`, `closed`, `draft`, `pending` or `rejected`.
   */
  state: string,
  /**
   * Categories.
   */
  categories: PostingCategories,
  /**
   * Tags.
   */
  tags: Array<string>,
  /**
   * `onsite`, `remote`, `hybrid` or `unspecified`, when set.
   */
  workplaceType?: string,
  /**
   * Owner, when set.
   */
  owner?: UserId,
  /**
   * Hiring manager, when set.
   */
  hiringManager?: UserId,
  /**
   * Plain-text description, when set.
   */
  description?: string,
  /**
   * Creation time.
   */
  createdAt: UnixMs,
  /**
   * Last update time.
   */
  updatedAt: UnixMs,
}
/**
 * A Lever pipeline stage.
 */
export interface Stage {
  /**
   * Its id.
   */
  id: StageId,
  /**
   * Its display name.
   */
  text: string,
}
/**
 * A Lever user.
 */
export interface User {
  /**
   * Its id.
   */
  id: UserId,
  /**
   * Display name.
   */
  name: string,
  /**
   * Email address.
   */
  email: string,
  /**
   * Access role (`super admin`, `admin`, `team member`, ...).
   */
  accessRole: string,
  /**
   * When the user was deactivated, if it was.
   */
  deactivatedAt?: UnixMs,
}
/**
 * Where a list starts and how long a page may be.
 */
export interface PageRequest {
  /**
   * Page size, 1 to 100 (Lever's limit); `none` means 100.
   */
  limit?: number,
  /**
   * The `next` cursor of the previous page; `none` for the first page. Cursors keep the
   * read's window with Lever's offset, so a read resumed after Lever's offset token
   * expired neither loses nor repeats records.
   */
  cursor?: string,
  /**
   * Follow pages until this many records (or the end) instead of one page.
   */
  allPagesUpTo?: number,
}
