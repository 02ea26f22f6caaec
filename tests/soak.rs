//! Soak: 2,000 mixed events over three connections (three Lever accounts) while both
//! simulators fault 30% of what the connector sends them (429 with and without
//! `Retry-After`, 500/503, answers past the connector's timeout, dropped connections): Lever
//! stage and archive changes, replayed and out-of-order deliveries, partner moves and
//! candidate submissions. Afterwards every effect happened exactly once or sits in the dead
//! letters with a reason. Prints one line in every run (written past the test harness's
//! output capture):
//!
//! `soak: events=N delivered=N dead_lettered=N lost=N duplicated=N archived_at_end=N`
//!
//! (`cargo test --test soak -- --nocapture` shows the details too). About two minutes on 2
//! cores.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use lever_host::http_util::{bind_loopback, HttpClient};
use lever_host::partner_api::PartnerApi;
use lever_host::runtime::{Limits, Runtime};
use lever_host::server::Connector;
use lever_host::settings::Settings;
use lever_host::sim::faults::FaultRates;
use lever_host::sim::lever::seed;
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};

const EVENTS: usize = 2000;
const SEED: u64 = 20261129;
const FAULT_SHARE: f64 = 0.3;
/// Opportunities per connection moved by recruiters in Lever / by the partner.
const LEVER_DRIVEN: usize = 10;
const PARTNER_DRIVEN: usize = 4;

struct Conn {
    id: &'static str,
    account: String,
    api_key: String,
    stages: Vec<String>,
    non_hired_reason: String,
    lever_driven: Vec<String>,
    partner_driven: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum Event {
    LeverMove { opportunity: String, stage: String },
    LeverArchive { opportunity: String },
    Replay { pick: u64 },
    PartnerMove { candidate: String, stage: String },
    Submission { candidate: String },
}

/// What the partner (this test) saw succeed.
#[derive(Default)]
struct Outcomes {
    partner_moves: Vec<(String, String)>,
    partner_moves_given_up: usize,
    submissions: Vec<(String, String)>,
    submissions_given_up: usize,
}

/// A partner call retried as a partner platform would: until Lever and the connector
/// manage it (each failure here is an injected fault).
async fn call_until_done(api: &PartnerApi, method: &str, path: &str, body: Value) -> Option<Value> {
    for _ in 0..40 {
        if let Ok(answer) = api.call(method, path, Some(body.clone())).await {
            if (200..300).contains(&answer.status) {
                return Some(answer.json());
            }
            // 409: another attempt of the same upload holds it; the message says to retry.
            assert!(
                answer.status == 429 || answer.status == 409 || answer.status >= 500,
                "{method} {path}: {} {}",
                answer.status,
                answer.text()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_every_effect_happens_once_or_is_dead_lettered() {
    let mut options = LeverSimOptions {
        rate_per_sec: 400.0,
        burst: 800.0,
        ..LeverSimOptions::default()
    };
    options.accounts.push(seed::Seed {
        account_id: "acct-initech".into(),
        api_key: "sim-api-key-initech".into(),
        opportunities: Vec::new(),
        ..seed::acme()
    });
    let sims = Simulators::start(options, partner::DEFAULT_SECRET, None, None)
        .await
        .unwrap();
    let listener = bind_loopback(None).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = Settings::in_process(sims.connector_config(&url)).unwrap();
    settings
        .connector
        .insert("lever_rate_per_sec".into(), "380".into());
    // Waits between outbox attempts stay short, so the soak drains in real time (the
    // partner checks signature timestamps against its own clock).
    settings
        .connector
        .insert("outbox_max_backoff_secs".into(), "3".into());
    settings.outbound_timeout = Some(Duration::from_millis(300));
    let runtime = Runtime::new(lever_host::COMPONENT, Limits::default()).unwrap();
    let connector = Connector::new(runtime, &settings).unwrap();
    let _served = connector.spawn(listener).unwrap();
    let api = PartnerApi::new(&url, partner::DEFAULT_API_KEY);

    // Three connections, set up while nothing is faulted.
    let accounts: Vec<(String, String)> = sims.lever.api_keys();
    let mut conns = Vec::new();
    for (id, (account, api_key)) in ["acme", "globex", "initech"].into_iter().zip(accounts) {
        let path = |rest: &str| format!("/connections/{id}{rest}");
        api.ok(
            "POST",
            &path("/api-key"),
            Some(json!({ "apiKey": api_key })),
        )
        .await
        .unwrap();
        api.ok("POST", &path("/webhooks"), None).await.unwrap();
        sims.lever.enable_webhooks(&account, &[]);
        let stages: Vec<String> = api.ok("GET", &path("/lever/stages"), None).await.unwrap()
            ["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        let map: BTreeMap<&String, String> = stages.iter().map(|s| (s, format!("p-{s}"))).collect();
        api.ok("PUT", &path("/stage-map"), Some(json!(map)))
            .await
            .unwrap();
        let users = api.ok("GET", &path("/lever/users"), None).await.unwrap();
        api.ok(
            "PUT",
            &path("/perform-as"),
            Some(json!({ "userId": users["data"][0]["id"] })),
        )
        .await
        .unwrap();
        let postings = api
            .ok("GET", &path("/lever/postings?state=published"), None)
            .await
            .unwrap();
        api.ok(
            "PUT",
            &path("/roles/role-1"),
            Some(json!({ "postingId": postings["data"][0]["id"] })),
        )
        .await
        .unwrap();
        let reasons = api
            .ok("GET", &path("/lever/archive-reasons"), None)
            .await
            .unwrap();
        let non_hired_reason = reasons["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "non-hired")
            .map(|r| r["id"].as_str().unwrap().to_string())
            .unwrap();
        let opportunities = sims
            .lever
            .seed_opportunities(&account, LEVER_DRIVEN + PARTNER_DRIVEN);
        let mut lever_driven = Vec::new();
        let mut partner_driven = Vec::new();
        for (i, opportunity) in opportunities.into_iter().enumerate() {
            let candidate = format!("cand-{id}-{i}");
            api.ok(
                "PUT",
                &path(&format!("/candidates/{candidate}/link")),
                Some(json!({ "opportunityId": opportunity })),
            )
            .await
            .unwrap();
            if i < LEVER_DRIVEN {
                lever_driven.push(opportunity);
            } else {
                partner_driven.push((candidate, opportunity));
            }
        }
        conns.push(Conn {
            id,
            account,
            api_key,
            stages,
            non_hired_reason,
            lever_driven,
            partner_driven,
        });
    }

    // The events, drawn from a seeded sequence, in three lanes (one per connection) that
    // run side by side; a replay posts its delivery twice at once.
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut lanes: Vec<Vec<Event>> = vec![Vec::new(); conns.len()];
    for i in 0..EVENTS {
        let lane = i % conns.len();
        let conn = &conns[lane];
        let roll: f64 = rng.random();
        let event = if roll < 0.45 {
            Event::LeverMove {
                opportunity: conn.lever_driven[rng.random_range(0..LEVER_DRIVEN)].clone(),
                stage: conn.stages[rng.random_range(0..conn.stages.len())].clone(),
            }
        } else if roll < 0.55 {
            Event::LeverArchive {
                opportunity: conn.lever_driven[rng.random_range(0..LEVER_DRIVEN)].clone(),
            }
        } else if roll < 0.75 {
            Event::Replay { pick: rng.random() }
        } else if roll < 0.9 {
            Event::PartnerMove {
                candidate: conn.partner_driven[rng.random_range(0..PARTNER_DRIVEN)]
                    .0
                    .clone(),
                stage: format!("p-{}", conn.stages[rng.random_range(0..conn.stages.len())]),
            }
        } else {
            Event::Submission {
                candidate: format!("sub-{}-{i}", conn.id),
            }
        };
        lanes[lane].push(event);
    }

    sims.lever
        .faults()
        .set(Some(FaultRates::even(SEED, FAULT_SHARE, 600)));
    sims.partner
        .faults()
        .set(Some(FaultRates::even(SEED + 1, FAULT_SHARE, 600)));
    let ticker = connector.spawn_ticker(Duration::from_millis(200));
    let client = HttpClient::default();
    let started = std::time::Instant::now();
    let results = futures::future::join_all(lanes.into_iter().enumerate().map(|(lane, events)| {
        let conn = &conns[lane];
        let sims = &sims;
        let api = &api;
        let client = &client;
        let url = &url;
        async move {
            let mut outcomes = Outcomes::default();
            let mut archived: BTreeSet<String> = BTreeSet::new();
            for event in events {
                match event {
                    Event::LeverMove { opportunity, stage } => {
                        sims.lever.move_stage(&opportunity, &stage);
                        // Lever stamps changes in milliseconds: two moves of one candidate
                        // in the same millisecond could not be ordered by anyone.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    Event::LeverArchive { opportunity } => {
                        if archived.remove(&opportunity) {
                            sims.lever.archive(&opportunity, None);
                        } else {
                            archived.insert(opportunity.clone());
                            sims.lever
                                .archive(&opportunity, Some(&conn.non_hired_reason));
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    Event::Replay { pick } => {
                        let sent: Vec<Value> = sims
                            .lever
                            .deliveries()
                            .into_iter()
                            .filter(|d| d.account == conn.account)
                            .map(|d| d.body)
                            .collect();
                        if sent.is_empty() {
                            continue;
                        }
                        let body = sent[(pick % sent.len() as u64) as usize].to_string();
                        let target = format!("{url}/webhooks/lever/{}", conn.id);
                        let post = || {
                            client.send(
                                "POST",
                                &target,
                                &[("content-type", "application/json")],
                                body.clone(),
                            )
                        };
                        let (a, b) = tokio::join!(post(), post());
                        for answer in [a, b] {
                            let answer = answer.unwrap();
                            // A replay is a duplicate, or refused once stale; never acted on
                            // twice (checked below through its effects).
                            assert!(
                                matches!(answer.status, 200 | 202 | 401),
                                "{} {}",
                                answer.status,
                                answer.text()
                            );
                        }
                    }
                    Event::PartnerMove { candidate, stage } => {
                        let path = format!("/connections/{}/candidates/{candidate}/stage", conn.id);
                        match call_until_done(api, "PUT", &path, json!({ "stage": stage })).await {
                            Some(_) => outcomes.partner_moves.push((candidate, stage)),
                            None => outcomes.partner_moves_given_up += 1,
                        }
                    }
                    Event::Submission { candidate } => {
                        let path = format!("/connections/{}/candidates", conn.id);
                        let body = json!({
                            "partnerCandidateId": candidate,
                            "partnerRoleId": "role-1",
                            "name": format!("Soak {candidate}"),
                            "emails": [format!("{candidate}@example.com")],
                        });
                        match call_until_done(api, "POST", &path, body).await {
                            Some(answer) => outcomes.submissions.push((
                                candidate,
                                answer["opportunityId"].as_str().unwrap().to_string(),
                            )),
                            None => outcomes.submissions_given_up += 1,
                        }
                    }
                }
            }
            outcomes
        }
    }))
    .await;

    // Lever finishes its deliveries (and its retries of refused ones); the connector
    // answers each only once its work is done or in the outbox.
    let settle_deadline = std::time::Instant::now() + Duration::from_secs(120);
    while sims.lever.deliveries_in_flight() > 0 {
        assert!(
            std::time::Instant::now() < settle_deadline,
            "Lever's deliveries never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The ticker drains the outboxes (attempts at most 3 s apart).
    let drain_deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let mut pending = 0;
        for conn in &conns {
            let status = api
                .ok("GET", &format!("/connections/{}/outbox", conn.id), None)
                .await
                .unwrap();
            pending += status["data"].as_array().unwrap().len();
        }
        if pending == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < drain_deadline,
            "{pending} items still in the outboxes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(ticker);
    let elapsed = started.elapsed();
    sims.lever.faults().set(None);
    sims.partner.faults().set(None);

    // What the partner accepted: each change under one webhook-id.
    let accepted: Vec<_> = sims
        .partner
        .received()
        .into_iter()
        .filter(|e| e.verified && (200..300).contains(&e.answered))
        .collect();
    let ids: BTreeSet<String> = accepted
        .iter()
        .filter_map(|e| e.webhook_id.clone())
        .collect();
    let mut ids_per_change: HashMap<String, BTreeSet<String>> = HashMap::new();
    for e in &accepted {
        let key = format!(
            "{}|{}|{}|{}",
            e.body["type"],
            e.body["data"]["leverOpportunityId"],
            e.body["data"]["leverStageId"],
            e.body["occurredAt"]
        );
        ids_per_change
            .entry(key)
            .or_default()
            .insert(e.webhook_id.clone().unwrap_or_default());
    }
    let mut duplicated = ids_per_change.values().filter(|ids| ids.len() > 1).count();

    let mut dead_lettered = 0;
    let mut lost = 0;
    let mut archived_at_end = 0;
    let mut delivered = ids.len();
    for (conn, outcomes) in conns.iter().zip(&results) {
        let letters = api
            .ok(
                "GET",
                &format!("/connections/{}/dead-letters", conn.id),
                None,
            )
            .await
            .unwrap();
        let letters = letters["data"].as_array().unwrap().clone();
        dead_lettered += letters.len();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for letter in &letters {
            let reason: String = letter["lastError"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(70)
                .collect();
            *reasons.entry(reason).or_default() += 1;
        }
        if !reasons.is_empty() {
            eprintln!("soak: {} dead letters: {reasons:?}", conn.id);
        }
        for letter in &letters {
            assert!(
                !letter["lastError"].as_str().unwrap().is_empty(),
                "a dead letter has its reason: {letter}"
            );
        }
        let in_dead_letters = |opportunity: &str| {
            letters
                .iter()
                .any(|l| l["body"].as_str().unwrap_or_default().contains(opportunity))
        };

        // Lever-driven: the partner's latest stage (by occurredAt) is Lever's final stage.
        for opportunity in &conn.lever_driven {
            let final_stage = sims.lever.opportunity(opportunity).unwrap()["stage"]
                .as_str()
                .unwrap()
                .to_string();
            let latest = accepted
                .iter()
                .filter(|e| {
                    e.body["type"] == "candidate.stage_changed"
                        && e.body["data"]["leverOpportunityId"] == opportunity.as_str()
                })
                .max_by_key(|e| e.body["occurredAt"].as_u64().unwrap_or(0))
                .map(|e| e.body["data"]["leverStageId"].as_str().unwrap().to_string());
            let seeded_stage = &conn.stages[0];
            let consistent = match &latest {
                Some(stage) => *stage == final_stage,
                None => final_stage == *seeded_stage,
            };
            if !consistent && !in_dead_letters(opportunity) {
                let seen: Vec<String> = accepted
                    .iter()
                    .filter(|e| e.body["data"]["leverOpportunityId"] == opportunity.as_str())
                    .map(|e| {
                        format!(
                            "{} {} at {} ({})",
                            e.body["type"],
                            e.body["data"]["leverStageId"],
                            e.body["occurredAt"],
                            e.webhook_id.as_deref().unwrap_or_default()
                        )
                    })
                    .collect();
                let history = sims.lever.opportunity(opportunity).unwrap()["stageChanges"].clone();
                eprintln!(
                    "lost: {} opportunity {opportunity}: Lever {final_stage}, partner {latest:?}\n  partner saw {seen:#?}\n  Lever history {history}",
                    conn.id
                );
                lost += 1;
            }
        }
        // Lever-driven archive changes: the partner's latest archive event (by occurredAt)
        // says what Lever's final archive state is; never archived means none, or unarchived.
        for opportunity in &conn.lever_driven {
            let archived_in_lever =
                !sims.lever.opportunity(opportunity).unwrap()["archived"].is_null();
            archived_at_end += usize::from(archived_in_lever);
            let latest = accepted
                .iter()
                .filter(|e| {
                    matches!(
                        e.body["type"].as_str(),
                        Some("candidate.archived" | "candidate.unarchived" | "candidate.hired")
                    ) && e.body["data"]["leverOpportunityId"] == opportunity.as_str()
                })
                .max_by_key(|e| e.body["occurredAt"].as_u64().unwrap_or(0))
                .map(|e| e.body["type"].as_str().unwrap().to_string());
            let consistent = if archived_in_lever {
                latest.as_deref() == Some("candidate.archived")
            } else {
                latest.is_none() || latest.as_deref() == Some("candidate.unarchived")
            };
            if !consistent && !in_dead_letters(opportunity) {
                let seen: Vec<String> = accepted
                    .iter()
                    .filter(|e| e.body["data"]["leverOpportunityId"] == opportunity.as_str())
                    .filter(|e| e.body["type"] != "candidate.stage_changed")
                    .map(|e| {
                        format!(
                            "{} at {} ({})",
                            e.body["type"],
                            e.body["occurredAt"],
                            e.webhook_id.as_deref().unwrap_or_default()
                        )
                    })
                    .collect();
                let now = sims.lever.opportunity(opportunity).unwrap();
                eprintln!(
                    "lost: {} opportunity {opportunity}: archived in Lever {archived_in_lever}, partner's latest {latest:?}\n  partner saw {seen:#?}\n  Lever archived {} updatedAt {}",
                    conn.id, now["archived"], now["updatedAt"]
                );
                lost += 1;
            }
        }
        // Partner-driven: Lever ends where the partner's last move put it.
        let mut last_move: HashMap<&str, &str> = HashMap::new();
        for (candidate, stage) in &outcomes.partner_moves {
            last_move.insert(candidate, stage);
        }
        delivered += outcomes.partner_moves.len();
        for (candidate, opportunity) in &conn.partner_driven {
            if let Some(stage) = last_move.get(candidate.as_str()) {
                let lever_stage = sims.lever.opportunity(opportunity).unwrap()["stage"]
                    .as_str()
                    .unwrap()
                    .to_string();
                if format!("p-{lever_stage}") != *stage {
                    eprintln!(
                        "lost: {} {candidate}: partner moved to {stage}, Lever shows {lever_stage}",
                        conn.id
                    );
                    lost += 1;
                }
            }
        }
        lost += outcomes.partner_moves_given_up + outcomes.submissions_given_up;
        // Submissions: exactly one opportunity each.
        delivered += outcomes.submissions.len();
        let in_lever = sims.lever.opportunities(&conn.account);
        for (candidate, opportunity) in &outcomes.submissions {
            let email = format!("{candidate}@example.com");
            let copies = in_lever
                .iter()
                .filter(|o| {
                    o["emails"]
                        .as_array()
                        .is_some_and(|emails| emails.iter().any(|e| e == email.as_str()))
                })
                .count();
            if copies > 1 {
                eprintln!("duplicated: {candidate} is in Lever {copies} times");
                duplicated += 1;
            }
            if !in_lever.iter().any(|o| o["id"] == opportunity.as_str()) {
                eprintln!("lost: {candidate}'s opportunity {opportunity} is not in Lever");
                lost += 1;
            }
        }
        let _ = &conn.api_key;
    }
    let faults = (sims.lever.faults().counts(), sims.partner.faults().counts());
    eprintln!(
        "soak: {:.1} s; faults injected: Lever {:?}, partner {:?}",
        elapsed.as_secs_f64(),
        faults.0,
        faults.1
    );
    // Straight to stderr, past the test harness's capture: the line shows in every run's log.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "soak: events={EVENTS} delivered={delivered} dead_lettered={dead_lettered} lost={lost} duplicated={duplicated} archived_at_end={archived_at_end}"
    );
    assert!(faults.0.requests > 0 && faults.1.requests > 0);
    assert_eq!(lost, 0, "lost effects");
    assert_eq!(duplicated, 0, "duplicated effects");
}
