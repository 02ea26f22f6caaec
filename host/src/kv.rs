//! Key-value storage for `wasi:keyvalue`: an embedded SQLite database (a file, or memory).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use rusqlite::{params, Connection, OptionalExtension};

const SELECT: &str = "SELECT value FROM kv WHERE bucket = ?1 AND key = ?2";
const UPSERT: &str = "INSERT INTO kv (bucket, key, value) VALUES (?1, ?2, ?3)
     ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value";

fn read(c: &Connection, bucket: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached(SELECT)?
        .query_row(params![bucket, key], |row| row.get(0))
        .optional()
}

fn write(c: &Connection, bucket: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached(UPSERT)?
        .execute(params![bucket, key, value])
        .map(drop)
}

/// How many keys one `list-keys` page holds.
pub const LIST_PAGE: usize = 1000;

/// A shared SQLite-backed store of buckets of byte values.
#[derive(Clone)]
pub struct KvStore {
    conn: Arc<Mutex<Connection>>,
    ops: Arc<Ops>,
}

/// How many operations a store has served (for the benchmark's per-delivery counts).
#[derive(Debug, Default)]
struct Ops {
    all: std::sync::atomic::AtomicU64,
    writes: std::sync::atomic::AtomicU64,
}

/// Operations served so far: every call, and of those the ones that write (set, delete,
/// compare-and-swap, increment: each its own transaction, as on Spin's SQLite store).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Every operation.
    pub all: u64,
    /// Writes.
    pub writes: u64,
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvStore")
    }
}

/// The outcome of a compare-and-swap.
#[derive(Debug, PartialEq, Eq)]
pub enum Swap {
    /// The value was written.
    Done,
    /// The key held something else: here is what.
    Changed(Option<Vec<u8>>),
}

impl KvStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening key-value database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    /// A store that lives in memory only.
    ///
    /// It is SQLite's `memdb` file system (a private database held in memory, behind the
    /// same pager as a file), not a `:memory:` database: a write transaction on `:memory:`
    /// costs time in proportion to the database's size (26 µs on 150 000 entries, 200 µs on
    /// a million), on `memdb` it does not (12 and 14 µs), see docs/performance.md.
    pub fn in_memory() -> anyhow::Result<Self> {
        use rusqlite::OpenFlags;
        // No leading slash: the database is private to this connection.
        let conn = Connection::open_with_flags(
            "file:lever-kv?vfs=memdb",
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> anyhow::Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (
                bucket TEXT NOT NULL,
                key TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (bucket, key)
            ) WITHOUT ROWID;",
        )?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            ops: Arc::default(),
        })
    }

    /// Operations served so far.
    pub fn op_counts(&self) -> OpCounts {
        use std::sync::atomic::Ordering::Relaxed;
        OpCounts {
            all: self.ops.all.load(Relaxed),
            writes: self.ops.writes.load(Relaxed),
        }
    }

    fn counted(&self, write: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        self.ops.all.fetch_add(1, Relaxed);
        if write {
            self.ops.writes.fetch_add(1, Relaxed);
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "key-value store lock poisoned".to_string())?;
        f(&conn).map_err(|e| e.to_string())
    }

    /// The value under `key`.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.counted(false);
        self.with(|c| read(c, bucket, key))
    }

    /// Stores `value` under `key`.
    pub fn set(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.counted(true);
        self.with(|c| write(c, bucket, key, value))
    }

    /// Removes `key`.
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), String> {
        self.counted(true);
        self.with(|c| {
            c.prepare_cached("DELETE FROM kv WHERE bucket = ?1 AND key = ?2")?
                .execute(params![bucket, key])
                .map(drop)
        })
    }

    /// Stores every `(key, value)` in one transaction (one write, as Spin's SQLite store
    /// does `set-many`).
    pub fn set_many(&self, bucket: &str, entries: &[(String, Vec<u8>)]) -> Result<(), String> {
        self.counted(true);
        self.atomically(|c| {
            for (key, value) in entries {
                write(c, bucket, key, value)?;
            }
            Ok(Ok(()))
        })
    }

    /// Removes every key in one transaction.
    pub fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), String> {
        self.counted(true);
        self.atomically(|c| {
            let mut statement =
                c.prepare_cached("DELETE FROM kv WHERE bucket = ?1 AND key = ?2")?;
            for key in keys {
                statement.execute(params![bucket, key])?;
            }
            Ok(Ok(()))
        })
    }

    /// How many keys `bucket` holds (for benchmarks and tests; the connector never asks).
    pub fn count(&self, bucket: &str) -> Result<u64, String> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM kv WHERE bucket = ?1",
                params![bucket],
                |row| row.get::<_, i64>(0),
            )
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// Up to [`LIST_PAGE`] keys after `cursor`, in order, and the cursor for the next page.
    pub fn list_keys(
        &self,
        bucket: &str,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), String> {
        self.counted(false);
        let keys: Vec<String> = self.with(|c| {
            let mut statement = c.prepare(
                "SELECT key FROM kv WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
            )?;
            let rows = statement.query_map(
                params![bucket, cursor.unwrap_or(""), (LIST_PAGE + 1) as i64],
                |row| row.get(0),
            )?;
            rows.collect()
        })?;
        if keys.len() > LIST_PAGE {
            let page: Vec<String> = keys.into_iter().take(LIST_PAGE).collect();
            let next = page.last().cloned();
            Ok((page, next))
        } else {
            Ok((keys, None))
        }
    }

    /// Runs `f` in one transaction, committed only when it returns `Ok(Ok(_))`.
    fn atomically<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<Result<T, String>>,
    ) -> Result<T, String> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| "key-value store lock poisoned".to_string())?;
        // IMMEDIATE: take the write lock first, so two processes sharing the file cannot
        // both read the old value and then fail to upgrade.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let result = f(&tx).map_err(|e| e.to_string())?;
        if result.is_ok() {
            tx.commit().map_err(|e| e.to_string())?;
        }
        result
    }

    /// Adds `delta` to the integer under `key` (missing = 0), atomically.
    pub fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, String> {
        self.counted(true);
        self.atomically(|c| {
            let current = match read(c, bucket, key)? {
                None => 0,
                Some(bytes) => match std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                {
                    Some(n) => n,
                    None => return Ok(Err(format!("{key} does not hold an integer"))),
                },
            };
            let Some(next) = current.checked_add(delta) else {
                return Ok(Err(format!("{key} would overflow")));
            };
            write(c, bucket, key, next.to_string().as_bytes())?;
            Ok(Ok(next))
        })
    }

    /// Writes `value` only if `key` still holds `expected`, atomically.
    pub fn swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<Swap, String> {
        self.counted(true);
        self.atomically(|c| {
            let current = read(c, bucket, key)?;
            if current.as_deref() != expected {
                return Ok(Ok(Swap::Changed(current)));
            }
            write(c, bucket, key, value)?;
            Ok(Ok(Swap::Done))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_persist_across_reopening_the_file() {
        let dir = std::env::temp_dir().join(format!("lever-kv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kv.sqlite");
        {
            let store = KvStore::open(&path).unwrap();
            store.set("default", "a", b"1").unwrap();
        }
        let store = KvStore::open(&path).unwrap();
        assert_eq!(store.get("default", "a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.get("other", "a").unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn each_store_in_memory_is_its_own() {
        let one = KvStore::in_memory().unwrap();
        let two = KvStore::in_memory().unwrap();
        one.set("default", "a", b"1").unwrap();
        assert_eq!(two.get("default", "a").unwrap(), None);
        assert_eq!(one.get("default", "a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(one.count("default").unwrap(), 1);
    }

    #[test]
    fn swap_writes_only_over_the_expected_value() {
        let store = KvStore::in_memory().unwrap();
        assert_eq!(store.swap("b", "k", None, b"1").unwrap(), Swap::Done);
        assert_eq!(
            store.swap("b", "k", None, b"2").unwrap(),
            Swap::Changed(Some(b"1".to_vec()))
        );
        assert_eq!(store.swap("b", "k", Some(b"1"), b"2").unwrap(), Swap::Done);
        assert_eq!(store.increment("b", "n", 5).unwrap(), 5);
        assert_eq!(store.increment("b", "n", -2).unwrap(), 3);
        store.set("b", "text", b"not a number").unwrap();
        assert!(store.increment("b", "text", 1).is_err());
    }

    #[test]
    fn list_keys_pages_in_order() {
        let store = KvStore::in_memory().unwrap();
        for i in 0..(LIST_PAGE + 5) {
            store.set("b", &format!("k{i:05}"), b"").unwrap();
        }
        let (first, next) = store.list_keys("b", None).unwrap();
        assert_eq!(first.len(), LIST_PAGE);
        let (rest, end) = store.list_keys("b", next.as_deref()).unwrap();
        assert_eq!(rest.len(), 5);
        assert_eq!(end, None);
    }
}
