//! What lets every periodic, per-request and per-connection path find its keys without
//! listing the bucket (`wasi:keyvalue` lists every key of the store: on Spin's SQLite store
//! in one page under its lock, on its Redis store with `KEYS *`):
//!
//! - the **registry** (`registry/<slot>`): every connection with state, and whether it has
//!   credentials, in 16 slots maintained with compare-and-swap: `list-connections` reads 16
//!   keys whatever the store holds;
//! - the **expiry index** of each connection (`conn/<c>/expiry...`): every guard with a
//!   lifetime (delivery records, trigger-seen markers, portal links and sessions, OAuth
//!   states) under the 10-minute bucket it expires in, written before the guard itself, and
//!   the **sweep schedule** (`sweep/<bucket>`): which connections have guards expiring in a
//!   bucket, so a tick finds exactly the due work;
//! - the **owned-key index** (`conn/<c>/keys/...`): the keys named by Lever or partner ids
//!   (links, upload intents, what was reported, postings seen), written when first created,
//!   so a purge deletes what the connection holds and nothing else is read;
//! - the **active outboxes** (`outbox/active`): the connections whose outbox holds items.
//!
//! Indexes are counters (`wasi:keyvalue/atomics` increment: one command on Redis, no swap to
//! retry) and entries under them; each entry names one key or a JSON list of keys.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{decode, encode, storage_error, ConnStore, ConnectionId, Store};
use crate::error::ConnectorError;
use crate::io::{Kv, Swapped, UnixMillis};

/// Guards expire in buckets of this width.
pub const BUCKET_MS: u64 = 10 * 60 * 1000;
/// A bucket is swept this long after it ends, so a writer that read the schedule just before
/// its bucket came due has written its entry by then.
pub const SWEEP_GRACE_MS: u64 = 5 * 60 * 1000;
/// Registry slots.
pub const REGISTRY_SLOTS: u64 = 16;
/// How long the one sweeping instance holds the sweep.
const SWEEP_LEASE_MS: u64 = 60 * 1000;
/// The most keys one tick's sweep deletes.
pub const SWEEP_BUDGET: u32 = 2_000;
/// The most keys one tick's sweep deletes for one connection (the rest wait for the next
/// tick), so one connection's backlog never takes another's turn.
pub const SWEEP_BUDGET_PER_CONNECTION: u32 = 250;
/// The most empty or finished buckets one tick steps over.
const SWEEP_MAX_BUCKETS: u32 = 1_000;

/// The bucket a guard expiring at `at` is swept with.
pub fn bucket_of(at: UnixMillis) -> u64 {
    at.div_ceil(BUCKET_MS)
}

/// Reads `key` as JSON (default when absent), lets `change` edit it, and writes it back with
/// compare-and-swap, retrying on concurrent edits; `change` answers whether it changed
/// anything (nothing is written otherwise). Answers the value as written.
pub(super) fn update<T: Default + Serialize + DeserializeOwned>(
    kv: &dyn Kv,
    key: &str,
    mut change: impl FnMut(&mut T) -> bool,
) -> Result<T, ConnectorError> {
    let mut watched = kv.watch(key).map_err(storage_error)?;
    // Bounded: the writers of these keys are few (connect, disconnect, a new bucket).
    for attempt in 1..=32 {
        let mut value: T = match watched.current() {
            None => T::default(),
            Some(bytes) => decode(key, bytes)?,
        };
        if !change(&mut value) {
            return Ok(value);
        }
        match kv.swap(watched, &encode(&value)?).map_err(storage_error)? {
            Swapped::Done => return Ok(value),
            Swapped::Changed(_) => {
                back_off(attempt);
                watched = kv.watch(key).map_err(storage_error)?;
            }
        }
    }
    Err(ConnectorError::Conflict(format!(
        "{key} kept changing; retry"
    )))
}

/// Waits before retry `attempt` (from 1) of a compare-and-swap that another writer won:
/// 1, 2, 4 … up to 64 ms, times a jitter between ½ and 1, so writers that met once spread
/// out rather than meet again (on Spin's Redis store every retry is another connection).
pub(super) fn back_off(attempt: u32) {
    let ceiling_us = 1000u64 << attempt.saturating_sub(1).min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jittered = ceiling_us / 2 + ceiling_us / 2 * u64::from(nanos % 1024) / 1024;
    std::thread::sleep(std::time::Duration::from_micros(jittered));
}

/// The keys one index entry names: a key, or a JSON list of keys.
fn entry_keys(raw: &[u8]) -> Vec<String> {
    if raw.first() == Some(&b'[') {
        serde_json::from_slice(raw).unwrap_or_default()
    } else {
        String::from_utf8(raw.to_vec()).into_iter().collect()
    }
}

fn entry_value(keys: &[String]) -> Result<Vec<u8>, ConnectorError> {
    match keys {
        [one] => Ok(one.as_bytes().to_vec()),
        _ => encode(&keys),
    }
}

/// The slot of the registry a connection is kept in (FNV-1a of its id).
fn registry_slot(c: &ConnectionId) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in c.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % REGISTRY_SLOTS
}

/// One expiry bucket of a connection and how far it was swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket {
    /// The bucket (Unix ms / [`BUCKET_MS`], rounded up).
    b: u64,
    /// Entries `1..=done` are swept.
    done: u64,
}

/// What one tick's sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Keys deleted (guards and index entries).
    pub deleted: u32,
    /// Connections visited.
    pub connections: u32,
    /// Whether due work is left for the next tick.
    pub more: bool,
}

impl Store<'_> {
    /// Records that `c` has state, and (`Some`) whether it has credentials.
    pub fn register(
        &self,
        c: &ConnectionId,
        connected: Option<bool>,
    ) -> Result<(), ConnectorError> {
        let key = format!("registry/{}", registry_slot(c));
        update(self.kv, &key, |slot: &mut BTreeMap<String, bool>| {
            match (slot.get(c.as_str()), connected) {
                (Some(_), None) => false,
                (Some(was), Some(now)) if *was == now => false,
                (_, flag) => {
                    slot.insert(c.to_string(), flag.unwrap_or(false));
                    true
                }
            }
        })?;
        Ok(())
    }

    /// Forgets `c` (a purge).
    pub fn unregister(&self, c: &ConnectionId) -> Result<(), ConnectorError> {
        let key = format!("registry/{}", registry_slot(c));
        update(self.kv, &key, |slot: &mut BTreeMap<String, bool>| {
            slot.remove(c.as_str()).is_some()
        })?;
        Ok(())
    }

    /// Every registered connection and whether it has credentials, in id order.
    pub fn registered(&self) -> Result<BTreeMap<ConnectionId, bool>, ConnectorError> {
        let mut all = BTreeMap::new();
        for slot in 0..REGISTRY_SLOTS {
            let key = format!("registry/{slot}");
            if let Some(bytes) = self.kv.get(&key).map_err(storage_error)? {
                let entries: BTreeMap<String, bool> = decode(&key, &bytes)?;
                for (id, connected) in entries {
                    if let Ok(id) = ConnectionId::parse(&id) {
                        all.insert(id, connected);
                    }
                }
            }
        }
        Ok(all)
    }

    /// Every connection that has credentials, in id order: 16 reads, whatever the store
    /// holds.
    pub fn connections(&self) -> Result<Vec<ConnectionId>, ConnectorError> {
        Ok(self
            .registered()?
            .into_iter()
            .filter_map(|(id, connected)| connected.then_some(id))
            .collect())
    }

    /// The connections whose outbox holds items.
    pub fn outbox_active(&self) -> Result<Vec<ConnectionId>, ConnectorError> {
        let ids: Vec<String> = match self.kv.get("outbox/active").map_err(storage_error)? {
            None => Vec::new(),
            Some(bytes) => decode("outbox/active", &bytes)?,
        };
        Ok(ids
            .iter()
            .filter_map(|id| ConnectionId::parse(id).ok())
            .collect())
    }

    /// Adds or removes `c` among the connections with a non-empty outbox.
    pub(super) fn set_outbox_active(
        &self,
        c: &ConnectionId,
        active: bool,
    ) -> Result<(), ConnectorError> {
        update(self.kv, "outbox/active", |ids: &mut Vec<String>| {
            let has = ids.iter().any(|id| id == c.as_str());
            if has == active {
                return false;
            }
            if active {
                ids.push(c.to_string());
            } else {
                ids.retain(|id| id != c.as_str());
            }
            true
        })?;
        Ok(())
    }

    /// Puts `c` on the sweep schedule of bucket `b` (and the schedule's cursor at or
    /// before `b`).
    fn schedule_sweep(&self, b: u64, c: &ConnectionId) -> Result<(), ConnectorError> {
        update(self.kv, &format!("sweep/{b}"), |ids: &mut Vec<String>| {
            if ids.iter().any(|id| id == c.as_str()) {
                return false;
            }
            ids.push(c.to_string());
            true
        })?;
        update(self.kv, "sweep/cursor", |cursor: &mut Option<u64>| {
            if cursor.is_some_and(|at| at <= b) {
                return false;
            }
            *cursor = Some(b);
            true
        })?;
        Ok(())
    }

    /// Deletes the guards whose bucket is due at `now`, in bucket order, at most
    /// [`SWEEP_BUDGET`] keys and [`SWEEP_BUDGET_PER_CONNECTION`] per connection; one
    /// instance at a time (a lease), so two hosts ticking one store never sweep the same
    /// keys. `rotate` picks which connection of a bucket goes first (fairness).
    pub fn sweep(
        &self,
        now: UnixMillis,
        holder: &str,
        rotate: u64,
    ) -> Result<Swept, ConnectorError> {
        let mut swept = Swept::default();
        if !self.take_lease("sweep/lease", holder, now, SWEEP_LEASE_MS)? {
            return Ok(swept);
        }
        let result = self.sweep_held(now, rotate, &mut swept);
        self.release_lease("sweep/lease", holder)?;
        result.map(|()| swept)
    }

    fn sweep_held(
        &self,
        now: UnixMillis,
        rotate: u64,
        swept: &mut Swept,
    ) -> Result<(), ConnectorError> {
        let Some(mut b) = self.sweep_cursor()? else {
            return Ok(());
        };
        let last_due = now.saturating_sub(SWEEP_GRACE_MS) / BUCKET_MS;
        let mut budget = SWEEP_BUDGET;
        let mut stepped = 0;
        while b <= last_due {
            if budget == 0 || stepped >= SWEEP_MAX_BUCKETS {
                swept.more = true;
                return Ok(());
            }
            stepped += 1;
            let key = format!("sweep/{b}");
            let ids: Vec<String> = match self.kv.get(&key).map_err(storage_error)? {
                None => Vec::new(),
                Some(bytes) => decode(&key, &bytes)?,
            };
            let mut finished = Vec::new();
            let count = ids.len();
            for offset in 0..count {
                let Some(id) = ids.get((offset + rotate as usize) % count.max(1)) else {
                    continue;
                };
                let Ok(c) = ConnectionId::parse(id) else {
                    finished.push(id.clone());
                    continue;
                };
                if budget == 0 {
                    break;
                }
                let mut own = budget.min(SWEEP_BUDGET_PER_CONNECTION);
                let before = own;
                swept.connections += 1;
                if self.connection(&c).sweep_bucket(b, &mut own)? {
                    finished.push(id.clone());
                }
                swept.deleted += before - own;
                budget -= before - own;
            }
            let left = update(self.kv, &key, |ids: &mut Vec<String>| {
                let before = ids.len();
                ids.retain(|id| !finished.contains(id));
                ids.len() != before
            })?;
            if !left.is_empty() {
                swept.more = true;
                return Ok(());
            }
            self.kv.delete(&key).map_err(storage_error)?;
            b += 1;
            update(self.kv, "sweep/cursor", |cursor: &mut Option<u64>| {
                // A writer may have put an earlier bucket on the schedule meanwhile.
                if cursor.is_some_and(|at| at >= b || at < b - 1) {
                    return false;
                }
                *cursor = Some(b);
                true
            })?;
        }
        Ok(())
    }

    fn sweep_cursor(&self) -> Result<Option<u64>, ConnectorError> {
        match self.kv.get("sweep/cursor").map_err(storage_error)? {
            None => Ok(None),
            Some(bytes) => decode("sweep/cursor", &bytes),
        }
    }

    /// Takes the lease under `key` for `holder` until `now + ms`, or takes over a lapsed
    /// one: `true` when held.
    pub(super) fn take_lease(
        &self,
        key: &str,
        holder: &str,
        now: UnixMillis,
        ms: u64,
    ) -> Result<bool, ConnectorError> {
        let watched = self.kv.watch(key).map_err(storage_error)?;
        if let Some(bytes) = watched.current() {
            let held: super::Lease = decode(key, bytes)?;
            if held.expires_at > now && held.holder != holder {
                return Ok(false);
            }
        }
        let lease = super::Lease {
            holder: holder.to_string(),
            expires_at: now.saturating_add(ms),
        };
        Ok(matches!(
            self.kv
                .swap(watched, &encode(&lease)?)
                .map_err(storage_error)?,
            Swapped::Done
        ))
    }

    /// Releases the lease under `key` if `holder` still holds it.
    pub(super) fn release_lease(&self, key: &str, holder: &str) -> Result<(), ConnectorError> {
        if let Some(bytes) = self.kv.get(key).map_err(storage_error)? {
            let held: super::Lease = decode(key, &bytes)?;
            if held.holder == holder {
                self.kv.delete(key).map_err(storage_error)?;
            }
        }
        Ok(())
    }
}

impl ConnStore<'_> {
    /// Whether `key` (a full key an index entry named) is one this connection may delete.
    fn owns(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) || key.starts_with("oauth/state/")
    }

    /// Records `keys` (full keys) as expiring at `at`, before they are written: the
    /// connection is on the sweep schedule of their bucket, and an entry names them.
    pub(crate) fn expire(&self, keys: &[String], at: UnixMillis) -> Result<(), ConnectorError> {
        let b = bucket_of(at);
        // One read whatever the number of buckets: a bucket's counter exists once the bucket
        // is on the list and the schedule (the first writer of a bucket puts it there; two
        // first writers both do, harmlessly).
        if self.get_raw(&format!("expiry/{b}/n"))?.is_none() {
            let store = Store::new(self.kv);
            store.register(&self.id, None)?;
            store.schedule_sweep(b, &self.id)?;
            update(self.kv, &self.key("expiry"), |list: &mut Vec<Bucket>| {
                if list.iter().any(|x| x.b == b) {
                    return false;
                }
                list.push(Bucket { b, done: 0 });
                list.sort_by_key(|x| x.b);
                true
            })?;
        }
        self.index_entry(&format!("expiry/{b}"), keys)
    }

    /// Records `keys` (full keys, named by Lever or partner ids) in the owned-key index,
    /// before they are first written, so a purge finds them.
    pub(crate) fn own(&self, keys: &[String]) -> Result<(), ConnectorError> {
        self.index_entry("keys", keys)
    }

    /// Appends an entry naming `keys` to the counted index under `index`.
    fn index_entry(&self, index: &str, keys: &[String]) -> Result<(), ConnectorError> {
        let n = self
            .kv
            .increment(&self.key(&format!("{index}/n")), 1)
            .map_err(storage_error)?;
        self.set(&format!("{index}/{n}"), &entry_value(keys)?)
    }

    /// The keys every entry of the counted index under `index` names, with the entries'
    /// own keys and its counter.
    fn index_keys(&self, index: &str, from: u64) -> Result<Vec<String>, ConnectorError> {
        let counter = self.key(&format!("{index}/n"));
        let n = self.kv.increment(&counter, 0).map_err(storage_error)?;
        let mut keys = Vec::new();
        for i in from..=u64::try_from(n).unwrap_or(0) {
            let entry = format!("{index}/{i}");
            if let Some(raw) = self.get_raw(&entry)? {
                keys.extend(entry_keys(&raw).into_iter().filter(|k| self.owns(k)));
            }
            keys.push(self.key(&entry));
        }
        keys.push(counter);
        Ok(keys)
    }

    /// Every key the owned-key index names, with the index itself.
    pub(super) fn owned_keys(&self) -> Result<Vec<String>, ConnectorError> {
        self.index_keys("keys", 1)
    }

    /// Every key the expiry index names, with the index itself.
    pub(super) fn guard_keys(&self) -> Result<Vec<String>, ConnectorError> {
        let buckets: Vec<Bucket> = self.get_json("expiry")?.unwrap_or_default();
        let mut keys = Vec::new();
        for bucket in buckets {
            keys.extend(self.index_keys(&format!("expiry/{}", bucket.b), bucket.done + 1)?);
        }
        keys.push(self.key("expiry"));
        Ok(keys)
    }

    /// Deletes bucket `b`'s guards and entries, at most `budget` keys (what is left of it
    /// stays in `budget`): `true` when the bucket is done.
    fn sweep_bucket(&self, b: u64, budget: &mut u32) -> Result<bool, ConnectorError> {
        let buckets: Vec<Bucket> = self.get_json("expiry")?.unwrap_or_default();
        let Some(bucket) = buckets.iter().find(|x| x.b == b).copied() else {
            return Ok(true);
        };
        let counter = format!("expiry/{b}/n");
        let n = u64::try_from(
            self.kv
                .increment(&self.key(&counter), 0)
                .map_err(storage_error)?,
        )
        .unwrap_or(0);
        let mut i = bucket.done;
        while i < n && *budget > 0 {
            i += 1;
            let entry = format!("expiry/{b}/{i}");
            if let Some(raw) = self.get_raw(&entry)? {
                for key in entry_keys(&raw) {
                    if self.owns(&key) {
                        self.kv.delete(&key).map_err(storage_error)?;
                        *budget = budget.saturating_sub(1);
                    }
                }
            }
            self.delete(&entry)?;
            *budget = budget.saturating_sub(1);
        }
        let finished = i >= n;
        if finished {
            self.delete(&counter)?;
        }
        update(self.kv, &self.key("expiry"), |list: &mut Vec<Bucket>| {
            let Some(pos) = list.iter().position(|x| x.b == b) else {
                return false;
            };
            if finished {
                list.remove(pos);
            } else if let Some(entry) = list.get_mut(pos) {
                entry.done = entry.done.max(i);
            }
            true
        })?;
        Ok(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::FakeKv;

    fn id(raw: &str) -> ConnectionId {
        ConnectionId::parse(raw).unwrap()
    }

    /// A store where another writer adds `b` to a list between an update's read and its
    /// swap, the first two times.
    struct Contended<'a>(&'a FakeKv, std::cell::Cell<u32>);

    impl Kv for Contended<'_> {
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
            let raced = self.1.get();
            if raced < 2 {
                self.1.set(raced + 1);
                let other = format!("[\"other-{raced}\"]");
                self.0.set(key, other.as_bytes())?;
            }
            self.0.compare_and_swap(key, expected, new)
        }
        fn list_keys(
            &self,
            cursor: Option<&str>,
        ) -> Result<(Vec<String>, Option<String>), crate::io::BackendError> {
            self.0.list_keys(cursor)
        }
    }

    #[test]
    fn an_update_that_loses_a_race_backs_off_reads_again_and_keeps_the_other_write() {
        let kv = FakeKv::default();
        let contended = Contended(&kv, std::cell::Cell::new(0));
        let started = std::time::Instant::now();
        let list = update(&contended, "list", |ids: &mut Vec<String>| {
            ids.push("mine".into());
            true
        })
        .unwrap();
        assert_eq!(list, ["other-1", "mine"]);
        // Two lost races: at least ½ ms and 1 ms of waiting.
        assert!(started.elapsed() >= std::time::Duration::from_micros(1_500));
        let gets = kv.take_ops().iter().filter(|op| op.op == "get").count();
        assert!(gets >= 3, "read again after each lost race");
    }

    #[test]
    fn the_registry_lists_connected_connections_without_listing_the_bucket() {
        let kv = FakeKv::default();
        let store = Store::new(&kv);
        store.register(&id("b"), Some(true)).unwrap();
        store.register(&id("a"), Some(true)).unwrap();
        store.register(&id("c"), None).unwrap();
        store.register(&id("a"), None).unwrap();
        assert_eq!(store.connections().unwrap(), [id("a"), id("b")]);
        store.register(&id("b"), Some(false)).unwrap();
        store.unregister(&id("a")).unwrap();
        assert!(store.connections().unwrap().is_empty());
        assert_eq!(store.registered().unwrap().len(), 2);
    }

    #[test]
    fn guards_are_swept_once_their_bucket_is_due_and_not_before() {
        let kv = FakeKv::default();
        let store = Store::new(&kv);
        let a = store.connection(&id("a"));
        let b = store.connection(&id("b"));
        let day = 24 * 3600 * 1000;
        for (conn, n) in [(&a, 3), (&b, 2)] {
            for i in 0..n {
                let key = conn.key(&format!("delivery/t{i}"));
                conn.expire(std::slice::from_ref(&key), 1_000 + day)
                    .unwrap();
                kv.set(&key, b"x").unwrap();
            }
        }
        let guards = |kv: &FakeKv| {
            kv.0.borrow()
                .keys()
                .filter(|k| k.contains("/delivery/"))
                .count()
        };
        assert_eq!(guards(&kv), 5);
        let early = store.sweep(day, "h", 0).unwrap();
        assert_eq!(early.deleted, 0);
        assert_eq!(guards(&kv), 5);
        let due = 1_000 + day + BUCKET_MS + SWEEP_GRACE_MS;
        let swept = store.sweep(due, "h", 1).unwrap();
        assert_eq!(guards(&kv), 0);
        assert!(!swept.more);
        // Nothing of the index is left either: the registry, the cursor and each
        // connection's (empty) bucket list.
        let left: Vec<String> = kv.0.borrow().keys().cloned().collect();
        assert!(
            left.iter().all(|k| k.starts_with("registry/")
                || k == "sweep/cursor"
                || (k.ends_with("/expiry") && kv.get(k).unwrap().unwrap() == b"[]")),
            "{left:?}"
        );
    }

    #[test]
    fn a_sweep_is_capped_per_connection_and_resumes_where_it_stopped() {
        let kv = FakeKv::default();
        let store = Store::new(&kv);
        let big = store.connection(&id("big"));
        let small = store.connection(&id("small"));
        for i in 0..(SWEEP_BUDGET_PER_CONNECTION + 50) {
            let key = big.key(&format!("delivery/t{i}"));
            big.expire(std::slice::from_ref(&key), 10).unwrap();
            kv.set(&key, b"x").unwrap();
        }
        let key = small.key("delivery/only");
        small.expire(std::slice::from_ref(&key), 10).unwrap();
        kv.set(&key, b"x").unwrap();
        let now = BUCKET_MS + SWEEP_GRACE_MS;
        let first = store.sweep(now, "h", 0).unwrap();
        assert!(first.more);
        assert!(first.deleted <= SWEEP_BUDGET_PER_CONNECTION + 2);
        // The small connection was not starved by the big one.
        assert_eq!(kv.get(&key).unwrap(), None);
        // Each sweep deletes 250 keys of the big one: 125 guards and their entries.
        let mut sweeps = 1;
        while store.sweep(now, "h", 0).unwrap().more {
            sweeps += 1;
            assert!(sweeps < 10);
        }
        assert_eq!(sweeps + 1, 3);
        assert!(!kv.0.borrow().keys().any(|k| k.contains("/delivery/")));
    }

    #[test]
    fn another_holder_cannot_sweep_while_one_holds_the_lease() {
        let kv = FakeKv::default();
        let store = Store::new(&kv);
        assert!(store.take_lease("sweep/lease", "one", 0, 1_000).unwrap());
        assert!(!store.take_lease("sweep/lease", "two", 500, 1_000).unwrap());
        assert!(store
            .take_lease("sweep/lease", "two", 1_001, 1_000)
            .unwrap());
    }
}
