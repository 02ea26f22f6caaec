//! The connect portal: signed single-use links and sessions checked over plain HTTP, and the
//! whole setup driven in headless Chromium (Debian's `chromium` and `chromedriver`; skipped,
//! saying so, where they are absent), with a screenshot of each step in
//! `target/portal-shots/`.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use lever_host::http_util::{ClientResponse, HttpClient};
use lever_host::sim::lever::ACME;
use serde_json::{json, Value};

use crate::harness::*;
use crate::wasm_hosts::{free_port, tool};

/// Asks for a portal link for `connection`; its URL.
async fn portal_link(world: &World, connection: &str, body: Value) -> String {
    let answer = world
        .partner
        .call(
            "POST",
            &format!("/connections/{connection}/portal-link"),
            Some(body),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()["url"].as_str().unwrap().to_string()
}

fn acme_link_body() -> Value {
    json!({
        "roles": [
            { "id": "role-backend", "title": "Backend Engineer" },
            { "id": "role-xss", "title": "<script>window.__xss = 1</script>Ops" }
        ],
        "partnerStages": ["interviewing", "onsite", "offer", "hired"]
    })
}

async fn get(client: &HttpClient, url: &str, cookie: Option<&str>) -> ClientResponse {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    client.get(url, &headers).await.unwrap()
}

/// The `name=value` part of a `set-cookie` header.
fn cookie_of(response: &ClientResponse) -> String {
    let header = response
        .headers
        .get("set-cookie")
        .unwrap_or_else(|| panic!("no cookie; {}: {}", response.status, response.text()));
    header.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn portal_links_are_signed_single_use_short_lived_and_per_connection() {
    let world = World::start().await;
    world.set_up_globex().await;
    let client = HttpClient::default();

    // Only the partner may ask for a link.
    let anonymous = client
        .send(
            "POST",
            &format!("{}/connections/acme/portal-link", world.served.url()),
            &[],
            "{}",
        )
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);

    // A forged delivery, refused, shows in the activity.
    let mut forged_delivery = world.ada_moved(ONSITE);
    forged_delivery["signature"] = json!("0".repeat(64));
    assert_eq!(world.post(&forged_delivery).await.status, 401);

    let link = portal_link(&world, "acme", acme_link_body()).await;
    assert!(link.starts_with(&format!("{}/portal/acme?token=", world.served.url())));

    // First load: a session cookie and a redirect to the bare page (the token leaves the
    // address bar).
    let first = get(&client, &link, None).await;
    assert_eq!(first.status, 303, "{}", first.text());
    let set_cookie = &first.headers["set-cookie"];
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/portal/acme"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here: {set_cookie}"
    );
    let location = &first.headers["location"];
    assert_eq!(location, &format!("{}/portal/acme", world.served.url()));
    let cookie = cookie_of(&first);
    let page = get(&client, location, Some(&cookie)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let csp = &page.headers["content-security-policy"];
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let html = page.text();
    assert!(html.contains("Connected with an API key"), "{html}");
    assert!(html.contains("data-outcome=\"refused\""), "{html}");
    // Escaped, not executed: the role title arrives as text.
    assert!(html.contains("&lt;script&gt;window.__xss = 1&lt;/script&gt;Ops"));
    assert!(!html.contains("<script>window.__xss"));

    // A page load reads Lever once for each thing it shows: users, postings, stages.
    world
        .sims
        .lever
        .faults()
        .set(Some(lever_host::sim::faults::FaultRates::even(1, 0.0, 0)));
    let again = get(&client, location, Some(&cookie)).await;
    assert_eq!(again.status, 200);
    assert_eq!(world.sims.lever.faults().counts().requests, 3);
    world.sims.lever.faults().set(None);

    // Reused: a clear page, no settings, no cookie.
    let reused = get(&client, &link, None).await;
    assert_eq!(reused.status, 410);
    assert!(reused.text().contains("already used"));
    assert!(!reused.headers.contains_key("set-cookie"));
    assert!(!reused.text().contains("Stage mapping"));

    // Forged: another signature, or a token made for Acme presented on Globex's page.
    let forged = format!("{}x", link.trim_end_matches(|c: char| c != '.'));
    let answer = get(&client, &forged, None).await;
    assert_eq!(answer.status, 403);
    assert!(answer.text().contains("not valid"));
    let fresh = portal_link(&world, "acme", json!({})).await;
    let on_globex = fresh.replace("/portal/acme?", "/portal/globex?");
    let answer = get(&client, &on_globex, None).await;
    assert_eq!(answer.status, 403);
    assert!(!answer.text().contains("Orbital"));

    // Expired.
    let short = portal_link(&world, "acme", json!({ "expiresInSecs": 1 })).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = get(&client, &short, None).await;
    assert_eq!(answer.status, 410);
    assert!(answer.text().contains("expired"));

    // Acme's session reads and writes nothing of Globex's.
    let other = get(
        &client,
        &format!("{}/portal/globex", world.served.url()),
        Some(&cookie),
    )
    .await;
    assert_eq!(other.status, 401);
    assert!(!other.text().contains("Orbital") && !other.text().contains("globex-user"));
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let write = client
        .send(
            "POST",
            &format!("{}/portal/globex/perform-as", world.served.url()),
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("csrf={csrf}&user_id=globex-user-1"),
        )
        .await
        .unwrap();
    assert_eq!(write.status, 401);
    let globex = world.ok("GET", "/connections/globex", None).await;
    assert_eq!(globex["performAs"], Value::Null);

    // A form without the session's CSRF token changes nothing.
    let forged_form = client
        .send(
            "POST",
            &format!("{}/portal/acme/perform-as", world.served.url()),
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!(
                "csrf={}{}&user_id={RECRUITER}",
                if csrf.starts_with('0') { '1' } else { '0' },
                &csrf[1..]
            ),
        )
        .await
        .unwrap();
    assert_eq!(forged_form.status, 403);
    let acme = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(acme["performAs"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_asks_to_reconnect_after_lever_refuses_the_refresh_token() {
    let world = World::bare().await;
    assert_eq!(world.connect_oauth("acme", ACME).await.status, 200);
    world.sims.lever.revoke_refresh_tokens(ACME);
    world.connector.advance_clock(Duration::from_secs(3600));
    let refused = world
        .call("GET", "/connections/acme/lever/stages", None)
        .await;
    assert_eq!(refused.status, 401);

    let client = HttpClient::default();
    let link = portal_link(&world, "acme", json!({})).await;
    let first = get(&client, &link, None).await;
    assert_eq!(first.status, 303, "{}", first.text());
    let page = get(
        &client,
        &first.headers["location"],
        Some(&cookie_of(&first)),
    )
    .await;
    let html = page.text();
    assert!(html.contains("invalid_grant"), "{html}");
    assert!(html.contains(">Reconnect</button>"), "{html}");
    assert!(
        html.contains("name=\"api_key\""),
        "an API key is offered too"
    );
    assert!(
        !html.contains("name=\"user_id\""),
        "nothing that needs Lever until reconnected"
    );
}

/// Chromium driven through chromedriver; both stop when dropped.
struct Browser {
    driver: tokio::process::Child,
    client: Client,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or `None` (saying why) when
    /// either is not installed.
    async fn start() -> Option<Self> {
        let chromium = tool("CHROMIUM_BIN", "chromium")?;
        let chromedriver = tool("CHROMEDRIVER_BIN", "chromedriver")?;
        let port = free_port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let capabilities: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }))
        .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    panic!("no WebDriver session: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/portal-shots");
        std::fs::create_dir_all(&shots).unwrap();
        Some(Self {
            driver,
            client,
            _profile: profile,
            shots,
        })
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks something that loads a new page and waits until the new page is loaded.
    async fn submit(&self, css: &str) {
        self.js("window.__previous_page = true; return null").await;
        self.click(css).await;
        self.loaded().await;
    }

    /// Waits for a new document (the old one marked by [`Browser::submit`]) to be loaded.
    async fn loaded(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let done = self
                .client
                .execute(
                    "return window.__previous_page === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            if matches!(done, Ok(Value::Bool(true))) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page never loaded"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn select(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// The page's message after an action.
    async fn flash(&self) -> String {
        self.text("#flash").await
    }

    async fn title(&self) -> String {
        self.client.title().await.unwrap()
    }

    async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_sets_up_a_connection_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        eprintln!("skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let world = World::bare().await;
    world.set_up_globex().await;
    let base = world.served.url().to_string();

    // 1. The partner's link opens a fresh session; nothing is connected yet.
    let link = portal_link(&world, "acme", acme_link_body()).await;
    browser.client.goto(&link).await.unwrap();
    assert_eq!(
        browser.client.current_url().await.unwrap().as_str(),
        format!("{base}/portal/acme"),
        "the token left the address bar"
    );
    assert_eq!(browser.text("#connection-state").await, "Not connected.");
    assert!(browser
        .js("return window.__xss === undefined")
        .await
        .as_bool()
        .unwrap());
    browser.shot("01-opened").await;

    // 2. Connect by OAuth: the button goes to Lever's consent, which redirects back.
    browser.submit("#oauth").await;
    assert!(browser
        .flash()
        .await
        .starts_with("Connected to Lever (account acct-acme)"));
    let state = browser.text("#connection-state").await;
    assert!(
        state.contains("Connected with OAuth") && state.contains("acct-acme"),
        "{state}"
    );
    assert!(state.contains("Access token expires"), "{state}");
    browser.shot("02-connected").await;

    // 3. The user to act as: active users only.
    let users = browser
        .js("return Array.from(document.querySelectorAll('#user_id option')).map(o => o.value)")
        .await;
    assert!(users.as_array().unwrap().contains(&json!(RECRUITER)));
    assert!(
        !users.to_string().contains("user-0002"),
        "deactivated users are hidden: {users}"
    );
    browser.select("#user_id", RECRUITER).await;
    browser.submit("#user button").await;
    assert!(
        browser.flash().await.contains("now made as"),
        "{}",
        browser.flash().await
    );
    browser.shot("03-user").await;
    assert_eq!(
        world.ok("GET", "/connections/acme", None).await["performAs"],
        RECRUITER
    );

    // 4. A role linked to a posting found by searching its title.
    let search = browser
        .client
        .find(Locator::Css("#search-0"))
        .await
        .unwrap();
    search.send_keys("rust").await.unwrap();
    let visible = browser
        .js("return Array.from(document.querySelectorAll('#posting-0 option')).filter(o => !o.hidden).map(o => o.text)")
        .await;
    assert_eq!(
        visible,
        json!(["Not linked", "Senior Rust Engineer (published)"])
    );
    browser.select("#posting-0", RUST_POSTING).await;
    browser
        .submit("form[data-role='role-backend'] button")
        .await;
    assert!(browser
        .flash()
        .await
        .contains("linked to \"Senior Rust Engineer\""));
    browser.shot("04-role").await;
    let roles = world.ok("GET", "/connections/acme/roles", None).await;
    assert_eq!(
        roles["data"],
        json!([{ "role": "role-backend", "postingId": RUST_POSTING }])
    );

    // 5. Stage mapping: Lever's stages in pipeline order, unmapped ones flagged.
    let order = browser
        .js("return Array.from(document.querySelectorAll('#stages tbody th label')).map(l => l.textContent)")
        .await;
    assert_eq!(
        order,
        json!([
            "New lead",
            "Reached out",
            "Responded",
            "New applicant",
            "Recruiter screen",
            "Phone interview",
            "On-site interview",
            "Offer"
        ])
    );
    assert!(browser
        .text("#upload_stage option[value='']")
        .await
        .contains("Default: Recruiter screen"));
    browser
        .select(&format!("select[name='stage.{PHONE}']"), "interviewing")
        .await;
    browser
        .select(&format!("select[name='stage.{ONSITE}']"), "onsite")
        .await;
    browser
        .select(&format!("select[name='stage.{OFFER}']"), "offer")
        .await;
    browser.submit("#stages button").await;
    assert!(
        browser.flash().await.contains("3 Lever stage(s) mapped"),
        "{}",
        browser.flash().await
    );
    let badges = browser
        .js("return document.querySelectorAll('#stages .badge').length")
        .await;
    assert_eq!(badges, json!(5), "the five unmapped stages are flagged");
    browser.shot("05-stages").await;
    assert_eq!(
        world.ok("GET", "/connections/acme/stage-map", None).await,
        acme_stage_map()
    );

    // 6. Webhooks in one click; they await a Super Admin until Lever delivers.
    browser.submit("#install-webhooks").await;
    assert!(browser.flash().await.starts_with("Webhooks are installed"));
    let row = "tr[data-event='candidateStageChange']";
    assert_eq!(
        browser.text(&format!("{row} .state")).await,
        "Awaiting enablement in Lever"
    );
    assert!(browser.text("#enable-steps").await.contains("Super Admin"));
    browser.shot("06-webhooks-awaiting").await;

    // 7. The Super Admin switches them on; a recruiter moves Ada; the delivery shows.
    world
        .ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/link",
            Some(json!({ "opportunityId": ADA })),
        )
        .await;
    world.sims.lever.enable_webhooks(ACME, &[]);
    world.sims.lever.move_stage(ADA, OFFER);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !world
        .partner_events()
        .iter()
        .any(|e| e["data"]["stage"] == "offer")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the partner heard nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.client.refresh().await.unwrap();
    assert_eq!(browser.text(&format!("{row} .state")).await, "Receiving");
    assert!(browser.text(&format!("{row} .last")).await.ends_with("UTC"));
    let activity = browser.text("#activity li").await;
    assert!(
        activity.contains("candidateStageChange") && activity.contains("forwarded"),
        "{activity}"
    );
    assert!(activity.contains("\"offer\""), "{activity}");
    browser.shot("07-receiving").await;
    browser
        .js("document.querySelector('#activity').scrollIntoView(); return null")
        .await;
    browser.shot("07b-activity").await;

    // A posting titled like markup renders as text.
    let created = world
        .call(
            "POST",
            "/connections/acme/actions/create-posting",
            Some(json!({ "text": "<script>window.__xss = 2</script>", "state": "draft" })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    browser.client.refresh().await.unwrap();
    assert!(browser
        .js("return window.__xss === undefined")
        .await
        .as_bool()
        .unwrap());
    let options = browser
        .js("return document.querySelector('#posting-0').textContent")
        .await;
    assert!(options
        .as_str()
        .unwrap()
        .contains("<script>window.__xss = 2</script> (draft)"));

    // Plain and accessible: every control labelled, reachable by keyboard, no sideways
    // scrolling at 375 px.
    let unlabelled = browser
        .js("return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(e => e.labels.length === 0).map(e => e.id || e.name)")
        .await;
    assert_eq!(unlabelled, json!([]));
    browser
        .js("document.querySelector('#oauth').focus(); return null")
        .await;
    let tab = "\u{E004}";
    let focused = browser.client.active_element().await.unwrap();
    focused.send_keys(tab).await.unwrap();
    assert_eq!(
        browser.js("return document.activeElement.id").await,
        json!("user_id"),
        "Tab moves from the connect button to the next control"
    );
    let focusable = browser
        .js("document.activeElement.blur(); return Array.from(document.querySelectorAll('button, input:not([type=hidden]), select')).filter(e => e.tabIndex < 0 || e.disabled).length")
        .await;
    assert_eq!(focusable, json!(0), "nothing is taken out of the tab order");
    browser.client.set_window_size(375, 900).await.unwrap();
    let fits = browser
        .js("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(
        fits,
        json!(true),
        "readable at 375 px without sideways scrolling"
    );
    browser.shot("08-narrow").await;
    browser.client.set_window_size(1280, 1000).await.unwrap();

    // 8. Disconnect needs the confirmation box.
    browser.click("#disconnect-button").await;
    assert_eq!(
        browser.text("#connection-state").await.lines().next(),
        Some("State")
    );
    browser.click("#confirm").await;
    browser.submit("#disconnect-button").await;
    assert!(
        browser.flash().await.starts_with("Disconnected from Lever"),
        "{}",
        browser.flash().await
    );
    assert_eq!(browser.text("#connection-state").await, "Not connected.");
    browser.shot("09-disconnected").await;
    assert_eq!(
        world.ok("GET", "/connections/acme", None).await["auth"],
        "none"
    );

    // Expired, forged and reused links get a clear page and no settings.
    browser.client.goto(&link).await.unwrap();
    assert_eq!(browser.title().await, "This link was already used");
    browser.shot("10-reused-link").await;
    let short = portal_link(&world, "acme", json!({ "expiresInSecs": 1 })).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    browser.client.goto(&short).await.unwrap();
    assert_eq!(browser.title().await, "This link has expired");
    browser.shot("11-expired-link").await;
    let fresh = portal_link(&world, "acme", json!({})).await;
    browser
        .client
        .goto(&fresh.replace("token=", "token=x"))
        .await
        .unwrap();
    assert_eq!(browser.title().await, "This link is not valid");
    browser.shot("12-forged-link").await;

    // A second connection's data is never shown to this session...
    browser
        .client
        .goto(&format!("{base}/portal/globex"))
        .await
        .unwrap();
    assert_eq!(browser.title().await, "Your session has ended");
    let source = browser.client.source().await.unwrap();
    assert!(
        !source.contains("Orbital") && !source.contains("globex"),
        "{source}"
    );
    // ... and its own link shows only its own.
    let globex = portal_link(
        &world,
        "globex",
        json!({ "roles": [{ "id": "role-flight", "title": "Flight" }] }),
    )
    .await;
    browser.client.goto(&globex).await.unwrap();
    let source = browser.client.source().await.unwrap();
    assert!(source.contains("Orbital Mechanics Engineer"));
    assert!(!source.contains("Senior Rust Engineer") && !source.contains("Backend Engineer"));
    browser.shot("13-second-connection").await;
    browser.stop().await;
}
