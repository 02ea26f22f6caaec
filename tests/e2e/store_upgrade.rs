//! A store written by 0.2.0 (`tests/fixtures/store/0.2.0.sqlite`, see its README), opened by
//! this version: upgraded in place on first use, its guards swept once they expire, a purge
//! deleting exactly one connection's keys, a disconnect keeping the settings.

use lever_host::kv::KvStore;
use lever_host::settings::KvLocation;

use crate::harness::*;

/// The fixture's encryption key (the bytes 0 to 31).
const FIXTURE_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn keys(kv: &KvStore) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = kv.list_keys("default", cursor.as_deref()).unwrap();
        all.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    all
}

fn count(keys: &[String], part: &str) -> usize {
    keys.iter().filter(|k| k.contains(part)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_written_by_0_2_is_upgraded_in_place_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.sqlite");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/store/0.2.0.sqlite"
        ),
        &path,
    )
    .unwrap();
    let world = World::bare_with(|s| {
        s.kv = KvLocation::File(path.clone());
        s.connector
            .insert("encryption_key".into(), FIXTURE_KEY.into());
    })
    .await;
    let kv = world.connector.kv();
    let before = keys(kv);
    assert_eq!(count(&before, "/delivery/"), 5, "{before:?}");
    assert!(!before
        .iter()
        .any(|k| k == "layout" || k.starts_with("registry/")));

    // The first enumeration upgrades: the registry answers, the old credentials decrypt.
    let mut listed = world.connector.list_connections().await.unwrap();
    listed.sort();
    assert_eq!(listed, ["acme", "globex"]);
    assert_eq!(
        kv.get("default", "layout").unwrap().as_deref(),
        Some(&b"2"[..])
    );
    let status = world.ok("GET", "/connections/acme", None).await;
    assert_eq!(status["auth"], "api-key", "{status}");
    // Read from Lever just now with the key 0.2.0 sealed.
    assert!(
        !status["unmappedStages"].as_array().unwrap().is_empty(),
        "{status}"
    );

    // The delivery 0.2.0 left in the outbox is found by the tick and delivered now.
    let tick = world.connector.tick().await.unwrap().unwrap();
    assert_eq!(tick["delivered"], 1, "{tick}");
    assert_eq!(world.sims.partner.received().len(), 1);

    // Its guards had no lifetime; now they have the longest: gone a retention period on.
    world
        .connector
        .advance_clock(std::time::Duration::from_secs(24 * 3600 + 20 * 60));
    let tick = world.connector.tick().await.unwrap().unwrap();
    assert!(tick["swept"].as_u64().unwrap() >= 10, "{tick}");
    let after = keys(kv);
    for guard in ["/delivery/", "/trigger-seen/", "/portal/", "oauth/state/"] {
        assert_eq!(count(&after, guard), 0, "{guard}: {after:?}");
    }

    // A purge deletes Globex's keys and nothing of Acme's.
    let acme_before: Vec<String> = after
        .iter()
        .filter(|k| k.starts_with("conn/acme/"))
        .cloned()
        .collect();
    world
        .ok("DELETE", "/connections/globex?purge=true", None)
        .await;
    let after = keys(kv);
    assert_eq!(count(&after, "conn/globex/"), 0, "{after:?}");
    let acme_after: Vec<String> = after
        .iter()
        .filter(|k| k.starts_with("conn/acme/"))
        .cloned()
        .collect();
    assert_eq!(acme_before, acme_after);

    // A disconnect keeps every setting 0.2.0 had written, and the links.
    world.ok("DELETE", "/connections/acme", None).await;
    let after = keys(kv);
    for kept in [
        "conn/acme/upload-tags",
        "conn/acme/triggers",
        "conn/acme/stage-map",
        "conn/acme/perform-as",
        "conn/acme/roles",
        "conn/acme/link/partner/cand-ada",
        "conn/acme/upload/cand-2001",
    ] {
        assert!(after.iter().any(|k| k == kept), "{kept}: {after:?}");
    }
    assert_eq!(count(&after, "conn/acme/auth"), 0);
    assert!(world.connector.list_connections().await.unwrap().is_empty());
}
