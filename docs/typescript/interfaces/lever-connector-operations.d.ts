/** @module Interface lever:connector/operations@0.2.0 **/
/**
 * Every operation with its schemas.
 */
export function listOperations(): Array<OperationInfo>;
/**
 * Runs an operation for a connection. `input` is the operation's JSON input (deliberately
 * raw JSON text, checked against its schema: an unknown field, a missing required one or
 * a wrong type is `invalid-input`); the answer is its JSON output, the same text the HTTP
 * face answers. Writes are recorded in the connection's audit trail.
 */
export function invoke(connection: ConnectionId, operation: Operation, input: string): string;
export type ConnectionId = import('./lever-connector-types.js').ConnectionId;
export type ConnectorError = import('./lever-connector-types.js').ConnectorError;
/**
 * generated: BLESS=1 cargo test -p lever-plugin wit_operation_enum
 * Every operation, in the order of `list-operations` (generated from the catalog).
 * # Variants
 * 
 * ## `"get-status"`
 * 
 * The connection's health: credentials, webhooks, maps, outbox.
 * ## `"connect-api-key"`
 * 
 * Connects with a Lever API key (checked with one Lever call first).
 * ## `"begin-oauth"`
 * 
 * Starts OAuth: the Lever authorize URL to send a Super Admin to.
 * ## `"disconnect"`
 * 
 * Deletes our webhooks in Lever and the credentials (with purge, everything).
 * ## `"set-environment"`
 * 
 * Chooses the Lever environment (production or sandbox) the connection uses, before it is connected.
 * ## `"list-lever-stages"`
 * 
 * Lever's stages, for the stage map.
 * ## `"list-lever-users"`
 * 
 * Lever's active users, for perform-as.
 * ## `"list-lever-postings"`
 * 
 * Lever's postings, for role links.
 * ## `"list-lever-archive-reasons"`
 * 
 * Lever's archive reasons, for the rejection reason.
 * ## `"get-stage-map"`
 * 
 * The stage map: Lever stage id to partner stage.
 * ## `"set-stage-map"`
 * 
 * Replaces the stage map and answers it.
 * ## `"set-perform-as"`
 * 
 * Chooses the Lever user writes are attributed to.
 * ## `"set-upload-stage"`
 * 
 * Chooses the stage uploads start in.
 * ## `"set-upload-tags"`
 * 
 * Sets the tags every upload gets.
 * ## `"set-rejection-reason"`
 * 
 * Chooses the archive reason partner rejections use.
 * ## `"list-roles"`
 * 
 * Every partner role linked to a Lever posting.
 * ## `"link-role"`
 * 
 * Links a partner role to a Lever posting.
 * ## `"unlink-role"`
 * 
 * Unlinks a partner role.
 * ## `"install-webhooks"`
 * 
 * Installs or repairs the connector's webhooks in Lever.
 * ## `"create-portal-link"`
 * 
 * A single-use link to the connect portal.
 * ## `"submit-candidate"`
 * 
 * Uploads a candidate to the posting linked to its role, once.
 * ## `"link-candidate"`
 * 
 * Links a partner candidate to a Lever opportunity made elsewhere.
 * ## `"get-candidate-link"`
 * 
 * The Lever opportunity a partner candidate is linked to.
 * ## `"get-linked-candidate"`
 * 
 * The partner candidate a Lever opportunity is linked to (null: none).
 * ## `"set-candidate-stage"`
 * 
 * Moves (or rejects) a submitted candidate in Lever.
 * ## `"reject-candidate"`
 * 
 * Rejects a submitted candidate: archived in Lever with the rejection reason.
 * ## `"add-candidate-note"`
 * 
 * Adds a partner note to the candidate's Lever opportunity once, as the perform_as user.
 * ## `"set-interview-feedback"`
 * 
 * Opts the connection in to (or out of) interview feedback in its interview events.
 * ## `"reconcile"`
 * 
 * Catches up with Lever's changes since the last reconcile.
 * ## `"enable-triggers"`
 * 
 * Chooses the enabled triggers.
 * ## `"poll-postings"`
 * 
 * Polls Lever's postings now (the posting triggers).
 * ## `"poll-trigger"`
 * 
 * The trigger's events since a cursor.
 * ## `"list-outbox"`
 * 
 * Deliveries waiting for a retry.
 * ## `"list-dead-letters"`
 * 
 * Deliveries that ran out of attempts.
 * ## `"replay-dead-letter"`
 * 
 * Tries a dead-lettered delivery again.
 * ## `"list-audit"`
 * 
 * The writes made for this connection, newest first.
 * ## `"create-opportunity"`
 * 
 * Creates an opportunity, as the perform_as user.
 * ## `"get-opportunity"`
 * 
 * Gets one opportunity.
 * ## `"list-opportunities"`
 * 
 * Lists opportunities, page by page.
 * ## `"get-contact"`
 * 
 * Gets one contact.
 * ## `"update-contact"`
 * 
 * Updates a contact; fields left out are kept.
 * ## `"create-posting"`
 * 
 * Creates a posting, as the perform_as user.
 * ## `"update-posting"`
 * 
 * Updates a posting, as the perform_as user.
 * ## `"get-posting"`
 * 
 * Gets one posting.
 * ## `"list-postings"`
 * 
 * Lists postings, page by page.
 * ## `"upload-file"`
 * 
 * Uploads a file to an opportunity, as the perform_as user (download it through the proxy).
 * ## `"apply-to-posting"`
 * 
 * Applies a candidate to a posting: reads its application form first, refuses unanswered required questions, then submits.
 * ## `"proxy"`
 * 
 * Sends any request below the Lever API root with the connection's credentials; Lever's answer comes back as it is.
 * ## `"list-notes"`
 * 
 * Lists an opportunity's notes.
 * ## `"get-note"`
 * 
 * Gets one note.
 * ## `"create-note"`
 * 
 * Adds a note to an opportunity, as the perform_as user.
 * ## `"delete-note"`
 * 
 * Deletes a note.
 * ## `"add-tags"`
 * 
 * Adds tags to an opportunity.
 * ## `"remove-tags"`
 * 
 * Removes tags from an opportunity.
 * ## `"add-sources"`
 * 
 * Adds sources to an opportunity.
 * ## `"remove-sources"`
 * 
 * Removes sources from an opportunity.
 * ## `"add-links"`
 * 
 * Adds links to an opportunity's contact.
 * ## `"remove-links"`
 * 
 * Removes links from an opportunity's contact.
 * ## `"change-stage"`
 * 
 * Moves an opportunity to a stage.
 * ## `"archive-opportunity"`
 * 
 * Archives an opportunity with a reason.
 * ## `"unarchive-opportunity"`
 * 
 * Unarchives an opportunity.
 * ## `"list-archive-reasons"`
 * 
 * Lists the account's archive reasons.
 * ## `"get-archive-reason"`
 * 
 * Gets one archive reason.
 * ## `"list-interviews"`
 * 
 * Lists an opportunity's interviews.
 * ## `"get-interview"`
 * 
 * Gets one interview.
 * ## `"create-interview"`
 * 
 * Schedules an interview in a panel created through the API.
 * ## `"update-interview"`
 * 
 * Replaces an interview (every field is sent).
 * ## `"delete-interview"`
 * 
 * Cancels an interview.
 * ## `"list-panels"`
 * 
 * Lists an opportunity's interview panels.
 * ## `"get-panel"`
 * 
 * Gets one panel.
 * ## `"create-panel"`
 * 
 * Creates an interview panel with its interviews.
 * ## `"update-panel"`
 * 
 * Replaces a panel.
 * ## `"delete-panel"`
 * 
 * Deletes a panel and its interviews.
 * ## `"list-feedback"`
 * 
 * Lists an opportunity's feedback forms.
 * ## `"get-feedback"`
 * 
 * Gets one feedback form.
 * ## `"create-feedback"`
 * 
 * Submits feedback with any template, as the perform_as user.
 * ## `"update-feedback"`
 * 
 * Updates a feedback form's answers.
 * ## `"delete-feedback"`
 * 
 * Deletes a feedback form.
 * ## `"list-feedback-templates"`
 * 
 * Lists the account's feedback templates.
 * ## `"get-feedback-template"`
 * 
 * Gets one feedback template.
 * ## `"create-feedback-template"`
 * 
 * Creates a feedback template.
 * ## `"update-feedback-template"`
 * 
 * Replaces a feedback template.
 * ## `"delete-feedback-template"`
 * 
 * Deletes a feedback template.
 * ## `"list-offers"`
 * 
 * Lists an opportunity's offers.
 * ## `"list-referrals"`
 * 
 * Lists an opportunity's referrals.
 * ## `"get-referral"`
 * 
 * Gets one referral.
 * ## `"list-applications"`
 * 
 * Lists an opportunity's applications.
 * ## `"get-application"`
 * 
 * Gets one application.
 * ## `"list-resumes"`
 * 
 * Lists every resume of an opportunity, page by page.
 * ## `"get-resume"`
 * 
 * Gets one resume's metadata (download it through the proxy: GET /opportunities/{id}/resumes/{resumeId}/download).
 * ## `"list-files"`
 * 
 * Lists an opportunity's files.
 * ## `"get-file"`
 * 
 * Gets one file's metadata (download it through the proxy: GET /opportunities/{id}/files/{fileId}/download).
 * ## `"delete-file"`
 * 
 * Deletes a file.
 * ## `"list-requisitions"`
 * 
 * Lists requisitions.
 * ## `"get-requisition"`
 * 
 * Gets one requisition.
 * ## `"create-requisition"`
 * 
 * Creates a requisition.
 * ## `"update-requisition"`
 * 
 * Replaces a requisition.
 * ## `"delete-requisition"`
 * 
 * Deletes a requisition.
 * ## `"list-requisition-fields"`
 * 
 * Lists the account's requisition fields.
 * ## `"get-requisition-field"`
 * 
 * Gets one requisition field.
 * ## `"get-application-questions"`
 * 
 * Reads a posting's application form: personal information, custom questions, EEO questions.
 * ## `"get-posting-users"`
 * 
 * The users and roles with access to a posting: {posting, users, roles}.
 * ## `"get-eeo-responses"`
 * 
 * EEO responses without personal information.
 * ## `"get-eeo-responses-pii"`
 * 
 * EEO responses with personal information.
 * ## `"list-users"`
 * 
 * Lists the account's users.
 * ## `"get-user"`
 * 
 * Gets one user.
 * ## `"create-user"`
 * 
 * Creates a user.
 * ## `"update-user"`
 * 
 * Replaces a user's name, email and role.
 * ## `"deactivate-user"`
 * 
 * Deactivates a user.
 * ## `"reactivate-user"`
 * 
 * Reactivates a user.
 * ## `"list-deleted-opportunities"`
 * 
 * Lists deleted opportunities.
 * ## `"list-deleted-applications"`
 * 
 * Lists deleted applications.
 * ## `"list-deleted-postings"`
 * 
 * Lists deleted postings.
 * ## `"list-sources"`
 * 
 * Lists the sources in use and how many opportunities have each.
 * ## `"list-tags"`
 * 
 * Lists the tags in use and how many opportunities have each.
 * ## `"list-stages"`
 * 
 * Lists the pipeline's stages.
 * ## `"get-stage"`
 * 
 * Gets one stage.
 * ## `"get-disposition-stages"`
 * 
 * The stages and archive reasons an opportunity can be dispositioned to: {stages, archiveReasons}.
 * ## `"list-webhooks"`
 * 
 * Lists the account's webhooks (their signature tokens are never shown).
 */
export type Operation = 'get-status' | 'connect-api-key' | 'begin-oauth' | 'disconnect' | 'set-environment' | 'list-lever-stages' | 'list-lever-users' | 'list-lever-postings' | 'list-lever-archive-reasons' | 'get-stage-map' | 'set-stage-map' | 'set-perform-as' | 'set-upload-stage' | 'set-upload-tags' | 'set-rejection-reason' | 'list-roles' | 'link-role' | 'unlink-role' | 'install-webhooks' | 'create-portal-link' | 'submit-candidate' | 'link-candidate' | 'get-candidate-link' | 'get-linked-candidate' | 'set-candidate-stage' | 'reject-candidate' | 'add-candidate-note' | 'set-interview-feedback' | 'reconcile' | 'enable-triggers' | 'poll-postings' | 'poll-trigger' | 'list-outbox' | 'list-dead-letters' | 'replay-dead-letter' | 'list-audit' | 'create-opportunity' | 'get-opportunity' | 'list-opportunities' | 'get-contact' | 'update-contact' | 'create-posting' | 'update-posting' | 'get-posting' | 'list-postings' | 'upload-file' | 'apply-to-posting' | 'proxy' | 'list-notes' | 'get-note' | 'create-note' | 'delete-note' | 'add-tags' | 'remove-tags' | 'add-sources' | 'remove-sources' | 'add-links' | 'remove-links' | 'change-stage' | 'archive-opportunity' | 'unarchive-opportunity' | 'list-archive-reasons' | 'get-archive-reason' | 'list-interviews' | 'get-interview' | 'create-interview' | 'update-interview' | 'delete-interview' | 'list-panels' | 'get-panel' | 'create-panel' | 'update-panel' | 'delete-panel' | 'list-feedback' | 'get-feedback' | 'create-feedback' | 'update-feedback' | 'delete-feedback' | 'list-feedback-templates' | 'get-feedback-template' | 'create-feedback-template' | 'update-feedback-template' | 'delete-feedback-template' | 'list-offers' | 'list-referrals' | 'get-referral' | 'list-applications' | 'get-application' | 'list-resumes' | 'get-resume' | 'list-files' | 'get-file' | 'delete-file' | 'list-requisitions' | 'get-requisition' | 'create-requisition' | 'update-requisition' | 'delete-requisition' | 'list-requisition-fields' | 'get-requisition-field' | 'get-application-questions' | 'get-posting-users' | 'get-eeo-responses' | 'get-eeo-responses-pii' | 'list-users' | 'get-user' | 'create-user' | 'update-user' | 'deactivate-user' | 'reactivate-user' | 'list-deleted-opportunities' | 'list-deleted-applications' | 'list-deleted-postings' | 'list-sources' | 'list-tags' | 'list-stages' | 'get-stage' | 'get-disposition-stages' | 'list-webhooks';
/**
 * end of generated
 * What an operation is for.
 * # Variants
 * 
 * ## `"connection"`
 * 
 * Connecting a Lever account and setting it up.
 * ## `"marketplace"`
 * 
 * The marketplace sync: candidates, links, stages.
 * ## `"triggers"`
 * 
 * Triggers on candidate and posting changes.
 * ## `"outbox"`
 * 
 * The outbox and the audit trail.
 * ## `"action"`
 * 
 * A Lever action: the nine typed ones, the proxy and the catalog's.
 */
export type OperationGroup = 'connection' | 'marketplace' | 'triggers' | 'outbox' | 'action';
/**
 * One operation, described.
 */
export interface OperationInfo {
  /**
   * Its name: the `operation` case of the same name (as in `POST
   * /connections/{c}/actions/{name}`).
   */
  name: string,
  /**
   * What it is for.
   */
  group: OperationGroup,
  /**
   * What it does.
   */
  summary: string,
  /**
   * Whether it changes anything (in Lever, at the partner or in the connector's state).
   */
  writes: boolean,
  /**
   * JSON Schema of the input: deliberately raw JSON text.
   */
  inputSchema: string,
  /**
   * JSON Schema of the answer: deliberately raw JSON text.
   */
  outputSchema: string,
}
