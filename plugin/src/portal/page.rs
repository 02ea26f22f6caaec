//! The portal's HTML, rendered on the server (maud escapes every value). Everything the page
//! shows is read before it is rendered, so nothing moves once it is on screen.

use maud::{html, Markup, DOCTYPE};

use super::{action_url, Action};
use crate::activity;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, HttpUrl, UnixMillis};
use crate::lever::{default_upload_stage, PostingSummary, Stage, User};
use crate::setup;
use crate::setup::status::{self, AuthKind, ConnectionStatus, WebhookState};
use crate::store::{Activity, ConnectionId, Flash, PartnerRole, PortalSession};

/// How many activity entries the page lists.
const ACTIVITY_SHOWN: u64 = 20;

/// Everything the page shows, read before rendering.
#[derive(Debug)]
pub struct View {
    connection: ConnectionId,
    base: HttpUrl,
    partner: String,
    environment: String,
    oauth_available: bool,
    status: ConnectionStatus,
    connected: bool,
    users: Option<Result<Vec<User>, String>>,
    postings: Option<Result<Vec<PostingSummary>, String>>,
    stages: Option<Result<Vec<Stage>, String>>,
    roles: Vec<PartnerRole>,
    partner_stages: Vec<String>,
    activity: Vec<Activity>,
    flash: Option<Flash>,
    csrf: String,
}

fn shown<T>(result: Result<T, ConnectorError>) -> Result<T, String> {
    result.map_err(|e| super::plain_words(&e))
}

impl View {
    /// Reads what the page shows for a connection and session.
    pub fn gather(
        env: &Env,
        connection: &ConnectionId,
        session: &PortalSession,
        flash: Option<Flash>,
    ) -> Result<Self, ConnectorError> {
        let base = config::public_base_url(env.config)?;
        let (status, stages) = status::status_and_stages(env, connection)?;
        let connected = status.auth != AuthKind::None && !status.reconnect_needed;
        let (users, postings, stages) = if connected {
            (
                Some(shown(setup::list_users(env, connection))),
                Some(shown(setup::list_postings(env, connection, None))),
                stages.map(shown),
            )
        } else {
            (None, None, None)
        };
        let mut roles = session.roles.clone();
        for link in &status.roles {
            if !roles.iter().any(|r| r.id == link.role) {
                roles.push(PartnerRole {
                    id: link.role.clone(),
                    title: String::new(),
                });
            }
        }
        let mut partner_stages = session.partner_stages.clone();
        for mapped in &status.mapped_stages {
            if !partner_stages.contains(&mapped.partner_stage) {
                partner_stages.push(mapped.partner_stage.clone());
            }
        }
        Ok(Self {
            connection: connection.clone(),
            base,
            partner: config::partner_name(env.config).unwrap_or_else(|_| "the partner".into()),
            environment: status.environment.to_string(),
            oauth_available: config::oauth_client(env.config).is_ok(),
            status,
            connected,
            users,
            postings,
            stages,
            roles,
            partner_stages,
            activity: activity::recent(env, connection, ACTIVITY_SHOWN)?,
            flash,
            csrf: session.csrf.clone(),
        })
    }

    fn action(&self, action: Action) -> String {
        action_url(&self.base, &self.connection, action)
    }

    fn asset(&self, name: &str) -> String {
        self.base.join(&["portal-assets", name], &[]).to_string()
    }
}

/// `YYYY-MM-DD HH:MM UTC` of a Unix time in milliseconds.
pub fn utc(ms: UnixMillis) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

fn head(title: &str, css: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            title { (title) }
            link rel="stylesheet" href=(css);
        }
    }
}

/// A page that only says why the portal does not open.
pub fn refusal(title: &str, text: &str, partner: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
            }
            body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5" {
                main {
                    h1 { (title) }
                    p { (text) }
                    p { "Lever settings for " (partner) "." }
                }
            }
        }
    }
    .into_string()
}

/// The sections a message can belong to.
const SECTIONS: [&str; 6] = ["lever", "user", "roles", "stages", "webhooks", "disconnect"];

/// The message of the last action, where it belongs: at the top of its section.
fn flash(view: &View, section: &str) -> Markup {
    html! {
        @if let Some(flash) = view.flash.as_ref().filter(|f| section.is_empty() || f.section == section) {
            @if flash.ok {
                p.flash.ok role="status" id="flash" { (flash.text) }
            } @else {
                p.flash.error role="alert" id="flash" { (flash.text) }
            }
        }
    }
}

fn csrf(view: &View) -> Markup {
    html! { input type="hidden" name="csrf" value=(view.csrf); }
}

fn not_yet() -> Markup {
    html! { p.muted { "Connect Lever first." } }
}

fn problem(text: &str) -> Markup {
    html! { p.problem role="alert" { (text) } }
}

/// The page.
pub fn render(view: &View) -> String {
    let title = format!("Lever settings · {}", view.partner);
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title, &view.asset("portal.css")))
            body {
                header {
                    h1 { "Lever settings" }
                    p.muted { "For " (view.partner) " · connection " code { (view.connection.as_str()) } }
                }
                main {
                    @if view.flash.as_ref().is_some_and(|f| !SECTIONS.contains(&f.section.as_str())) {
                        (flash(view, ""))
                    }
                    (connect_section(view))
                    (user_section(view))
                    (roles_section(view))
                    (stages_section(view))
                    (webhooks_section(view))
                    (activity_section(view))
                    (disconnect_section(view))
                }
                script src=(view.asset("portal.js")) {}
            }
        }
    }
    .into_string()
}

fn connect_section(view: &View) -> Markup {
    let s = &view.status;
    let environment = if view.environment == "production" || view.environment.is_empty() {
        String::new()
    } else {
        format!(" ({})", view.environment)
    };
    html! {
        section #lever aria-labelledby="lever-h" {
            h2 #lever-h { "1. Connect Lever" }
            (flash(view, "lever"))
            @match (s.auth, s.reconnect_needed) {
                (AuthKind::None, _) => {
                    p #connection-state { "Not connected." }
                }
                (_, true) => {
                    p #connection-state .problem role="alert" {
                        "Lever refused the saved authorization (invalid_grant). Reconnect to keep the sync running."
                    }
                }
                (kind, false) => {
                    dl #connection-state {
                        dt { "State" }
                        dd { "Connected" @if kind == AuthKind::Oauth { " with OAuth" } @else { " with an API key" } }
                        @if let Some(account) = &s.account_id {
                            dt { "Lever account" }
                            dd { code { (account) } }
                        }
                        @if let Some(expires) = s.token_expires_at {
                            dt { "Access token expires" }
                            dd { (utc(expires)) " (renewed automatically)" }
                        }
                    }
                    @if !s.missing_scopes.is_empty() {
                        p.problem role="alert" {
                            "Lever did not grant: "
                            @for (i, m) in s.missing_scopes.iter().enumerate() {
                                @if i > 0 { ", " }
                                code { (m.scope) } " (" (m.needed_for) ")"
                            }
                            ". Reconnect and approve every permission."
                        }
                    }
                }
            }
            @if view.oauth_available {
                form method="post" action=(view.action(Action::OAuth)) {
                    (csrf(view))
                    button type="submit" #oauth {
                        @if s.reconnect_needed { "Reconnect" }
                        @else if s.auth == AuthKind::None { "Connect with Lever" (environment) }
                        @else { "Reconnect with Lever" (environment) }
                    }
                }
            }
            @if s.auth == AuthKind::None || s.reconnect_needed {
                form method="post" action=(view.action(Action::ApiKey)) .row {
                    (csrf(view))
                    label for="api_key" { "Or use a Lever API key" }
                    input type="password" id="api_key" name="api_key" autocomplete="off" required;
                    button type="submit" { "Connect with API key" }
                }
            }
            @for p in &s.problems { (problem(p)) }
        }
    }
}

fn user_section(view: &View) -> Markup {
    html! {
        section #user aria-labelledby="user-h" {
            h2 #user-h { "2. Act as" }
            (flash(view, "user"))
            p.muted { "Candidates, notes and stage changes appear in Lever as made by this user." }
            @match &view.users {
                None => (not_yet()),
                Some(Err(e)) => (problem(e)),
                Some(Ok(users)) => {
                    form method="post" action=(view.action(Action::PerformAs)) .row {
                        (csrf(view))
                        label for="user_id" { "Lever user" }
                        select id="user_id" name="user_id" required {
                            @if view.status.perform_as.is_none() {
                                option value="" selected { "Choose a user" }
                            }
                            @for u in users {
                                option value=(u.id.as_str()) selected[view.status.perform_as.as_deref() == Some(u.id.as_str())] {
                                    (u.name) " (" (u.email) ")"
                                }
                            }
                        }
                        button type="submit" { "Save user" }
                    }
                }
            }
        }
    }
}

fn posting_label(p: &PostingSummary) -> String {
    format!("{} ({})", p.text, p.state)
}

fn roles_section(view: &View) -> Markup {
    html! {
        section #roles aria-labelledby="roles-h" {
            h2 #roles-h { "3. Roles and postings" }
            (flash(view, "roles"))
            p.muted { "Candidates " (view.partner) " submits for a role are added to its Lever posting." }
            @match &view.postings {
                None => (not_yet()),
                Some(Err(e)) => (problem(e)),
                Some(Ok(postings)) => {
                    @if view.roles.is_empty() {
                        p.muted { (view.partner) " sent no roles with this link." }
                    }
                    @for (i, role) in view.roles.iter().enumerate() {
                        @let linked = view.status.roles.iter().find(|l| l.role == role.id).map(|l| l.posting_id.as_str());
                        @let name = if role.title.is_empty() { role.id.clone() } else { role.title.clone() };
                        form method="post" action=(view.action(Action::Role)) .role data-role=(role.id) {
                            (csrf(view))
                            input type="hidden" name="role" value=(role.id);
                            fieldset {
                                legend { (name) }
                                label for=(format!("search-{i}")) { "Search postings by title" }
                                input type="search" id=(format!("search-{i}")) data-filter=(format!("posting-{i}")) autocomplete="off";
                                label for=(format!("posting-{i}")) { "Lever posting for " (name) }
                                select id=(format!("posting-{i}")) name="posting_id" {
                                    option value="" selected[linked.is_none()] { "Not linked" }
                                    @for p in postings {
                                        option value=(p.id) selected[linked == Some(p.id.as_str())] { (posting_label(p)) }
                                    }
                                }
                                button type="submit" { "Save role" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn stages_section(view: &View) -> Markup {
    let map: std::collections::BTreeMap<&str, &str> = view
        .status
        .mapped_stages
        .iter()
        .map(|m| (m.lever_stage_id.as_str(), m.partner_stage.as_str()))
        .collect();
    html! {
        section #stages aria-labelledby="stages-h" {
            h2 #stages-h { "4. Stage mapping" }
            (flash(view, "stages"))
            p.muted { "When a candidate reaches a Lever stage, " (view.partner) " sees the stage mapped to it." }
            @match &view.stages {
                None => (not_yet()),
                Some(Err(e)) => (problem(e)),
                Some(Ok(stages)) => {
                    @let default = default_upload_stage(stages);
                    @let upload = view.status.upload_stage.as_ref().filter(|u| u.source == "configured").map(|u| u.stage_id.as_str());
                    form method="post" action=(view.action(Action::StageMap)) {
                        (csrf(view))
                        table {
                            caption.sr { "Lever stages in pipeline order and the partner stage each maps to" }
                            thead { tr { th scope="col" { "Lever stage" } th scope="col" { (view.partner) " stage" } } }
                            tbody {
                                @for (i, stage) in stages.iter().enumerate() {
                                    @let current = map.get(stage.id.as_str()).copied();
                                    tr {
                                        th scope="row" {
                                            label for=(format!("stage-{i}")) { (stage.text) }
                                            @if current.is_none() { " " span.badge { "Not mapped" } }
                                        }
                                        td {
                                            select id=(format!("stage-{i}")) name=(format!("stage.{}", stage.id.as_str())) {
                                                option value="" selected[current.is_none()] { "Not mapped" }
                                                @for p in &view.partner_stages {
                                                    option value=(p) selected[current == Some(p.as_str())] { (p) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        div.row {
                            label for="upload_stage" { "Stage new candidates start in" }
                            select id="upload_stage" name="upload_stage" {
                                option value="" selected[upload.is_none()] {
                                    "Default: " (default.map_or("none available", |s| s.text.as_str()))
                                }
                                @for stage in stages {
                                    option value=(stage.id.as_str()) selected[upload == Some(stage.id.as_str())] { (stage.text) }
                                }
                            }
                        }
                        button type="submit" { "Save stage mapping" }
                    }
                }
            }
        }
    }
}

fn webhooks_section(view: &View) -> Markup {
    let awaiting = view
        .status
        .webhooks
        .iter()
        .any(|w| w.state == WebhookState::AwaitingEnablement);
    html! {
        section #webhooks aria-labelledby="webhooks-h" {
            h2 #webhooks-h { "5. Webhooks" }
            (flash(view, "webhooks"))
            @if !view.connected {
                (not_yet())
            } @else {
                form method="post" action=(view.action(Action::Webhooks)) {
                    (csrf(view))
                    button type="submit" #install-webhooks { "Install or repair webhooks" }
                }
                table {
                    caption.sr { "Each Lever event, its webhook state and its last delivery" }
                    thead { tr { th scope="col" { "Lever event" } th scope="col" { "State" } th scope="col" { "Last delivery" } } }
                    tbody {
                        @for w in &view.status.webhooks {
                            tr data-event=(w.event) {
                                th scope="row" { code { (w.event) } }
                                td.state {
                                    @match w.state {
                                        WebhookState::Missing => "Not installed",
                                        WebhookState::AwaitingEnablement => "Awaiting enablement in Lever",
                                        WebhookState::Receiving => "Receiving",
                                    }
                                }
                                td.last { @match w.last_delivery_at { Some(at) => (utc(at)), None => "None yet" } }
                            }
                        }
                    }
                }
                @if awaiting {
                    div.steps #enable-steps {
                        p { "Lever sends nothing on a new webhook until a Lever Super Admin switches its event on:" }
                        ol {
                            li { "In Lever, open Settings → Integrations and API → Webhooks." }
                            li { "Switch on each event shown above as awaiting enablement." }
                            li { "Save. The state here changes to “Receiving” with the first delivery." }
                        }
                    }
                }
            }
        }
    }
}

fn activity_section(view: &View) -> Markup {
    html! {
        section #activity aria-labelledby="activity-h" {
            h2 #activity-h { "6. Recent activity" }
            @if view.activity.is_empty() {
                p.muted { "Nothing yet." }
            } @else {
                ul.activity {
                    @for a in &view.activity {
                        li data-outcome=(a.outcome) {
                            span.when { (utc(a.at)) }
                            " "
                            span.what { (if a.source == "lever" { "Lever " } else { "Partner " }) (a.what) }
                            " "
                            span class=(format!("outcome {}", a.outcome)) { (a.outcome) }
                            @if !a.detail.is_empty() { ": " span.detail { (a.detail) } }
                        }
                    }
                }
            }
        }
    }
}

fn disconnect_section(view: &View) -> Markup {
    html! {
        section #disconnect aria-labelledby="disconnect-h" {
            h2 #disconnect-h { "Disconnect" }
            (flash(view, "disconnect"))
            @if view.status.auth == AuthKind::None {
                p.muted { "Not connected." }
            } @else {
                form method="post" action=(view.action(Action::Disconnect)) {
                    (csrf(view))
                    p { "Stops the sync: our webhooks are removed from Lever and the saved authorization is deleted. Role links and the stage mapping are kept." }
                    div.check {
                        input type="checkbox" id="confirm" name="confirm" value="yes" required;
                        label for="confirm" { "Yes, disconnect this Lever account" }
                    }
                    button type="submit" .danger #disconnect-button { "Disconnect" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_000_000_000), "2026-11-30 00:53 UTC");
    }
}
