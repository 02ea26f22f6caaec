/** @module Interface lever:connector/actions@0.2.0 **/
/**
 * Creates an opportunity (as the `perform_as` user).
 */
export function createOpportunity(connection: ConnectionId, input: NewOpportunity): CreatedOpportunity;
/**
 * Gets one opportunity; `not-found` when Lever has none with this id.
 */
export function getOpportunity(connection: ConnectionId, id: OpportunityId): Opportunity;
/**
 * Lists opportunities one page at a time.
 */
export function listOpportunities(connection: ConnectionId, filter: OpportunityFilter, page: PageRequest): OpportunityPage;
/**
 * Gets one contact.
 */
export function getContact(connection: ConnectionId, id: ContactId): Contact;
/**
 * Updates a contact; fields left out are kept.
 */
export function updateContact(connection: ConnectionId, id: ContactId, changes: ContactUpdate): Contact;
/**
 * Creates a posting (as the `perform_as` user).
 */
export function createPosting(connection: ConnectionId, input: NewPosting): Posting;
/**
 * Updates a posting (as the `perform_as` user).
 */
export function updatePosting(connection: ConnectionId, id: PostingId, changes: PostingUpdate): Posting;
/**
 * Gets one posting.
 */
export function getPosting(connection: ConnectionId, id: PostingId): Posting;
/**
 * Lists postings one page at a time.
 */
export function listPostings(connection: ConnectionId, filter: PostingFilter, page: PageRequest): PostingPage;
/**
 * Sends any request to Lever with the connector's credentials and returns Lever's raw
 * answer (Lever errors are returned, not turned into `connector-error`).
 */
export function proxy(connection: ConnectionId, request: ProxyRequest): ProxyResponse;
export type ConnectionId = import('./lever-connector-types.js').ConnectionId;
export type HttpMethod = import('./lever-connector-types.js').HttpMethod;
export type ConnectorError = import('./lever-connector-types.js').ConnectorError;
export type Contact = import('./lever-connector-types.js').Contact;
export type ContactId = import('./lever-connector-types.js').ContactId;
export type Opportunity = import('./lever-connector-types.js').Opportunity;
export type OpportunityId = import('./lever-connector-types.js').OpportunityId;
export type PageRequest = import('./lever-connector-types.js').PageRequest;
export type Phone = import('./lever-connector-types.js').Phone;
export type Posting = import('./lever-connector-types.js').Posting;
export type PostingCategories = import('./lever-connector-types.js').PostingCategories;
export type PostingId = import('./lever-connector-types.js').PostingId;
export type StageId = import('./lever-connector-types.js').StageId;
export type UserId = import('./lever-connector-types.js').UserId;
export type UnixMs = import('./lever-connector-types.js').UnixMs;
/**
 * The fields of a new opportunity; all but `name` are optional.
 */
export interface NewOpportunity {
  /**
   * Candidate name.
   */
  name: string,
  /**
   * Headline.
   */
  headline?: string,
  /**
   * Email addresses (an existing contact with one of them is reused by Lever).
   */
  emails: Array<string>,
  /**
   * Phone numbers.
   */
  phones: Array<Phone>,
  /**
   * Links.
   */
  links: Array<string>,
  /**
   * Location.
   */
  location?: string,
  /**
   * Initial stage; Lever's default is `lead-new`.
   */
  stage?: StageId,
  /**
   * The posting to apply to (at most one).
   */
  posting?: PostingId,
  /**
   * Sources.
   */
  sources: Array<string>,
  /**
   * Tags.
   */
  tags: Array<string>,
  /**
   * Origin: `agency`, `applied`, `internal`, `referred`, `sourced` or `university`.
   */
  origin?: string,
}
/**
 * A created opportunity.
 */
export interface CreatedOpportunity {
  /**
   * The opportunity.
   */
  opportunity: Opportunity,
  /**
   * True when Lever attached it to an existing contact with the same email.
   */
  deduped: boolean,
}
/**
 * Filters for listing opportunities (all optional, combined with AND; list filters match
 * any of their values). Times are inclusive Unix ms.
 */
export interface OpportunityFilter {
  /**
   * Contact email.
   */
  email?: string,
  /**
   * Applied to this posting.
   */
  postingId?: PostingId,
  /**
   * Archived from this posting.
   */
  archivedPostingId?: PostingId,
  /**
   * In this stage.
   */
  stageId?: StageId,
  /**
   * With any of these tags.
   */
  tags: Array<string>,
  /**
   * Origin.
   */
  origin?: string,
  /**
   * With any of these sources.
   */
  sources: Array<string>,
  /**
   * Belonging to this contact.
   */
  contactId?: ContactId,
  /**
   * Archived (`true`) or active (`false`).
   */
  archived?: boolean,
  /**
   * Archived for this reason.
   */
  archiveReasonId?: string,
  /**
   * Snoozed or not.
   */
  snoozed?: boolean,
  /**
   * Location.
   */
  location?: string,
  /**
   * `all` to include confidential opportunities.
   */
  confidentiality?: string,
  /**
   * Created at or after.
   */
  createdAtStart?: UnixMs,
  /**
   * Created at or before.
   */
  createdAtEnd?: UnixMs,
  /**
   * Updated at or after (a usable incremental cursor).
   */
  updatedAtStart?: UnixMs,
  /**
   * Updated at or before.
   */
  updatedAtEnd?: UnixMs,
  /**
   * Advanced at or after.
   */
  advancedAtStart?: UnixMs,
  /**
   * Advanced at or before.
   */
  advancedAtEnd?: UnixMs,
  /**
   * Archived at or after.
   */
  archivedAtStart?: UnixMs,
  /**
   * Archived at or before.
   */
  archivedAtEnd?: UnixMs,
}
/**
 * A page of opportunities.
 */
export interface OpportunityPage {
  /**
   * The opportunities.
   */
  items: Array<Opportunity>,
  /**
   * Cursor for the next page; `none` on the last page.
   */
  next?: string,
}
/**
 * Changes to a contact; fields left `none` are kept.
 */
export interface ContactUpdate {
  /**
   * Name.
   */
  name?: string,
  /**
   * Headline.
   */
  headline?: string,
  /**
   * Location.
   */
  location?: string,
  /**
   * Email addresses (replace the list).
   */
  emails?: Array<string>,
  /**
   * Phone numbers (replace the list).
   */
  phones?: Array<Phone>,
}
/**
 * The fields of a new posting.
 */
export interface NewPosting {
  /**
   * Job title.
   */
  text: string,
  /**
   * Initial state; Lever's default is `draft`.
   */
  state?: string,
  /**
   * Categories.
   */
  categories: PostingCategories,
  /**
   * Tags.
   */
  tags: Array<string>,
  /**
   * Plain-text description.
   */
  description?: string,
  /**
   * `onsite`, `remote` or `hybrid`.
   */
  workplaceType?: string,
  /**
   * Owner.
   */
  owner?: UserId,
  /**
   * Hiring manager.
   */
  hiringManager?: UserId,
}
/**
 * Changes to a posting; fields left `none` are kept.
 */
export interface PostingUpdate {
  /**
   * Job title.
   */
  text?: string,
  /**
   * State.
   */
  state?: string,
  /**
   * Categories (replace all five).
   */
  categories?: PostingCategories,
  /**
   * Tags (replace the list).
   */
  tags?: Array<string>,
  /**
   * Plain-text description.
   */
  description?: string,
  /**
   * Workplace type; cannot go back to `unspecified`.
   */
  workplaceType?: string,
}
/**
 * Filters for listing postings. `updated-at-start`/`-end` cannot be combined with the
 * others (Lever's rule): `invalid-input`.
 */
export interface PostingFilter {
  /**
   * State.
   */
  state?: string,
  /**
   * Team.
   */
  team?: string,
  /**
   * Department.
   */
  department?: string,
  /**
   * Location.
   */
  location?: string,
  /**
   * Commitment.
   */
  commitment?: string,
  /**
   * Level.
   */
  level?: string,
  /**
   * Tag.
   */
  tag?: string,
  /**
   * Updated at or after this time.
   */
  updatedAtStart?: UnixMs,
  /**
   * Updated at or before this time.
   */
  updatedAtEnd?: UnixMs,
}
/**
 * A page of postings.
 */
export interface PostingPage {
  /**
   * The postings.
   */
  items: Array<Posting>,
  /**
   * Cursor for the next page; `none` on the last page.
   */
  next?: string,
}
/**
 * A raw Lever request for anything the typed actions do not cover.
 */
export interface ProxyRequest {
  /**
   * HTTP method.
   */
  method: HttpMethod,
  /**
   * Path below the API root, such as `/opportunities/ID/notes`. A path that tries to
   * leave the API root (an absolute URL, `..`, encoded slashes or dots, another host) is
   * `invalid-input`.
   */
  path: string,
  /**
   * Query parameters (repeat a key for arrays).
   */
  query: Array<[string, string]>,
  /**
   * Request body: deliberately raw JSON text, passed through unparsed.
   */
  body?: string,
  /**
   * Add `perform_as=<the connection's user>`.
   */
  performAs: boolean,
}
/**
 * Lever's raw answer to a proxied request.
 */
export interface ProxyResponse {
  /**
   * HTTP status.
   */
  status: number,
  /**
   * Response body: deliberately raw JSON text, passed through unparsed. A body that is
   * not UTF-8 (a file download) has its invalid bytes replaced: download files through the
   * HTTP face's `/connections/{c}/proxy/...` route, which passes the bytes through.
   */
  body: string,
}
