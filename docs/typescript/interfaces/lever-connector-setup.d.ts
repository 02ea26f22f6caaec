/** @module Interface lever:connector/setup@0.2.0 **/
/**
 * Every connection with credentials, in id order (for hosts that drive
 * reconciliation). Read from the connection registry: a fixed number of reads, never a
 * listing of the store. A store written by 0.2.0 is upgraded first (once).
 */
export function listConnections(): Array<ConnectionId>;
/**
 * Lever's archive reasons.
 */
export function listLeverArchiveReasons(connection: ConnectionId): Array<ArchiveReason>;
/**
 * Chooses the archive reason partner rejections use (active, non-hired).
 */
export function setRejectionReason(connection: ConnectionId, archiveReasonId: string): ArchiveReason;
/**
 * Sets the tags every uploaded candidate gets.
 */
export function setUploadTags(connection: ConnectionId, tags: Array<string>): void;
/**
 * Connects with a Lever API key, validated by one cheap Lever call first. Errors:
 * `unauthorized` when Lever rejects the key (nothing is stored).
 */
export function connectApiKey(connection: ConnectionId, apiKey: string): void;
/**
 * Begins OAuth: answers the Lever authorize URL to send a Super Admin to. The `state` in
 * it is single use and expires after 10 minutes.
 */
export function beginOauth(connection: ConnectionId): string;
/**
 * Finishes OAuth with what Lever's redirect carried: exchanges the code, stores the
 * tokens (encrypted) and records Lever's account id. Errors: `unauthorized` for an
 * unknown, used or expired `state`, or consent refused.
 */
export function completeOauth(callback: OauthCallback): OauthConnected;
/**
 * The connection's status; never fails on missing setup, it lists it instead.
 */
export function getStatus(connection: ConnectionId): ConnectionStatus;
/**
 * Lever's stages in pipeline order.
 */
export function listLeverStages(connection: ConnectionId): Array<Stage>;
/**
 * Active Lever users (candidates for `perform_as`; deactivated users are hidden).
 */
export function listLeverUsers(connection: ConnectionId): Array<User>;
/**
 * Lever's postings, all pages, optionally in one `state`.
 */
export function listLeverPostings(connection: ConnectionId, state: string | undefined): Array<PostingSummary>;
/**
 * Replaces the stage map. Errors: `invalid-input` for empty ids or a Lever stage mapped
 * twice.
 */
export function setStageMap(connection: ConnectionId, mappings: Array<StageMapping>): void;
/**
 * The stage map (empty when none is set).
 */
export function getStageMap(connection: ConnectionId): Array<StageMapping>;
/**
 * Chooses the Lever user writes are attributed to; it must be an active Lever user.
 */
export function setPerformAs(connection: ConnectionId, userId: UserId): User;
/**
 * Chooses the stage uploads go to (`none`: the default rule). Errors: `not-found` for a
 * stage Lever does not have.
 */
export function setUploadStage(connection: ConnectionId, stageId: StageId | undefined): Stage | undefined;
/**
 * Links a partner role to a Lever posting. Errors: `not-found` for an unknown posting.
 */
export function linkRole(connection: ConnectionId, role: string, postingId: PostingId): void;
/**
 * Unlinks a role. Errors: `not-found` when it was not linked.
 */
export function unlinkRole(connection: ConnectionId, role: string): void;
/**
 * Every role link.
 */
export function listRoles(connection: ConnectionId): Array<RoleLink>;
/**
 * Creates (or repairs) the Lever webhooks the connector needs, delivering to
 * `{public_base_url}/webhooks/lever/{connection}`, and stores their signature tokens
 * encrypted. Idempotent.
 */
export function installWebhooks(connection: ConnectionId): InstallReport;
/**
 * Disconnects: deletes the connector's webhooks in Lever and drops tokens and signature
 * tokens; with `purge`, links, maps and settings too. Afterwards the connection's
 * deliveries are refused and its calls answer `not-configured`.
 */
export function disconnect(connection: ConnectionId, purge: boolean): DisconnectReport;
/**
 * The connection's dead letters, oldest first.
 */
export function listDeadLetters(connection: ConnectionId): Array<DeadLetter>;
/**
 * Puts a dead letter back in the outbox with a fresh set of attempts and makes the first
 * at once; where the delivery stands afterwards. `not-found` for an unknown token.
 */
export function replayDeadLetter(connection: ConnectionId, token: string): DeliveryState;
export type ConnectionId = import('./lever-connector-types.js').ConnectionId;
export type ConnectorError = import('./lever-connector-types.js').ConnectorError;
export type PostingId = import('./lever-connector-types.js').PostingId;
export type Stage = import('./lever-connector-types.js').Stage;
export type StageId = import('./lever-connector-types.js').StageId;
export type UnixMs = import('./lever-connector-types.js').UnixMs;
export type User = import('./lever-connector-types.js').User;
export type UserId = import('./lever-connector-types.js').UserId;
export type DeliveryState = import('./lever-connector-webhooks.js').DeliveryState;
/**
 * A delivery that ran out of attempts.
 */
export interface DeadLetter {
  /**
   * Its delivery token.
   */
  token: string,
  /**
   * The Lever event.
   */
  event: string,
  /**
   * Attempts made.
   */
  attempts: number,
  /**
   * When it was accepted.
   */
  acceptedAt: UnixMs,
  /**
   * Why the last attempt failed (no secrets).
   */
  lastError: string,
}
/**
 * How a connection authenticates to Lever.
 * # Variants
 * 
 * ## `"none"`
 * 
 * Not connected.
 * ## `"api-key"`
 * 
 * A Lever API key.
 * ## `"oauth"`
 * 
 * OAuth tokens (refreshed before they expire).
 */
export type AuthKind = 'none' | 'api-key' | 'oauth';
/**
 * What Lever's redirect to the OAuth callback carried.
 */
export interface OauthCallback {
  /**
   * The authorization code.
   */
  code?: string,
  /**
   * The `state` nonce from `begin-oauth`.
   */
  state?: string,
  /**
   * Lever's error, such as `access_denied`.
   */
  error?: string,
  /**
   * Lever's explanation of `error`.
   */
  errorDescription?: string,
}
/**
 * A scope the connector needs that Lever did not grant.
 */
export interface MissingScope {
  /**
   * The scope, such as `webhooks:write:admin`.
   */
  scope: string,
  /**
   * What does not work without it.
   */
  neededFor: string,
}
/**
 * A finished OAuth round trip.
 */
export interface OauthConnected {
  /**
   * The connection now connected.
   */
  connection: ConnectionId,
  /**
   * Lever's account id, from the access token.
   */
  accountId?: string,
  /**
   * When the access token expires.
   */
  expiresAt: UnixMs,
  /**
   * Scopes not granted.
   */
  missingScopes: Array<MissingScope>,
}
/**
 * A posting as setup lists it.
 */
export interface PostingSummary {
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
   * Last update.
   */
  updatedAt: UnixMs,
}
/**
 * One Lever stage mapped to one partner stage.
 */
export interface StageMapping {
  /**
   * The Lever stage.
   */
  leverStageId: StageId,
  /**
   * The partner's name for it.
   */
  partnerStage: string,
}
/**
 * A partner role linked to a Lever posting.
 */
export interface RoleLink {
  /**
   * The partner's role id.
   */
  role: string,
  /**
   * The Lever posting its candidates are uploaded to.
   */
  postingId: PostingId,
}
/**
 * What an install did with one webhook.
 * # Variants
 * 
 * ## `"created"`
 * 
 * Created in Lever.
 * ## `"repaired"`
 * 
 * Its URL was wrong and was repaired.
 * ## `"unchanged"`
 * 
 * Already right.
 */
export type InstallAction = 'created' | 'repaired' | 'unchanged';
/**
 * One of the connector's Lever webhooks after an install.
 */
export interface InstalledWebhook {
  /**
   * The Lever event it delivers.
   */
  event: string,
  /**
   * Lever's webhook id.
   */
  id: string,
  /**
   * Where it delivers: `{public_base_url}/webhooks/lever/{connection}`.
   */
  url: string,
  /**
   * What the install did.
   */
  action: InstallAction,
}
/**
 * The result of `install-webhooks`.
 */
export interface InstallReport {
  /**
   * The connector's webhooks.
   */
  webhooks: Array<InstalledWebhook>,
  /**
   * Webhooks made in Lever's UI that duplicate ours, and the Super Admin step.
   */
  warnings: Array<string>,
}
/**
 * Where one of the connector's webhooks stands.
 * # Variants
 * 
 * ## `"missing"`
 * 
 * Not installed.
 * ## `"awaiting-enablement"`
 * 
 * Installed; no verified delivery yet (a Super Admin must switch its event on).
 * ## `"receiving"`
 * 
 * Verified deliveries arrive.
 */
export type WebhookState = 'missing' | 'awaiting-enablement' | 'receiving';
/**
 * One webhook in the status.
 */
export interface WebhookStatus {
  /**
   * The event.
   */
  event: string,
  /**
   * Lever's id, when installed.
   */
  id?: string,
  /**
   * Where it delivers, when installed.
   */
  url?: string,
  /**
   * Its state.
   */
  state: WebhookState,
  /**
   * The last verified delivery (to the minute: it is recorded again once a minute has
   * passed).
   */
  lastDeliveryAt?: UnixMs,
}
/**
 * A mapped Lever stage in the status.
 */
export interface MappedStage {
  /**
   * The Lever stage.
   */
  leverStageId: StageId,
  /**
   * Its name in Lever, when known.
   */
  text?: string,
  /**
   * The partner stage.
   */
  partnerStage: string,
}
/**
 * Where the upload stage comes from.
 * # Variants
 * 
 * ## `"chosen"`
 * 
 * Chosen with `set-upload-stage`.
 * ## `"default-rule"`
 * 
 * The default rule: the first screen or interview stage after the lead and applicant
 * stages.
 */
export type UploadStageSource = 'chosen' | 'default-rule';
/**
 * The stage uploads go to.
 */
export interface UploadStage {
  /**
   * The stage.
   */
  stageId: StageId,
  /**
   * Its name, when known.
   */
  text?: string,
  /**
   * Where it comes from.
   */
  source: UploadStageSource,
}
/**
 * Everything about one connection.
 */
export interface ConnectionStatus {
  /**
   * The connection.
   */
  connection: ConnectionId,
  /**
   * How it authenticates.
   */
  auth: AuthKind,
  /**
   * The Lever environment it uses: `production` or `sandbox`.
   */
  environment: string,
  /**
   * Lever refused the refresh token (`invalid_grant`): an admin must connect again.
   */
  reconnectNeeded: boolean,
  /**
   * When the OAuth access token expires (it is refreshed before).
   */
  tokenExpiresAt?: UnixMs,
  /**
   * Lever's account id (OAuth).
   */
  accountId?: string,
  /**
   * Scopes needed but not granted.
   */
  missingScopes: Array<MissingScope>,
  /**
   * The user writes are attributed to.
   */
  performAs?: UserId,
  /**
   * Role links.
   */
  roles: Array<RoleLink>,
  /**
   * Mapped stages.
   */
  mappedStages: Array<MappedStage>,
  /**
   * Lever stages without a partner stage (when Lever was reachable).
   */
  unmappedStages: Array<Stage>,
  /**
   * Where uploads go.
   */
  uploadStage?: UploadStage,
  /**
   * The connector's webhooks.
   */
  webhooks: Array<WebhookStatus>,
  /**
   * Setup steps still to do.
   */
  missing: Array<string>,
  /**
   * Problems met reading the status (Lever unreachable, say).
   */
  problems: Array<string>,
}
/**
 * What a disconnect did.
 */
export interface DisconnectReport {
  /**
   * The connector's webhooks deleted in Lever.
   */
  removedWebhooks: Array<string>,
  /**
   * Webhooks that could not be deleted in Lever (id, reason); their deliveries are
   * refused either way.
   */
  failedWebhooks: Array<[string, string]>,
  /**
   * Whether links, maps and settings were deleted too.
   */
  purged: boolean,
}
/**
 * A Lever archive reason.
 */
export interface ArchiveReason {
  /**
   * Its id.
   */
  id: string,
  /**
   * Its text.
   */
  text: string,
  /**
   * Whether it is of type `hired`.
   */
  hired: boolean,
  /**
   * Whether it is active.
   */
  active: boolean,
}
