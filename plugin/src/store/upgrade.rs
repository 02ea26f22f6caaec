//! Upgrading a store written by 0.2.0 in place: that layout had no registry, no indexes and
//! no sweep, so its connections, guards and id-keyed keys are found once by listing the
//! bucket and recorded in the new indexes. Runs once per store (the `layout` key says it
//! ran), on first use of a path that enumerates (`tick`, `list-connections`, disconnect),
//! by one instance at a time (a lease); every other path works on either layout.

use std::collections::BTreeMap;

use super::{decode, keys, storage_error, ConnectionId, OAuthState, Store};
use crate::config;
use crate::error::ConnectorError;
use crate::io::Env;

/// The layout this code writes.
pub const LAYOUT: &str = "2";
/// Keys one index entry of an upgraded store names.
const CHUNK: usize = 500;
/// How long the upgrading instance holds the upgrade.
const LEASE_MS: u64 = 10 * 60 * 1000;

/// What a 0.2.0 store held, per connection.
#[derive(Debug, Default)]
struct Found {
    connected: bool,
    guards: Vec<String>,
    owned: Vec<String>,
    outbox: bool,
}

/// Upgrades the store if it was written by 0.2.0 (or is new): `true` when this call did it.
pub fn ensure_layout(env: &Env) -> Result<bool, ConnectorError> {
    let kv = env.kv;
    if kv.get("layout").map_err(storage_error)?.as_deref() == Some(LAYOUT.as_bytes()) {
        return Ok(false);
    }
    let store = Store::new(kv);
    let holder = hex::encode(env.random.bytes(8));
    let now = env.clock.now();
    if !store.take_lease("layout/upgrade-lease", &holder, now, LEASE_MS)? {
        // Another instance is upgrading; what enumerates meanwhile sees what it has done.
        return Ok(false);
    }
    let retention = config::delivery_retention_ms(env.config)?;
    let mut found: BTreeMap<ConnectionId, Found> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let (keys, next) = kv.list_keys(cursor.as_deref()).map_err(storage_error)?;
        for key in keys {
            classify(env, &key, &mut found)?;
        }
        match next {
            Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
            _ => break,
        }
    }
    for (id, what) in &found {
        store.register(id, Some(what.connected))?;
        let conn = store.connection(id);
        for chunk in what.owned.chunks(CHUNK) {
            conn.own(chunk)?;
        }
        // 0.2.0 kept no lifetimes: every guard gets the longest (a delivery's retention)
        // from now; a portal link or an OAuth state that had expired already is refused on
        // use as before, and gone with the rest.
        for chunk in what.guards.chunks(CHUNK) {
            conn.expire(chunk, now.saturating_add(retention))?;
        }
        if what.outbox {
            store.set_outbox_active(id, true)?;
        }
    }
    kv.set("layout", LAYOUT.as_bytes()).map_err(storage_error)?;
    store.release_lease("layout/upgrade-lease", &holder)?;
    Ok(true)
}

/// Records what one key of a 0.2.0 store is.
fn classify(
    env: &Env,
    key: &str,
    found: &mut BTreeMap<ConnectionId, Found>,
) -> Result<(), ConnectorError> {
    if key.starts_with("oauth/state/") {
        if let Some(bytes) = env.kv.get(key).map_err(storage_error)? {
            if let Ok(state) = decode::<OAuthState>(key, &bytes) {
                found
                    .entry(state.connection)
                    .or_default()
                    .guards
                    .push(key.to_string());
            }
        }
        return Ok(());
    }
    let Some((id, rest)) = key
        .strip_prefix("conn/")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Ok(());
    };
    let Ok(id) = ConnectionId::parse(id) else {
        return Ok(());
    };
    let what = found.entry(id).or_default();
    if rest == "auth" {
        what.connected = true;
    } else if rest == "outbox-index" {
        let tokens: Vec<String> = env
            .kv
            .get(key)
            .map_err(storage_error)?
            .map(|bytes| decode(key, &bytes))
            .transpose()?
            .unwrap_or_default();
        what.outbox = !tokens.is_empty();
    } else if keys::prefixes(keys::Found::ExpiryIndex).any(|p| rest.starts_with(p)) {
        what.guards.push(key.to_string());
    } else if keys::prefixes(keys::Found::OwnedIndex).any(|p| rest.starts_with(p)) {
        what.owned.push(key.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};
    use crate::io::Kv;

    #[test]
    fn a_0_2_store_gets_its_registry_and_indexes_once() {
        let world = World::new(FakeConfig::default(), 1_000);
        let kv = &world.kv;
        for (key, value) in [
            ("conn/a/auth", "{}"),
            ("conn/a/delivery/t1", "{}"),
            ("conn/a/link/opportunity/o1", "p1"),
            ("conn/a/outbox-index", "[\"t2\"]"),
            ("conn/b/stage-map", "{}"),
            ("conn/b/posting-seen/x", "1"),
            (
                "oauth/state/n1",
                "{\"connection\":\"b\",\"expiresAt\":5,\"used\":false}",
            ),
        ] {
            kv.set(key, value.as_bytes()).unwrap();
        }
        assert!(ensure_layout(&world.env()).unwrap());
        assert!(!ensure_layout(&world.env()).unwrap());
        let store = Store::new(kv);
        let a = ConnectionId::parse("a").unwrap();
        let b = ConnectionId::parse("b").unwrap();
        assert_eq!(store.connections().unwrap(), std::slice::from_ref(&a));
        assert_eq!(store.registered().unwrap().len(), 2);
        assert_eq!(store.outbox_active().unwrap(), std::slice::from_ref(&a));
        // A purge of b finds its keys through the new indexes, the OAuth state among them.
        store.connection(&b).clear(true).unwrap();
        let left: Vec<String> = kv.0.borrow().keys().cloned().collect();
        assert!(
            !left
                .iter()
                .any(|k| k.starts_with("conn/b/") || k.starts_with("oauth/")),
            "{left:?}"
        );
        assert!(left.iter().any(|k| k == "conn/a/delivery/t1"));
    }
}
