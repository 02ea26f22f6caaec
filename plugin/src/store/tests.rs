//! The store's unit tests.

use super::*;
use crate::io::fake::{FakeKv, KvOp};

fn record(at: UnixMillis, state: DeliveryState) -> DeliveryRecord {
    DeliveryRecord {
        event: "candidateStageChange".into(),
        handled_at: at,
        state,
        detail: String::new(),
        claim: String::new(),
    }
}

#[test]
fn connection_ids_are_short_and_plain() {
    assert!(ConnectionId::parse("acme_corp-1").is_ok());
    for bad in ["", "a/b", "a b", "ü", &"x".repeat(65)] {
        assert!(ConnectionId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn connections_do_not_share_keys() {
    let kv = FakeKv::default();
    let store = Store::new(&kv);
    let a = store.connection(&ConnectionId::parse("a").unwrap());
    let b = store.connection(&ConnectionId::parse("b").unwrap());
    a.link("cand", &OpportunityId("opp/../x".into())).unwrap();
    assert_eq!(
        b.linked_candidate(&OpportunityId("opp/../x".into()))
            .unwrap(),
        None
    );
    assert!(kv.0.borrow().keys().all(|k| k.starts_with("conn/a/")));
    assert!(kv
        .0
        .borrow()
        .contains_key("conn/a/link/opportunity/opp%2F..%2Fx"));
}

#[test]
fn a_processing_claim_is_taken_over_after_its_lease() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    let first = record(1_000, DeliveryState::Processing);
    assert_eq!(
        conn.claim_delivery("t", &first, 60_000, 86_400_000)
            .unwrap(),
        Claim::Claimed
    );
    let soon = record(30_000, DeliveryState::Processing);
    assert!(matches!(
        conn.claim_delivery("t", &soon, 60_000, 86_400_000).unwrap(),
        Claim::Duplicate(_)
    ));
    let later = record(61_000, DeliveryState::Processing);
    assert_eq!(
        conn.claim_delivery("t", &later, 60_000, 86_400_000)
            .unwrap(),
        Claim::Claimed
    );
    conn.set_many(vec![conn
        .delivery_record_write("t", &record(61_500, DeliveryState::Forwarded), None)
        .unwrap()])
        .unwrap();
    let much_later = record(999_000, DeliveryState::Processing);
    assert!(matches!(
        conn.claim_delivery("t", &much_later, 60_000, 86_400_000)
            .unwrap(),
        Claim::Duplicate(DeliveryRecord {
            state: DeliveryState::Forwarded,
            ..
        })
    ));
}

#[test]
fn an_oauth_state_is_used_once() {
    let kv = FakeKv::default();
    let store = Store::new(&kv);
    let state = OAuthState {
        environment: None,
        portal_session: None,
        connection: ConnectionId::parse("a").unwrap(),
        expires_at: 10,
        used: false,
        used_by: None,
    };
    store.put_oauth_state("n1", &state).unwrap();
    assert_eq!(
        store
            .take_oauth_state("n1", "u1")
            .unwrap()
            .unwrap()
            .connection
            .as_str(),
        "a"
    );
    assert_eq!(store.take_oauth_state("n1", "u1").unwrap(), None);
    assert_eq!(store.take_oauth_state("unknown", "u3").unwrap(), None);
}

fn activity(detail: &str) -> Activity {
    Activity {
        at: 1,
        source: "lever".into(),
        what: "candidateStageChange".into(),
        outcome: "forwarded".into(),
        detail: detail.into(),
    }
}

/// The activity log's details, newest first.
fn details(conn: &ConnStore<'_>) -> Vec<String> {
    let entries = conn.recent_activity(10).unwrap();
    entries.into_iter().map(|a| a.detail).collect()
}

fn audit_entry(url: &str) -> crate::audit::AuditEntry {
    crate::audit::AuditEntry {
        at: 1,
        service: "partner".into(),
        method: "POST".into(),
        url: url.into(),
        perform_as: None,
        status: Some(204),
        error: None,
        cause: "test".into(),
    }
}

#[test]
fn one_increment_and_one_write_append_to_both_logs_with_the_outcome() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    conn.append_activity(&activity("first")).unwrap();
    kv.take_ops();
    conn.append_logs(
        Some(&activity("second")),
        &[audit_entry("u1"), audit_entry("u2")],
        vec![("conn/a/other".into(), b"x".to_vec())],
    )
    .unwrap();
    let ops: Vec<&str> = kv.take_ops().iter().map(|op| op.op).collect();
    assert_eq!(ops, ["increment", "set-many"]);
    assert_eq!(details(&conn), ["second", "first"]);
    let urls: Vec<String> = conn
        .recent_audit(10)
        .unwrap()
        .into_iter()
        .map(|e| e.url)
        .collect();
    assert_eq!(urls, ["u2", "u1"]);
    assert_eq!(kv.get("conn/a/other").unwrap().unwrap(), b"x");
}

#[test]
fn a_ring_keeps_its_slots_and_shows_only_current_entries() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    for i in 0..300 {
        conn.append_activity(&activity(&format!("n{i}"))).unwrap();
    }
    let slots =
        kv.0.borrow()
            .keys()
            .filter(|k| k.starts_with("conn/a/activity/s/"))
            .count() as u64;
    assert_eq!(slots, keys::ACTIVITY_RING);
    let shown = conn.recent_activity(500).unwrap();
    assert_eq!(shown.len() as u64, keys::ACTIVITY_KEEP);
    assert_eq!(shown[0].detail, "n299");
    assert_eq!(shown[99].detail, "n200");
    // A writer numbered 301 that has not written yet leaves its slot holding number
    // 173: that old entry is not shown as the newest.
    kv.increment("conn/a/logs/n", 1).unwrap();
    let shown = conn.recent_activity(2).unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].detail, "n299");
}

#[test]
fn the_activity_count_wraps_without_losing_the_newest_entries() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    kv.increment("conn/a/logs/n", (1 << ACTIVITY_BITS) - 2)
        .unwrap();
    for i in 0..4 {
        conn.append_activity(&activity(&format!("n{i}"))).unwrap();
    }
    conn.append_audit(&audit_entry("u")).unwrap();
    assert_eq!(details(&conn), ["n3", "n2", "n1", "n0"]);
    assert_eq!(conn.recent_audit(5).unwrap().len(), 1);
}

#[test]
fn a_rate_token_costs_a_read_and_an_increment_once_the_base_is_written() {
    const LIMIT: crate::config::RateLimit = crate::config::RateLimit {
        per_sec: 1.0,
        burst: 5.0,
    };
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    let random = crate::io::fake::FakeRandom::default();
    for _ in 0..5 {
        assert_eq!(
            conn.take_rate_token(1_000, LIMIT, 0.0, &random).unwrap(),
            None
        );
    }
    let ops: Vec<&str> = kv.take_ops().iter().map(|op| op.op).collect();
    // The first writes the base; the next four read it and take a ticket.
    assert_eq!(ops.len(), 3 + 4 * 2);
    assert!(ops[3..].iter().all(|op| *op == "get" || *op == "increment"));
    // The sixth waits a second and gives its ticket back.
    assert_eq!(
        conn.take_rate_token(1_000, LIMIT, 0.0, &random).unwrap(),
        Some(1_000)
    );
    assert_eq!(kv.increment("conn/a/rate/n", 0).unwrap(), 5);
    // Two instances sharing the counter share the bucket.
    let other = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    assert_eq!(
        other.take_rate_token(2_000, LIMIT, 0.0, &random).unwrap(),
        None
    );
    assert!(conn
        .take_rate_token(2_000, LIMIT, 0.0, &random)
        .unwrap()
        .is_some());
}

#[test]
fn a_linked_opportunity_has_its_claim_key_before_any_report() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    conn.link("cand-1", &OpportunityId("o1".into())).unwrap();
    let raw = kv.get("conn/a/sync/reporting/o1").unwrap();
    assert_eq!(Reporting::read(raw.as_deref()), Reporting::default());
    assert!(raw.is_some());
    // A claim is then a swap over a present value.
    kv.take_ops();
    conn.claim_opportunity(&OpportunityId("o1".into()), "t", 1, 2, "n")
        .unwrap();
    let swapped: Vec<KvOp> = kv
        .take_ops()
        .into_iter()
        .filter(|op| op.op == "swap")
        .collect();
    assert_eq!(swapped.len(), 1);
}

#[test]
fn an_opportunity_claim_remembers_its_recent_deliveries_within_bounds() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    let opp = OpportunityId("o1".into());
    // A claim as 0.2 wrote it, lapsed.
    kv.set("conn/a/sync/reporting/o1", b"500:old").unwrap();
    for i in 0..(REPORTING_RECENT as u64 + 5) {
        let at = 1_000 + i;
        let token = format!("t{i}");
        let OpportunityClaim::Claimed(held) = conn
            .claim_opportunity(&opp, &token, at, at + 60, "n")
            .unwrap()
        else {
            panic!("claimed")
        };
        // Held: its own replay is in progress, another delivery must wait.
        assert_eq!(
            conn.claim_opportunity(&opp, &token, at, at + 60, "m")
                .unwrap(),
            OpportunityClaim::Handled(DeliveryState::Processing)
        );
        assert_eq!(
            conn.claim_opportunity(&opp, "other", at, at + 60, "m")
                .unwrap(),
            OpportunityClaim::HeldByOther
        );
        let handled = Handled {
            token,
            at,
            state: DeliveryState::Forwarded,
        };
        conn.set_many(vec![conn
            .release_opportunity_write(&opp, &held, Some(handled), 0)
            .unwrap()])
            .unwrap();
    }
    let kept = Reporting::read(kv.get("conn/a/sync/reporting/o1").unwrap().as_deref());
    assert_eq!(kept.recent.len(), REPORTING_RECENT);
    assert_eq!(kept.until, 0);
    // The newest are remembered: a replay is a duplicate.
    let last = format!("t{}", REPORTING_RECENT + 4);
    assert_eq!(
        conn.claim_opportunity(&opp, &last, 9_000, 9_060, "n")
            .unwrap(),
        OpportunityClaim::Handled(DeliveryState::Forwarded)
    );
    // Past the retention they are forgotten at the next release.
    let OpportunityClaim::Claimed(held) = conn
        .claim_opportunity(&opp, "new", 9_000, 9_060, "n")
        .unwrap()
    else {
        panic!("claimed")
    };
    let (_, value) = conn
        .release_opportunity_write(&opp, &held, None, 5_000)
        .unwrap();
    assert!(Reporting::read(Some(&value)).recent.is_empty());
}

#[test]
fn a_log_written_by_0_2_is_shown_after_the_ring() {
    let kv = FakeKv::default();
    let conn = Store::new(&kv).connection(&ConnectionId::parse("a").unwrap());
    kv.set("conn/a/activity/head", b"7:abc").unwrap();
    kv.set("conn/a/activity/7", &encode(&activity("old")).unwrap())
        .unwrap();
    kv.set("conn/a/activity/6", &encode(&activity("older")).unwrap())
        .unwrap();
    conn.append_activity(&activity("new")).unwrap();
    assert_eq!(details(&conn), ["new", "old", "older"]);
    assert_eq!(conn.recent_activity(2).unwrap().len(), 2);
}

/// A store that refuses to be listed: what runs on it never walks the bucket.
struct Unlisted<'a>(&'a FakeKv);

impl Kv for Unlisted<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::io::BackendError> {
        self.0.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), crate::io::BackendError> {
        self.0.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), crate::io::BackendError> {
        self.0.delete(key)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, crate::io::BackendError> {
        self.0.compare_and_swap(key, expected, new)
    }
    fn list_keys(
        &self,
        _cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), crate::io::BackendError> {
        panic!("the bucket was listed")
    }
}

/// The table's single keys that hold a plain value (not a log head or an index).
fn plain_fixed() -> impl Iterator<Item = &'static keys::KeySpec> {
    use keys::Class::*;
    keys::CONNECTION_KEYS.iter().filter(|spec| {
        spec.found == keys::Found::Fixed
            && !spec.pattern.contains('<')
            && matches!(spec.class, Credential | Cache | Setting | Cursor)
    })
}

/// Writes every fixed key of the table, one webhook, a log entry each, an outbox item,
/// a link, an upload and a delivery record for `conn`, through the store's own writers
/// where the key is indexed.
fn fill(conn: &ConnStore<'_>, kv: &dyn Kv) {
    for spec in plain_fixed() {
        kv.set(&conn.key(spec.pattern), b"1").unwrap();
    }
    kv.set(&conn.key("webhook/candidateStageChange"), b"{}")
        .unwrap();
    kv.set(&conn.key("webhook-seen/candidateStageChange"), b"1")
        .unwrap();
    let random = crate::io::fake::FakeRandom::default();
    conn.append_activity(&activity("a")).unwrap();
    conn.append_audit(&audit_entry("u")).unwrap();
    // The audit trail as 0.2 wrote it.
    kv.set(&conn.key("audit/head"), b"3:abc").unwrap();
    kv.set(&conn.key("audit/3"), &encode(&audit_entry("old")).unwrap())
        .unwrap();
    conn.append_trigger("candidate-created", &activity("t"), 1_000, &random)
        .unwrap();
    conn.put_outbox(&OutboxItem {
        token: "tok".into(),
        event: "candidateStageChange".into(),
        body: "{}".into(),
        attempts: 1,
        accepted_at: 1,
        next_attempt_at: 1,
        last_error: String::new(),
        lease_until: 0,
        holder: String::new(),
    })
    .unwrap();
    conn.link("cand", &OpportunityId("opp".into())).unwrap();
    conn.set_reported_stage(&OpportunityId("opp".into()), &StageId("s".into()))
        .unwrap();
    conn.swap_upload_intent("cand-2", None, b"{}").unwrap();
    conn.set_posting_seen("post", 5, true).unwrap();
    let claim = record(1_000, DeliveryState::Processing);
    conn.claim_delivery("tok", &claim, 60_000, 86_400_000)
        .unwrap();
    conn.mark_trigger_seen("evt", 86_400_000).unwrap();
}

#[test]
fn a_disconnect_keeps_what_the_key_table_says_and_a_purge_keeps_nothing() {
    let kv = FakeKv::default();
    let unlisted = Unlisted(&kv);
    let store = Store::new(&unlisted);
    let a = store.connection(&ConnectionId::parse("a").unwrap());
    let b = store.connection(&ConnectionId::parse("b").unwrap());
    fill(&a, &unlisted);
    fill(&b, &unlisted);
    let b_before: Vec<(String, Vec<u8>)> =
        kv.0.borrow()
            .iter()
            .filter(|(k, _)| k.starts_with("conn/b/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();

    a.clear(false).unwrap();
    for spec in plain_fixed() {
        let present = kv.get(&a.key(spec.pattern)).unwrap().is_some();
        assert_eq!(
            present,
            spec.class.kept_on_disconnect(),
            "{} ({:?})",
            spec.pattern,
            spec.class
        );
    }
    for kept in [
        "logs/n",
        "activity/s/1",
        "audit/s/1",
        "audit/head",
        "audit/3",
        "trigger/candidate-created/1",
        "outbox-index",
    ] {
        assert!(kv.get(&a.key(kept)).unwrap().is_some(), "{kept}");
    }
    // Every setting survives (upload-tags, rejection-reason and triggers among them).
    for setting in ["upload-tags", "rejection-reason", "triggers", "stage-map"] {
        assert!(kv.get(&a.key(setting)).unwrap().is_some(), "{setting}");
    }
    assert!(kv
        .get(&a.key("webhook/candidateStageChange"))
        .unwrap()
        .is_none());
    assert!(kv.get(&a.key("link/opportunity/opp")).unwrap().is_some());
    assert!(kv.get(&a.key("delivery/tok")).unwrap().is_some());
    assert!(kv.get(&a.key("outbox/tok")).unwrap().is_some());
    assert!(store
        .connections()
        .unwrap()
        .iter()
        .all(|c| c.as_str() != "a"));

    a.clear(true).unwrap();
    let left: Vec<String> =
        kv.0.borrow()
            .keys()
            .filter(|k| k.starts_with("conn/a/"))
            .cloned()
            .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(!store
        .registered()
        .unwrap()
        .keys()
        .any(|c| c.as_str() == "a"));
    assert_eq!(
        store.outbox_active().unwrap(),
        [ConnectionId::parse("b").unwrap()]
    );
    let b_after: Vec<(String, Vec<u8>)> =
        kv.0.borrow()
            .iter()
            .filter(|(k, _)| k.starts_with("conn/b/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    assert_eq!(b_before, b_after);
}
