//! A key-value bucket as a directory: one file per key, written by atomic rename, and every
//! write (including compare-and-swap) under an exclusive-create lock file for that key.
//!
//! `wasmtime serve` runs each request in a fresh instance, possibly at the same time as
//! others, so nothing kept in the instance survives and nothing in it is shared. The
//! filesystem is: creating a file with `create_new` is atomic on the host, and so is a rename
//! over an existing file. That gives a lock per key that holds across concurrent instances
//! and across processes sharing the directory, and readers that never see half a value.
//!
//! Layout inside a bucket directory (names are the key, percent-encoded):
//! - `v-{key}`: the value;
//! - `l-{key}`: the lock, holding the time it was taken (milliseconds since the epoch);
//! - `t-{key}`: the next value while the lock holder writes it.

use std::fs;
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A lock older than this was left by an instance that stopped while holding it (a trap or a
/// deadline); it is broken. Every holder finishes in well under a millisecond of file work.
pub const STALE_LOCK: Duration = Duration::from_secs(5);

/// How long a writer waits for a key's lock before giving up with an error.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Keys returned per `list-keys` page.
pub const PAGE: usize = 500;

/// The longest encoded key that still makes a file name (255 bytes, less the prefix).
const MAX_ENCODED_KEY: usize = 250;

/// One bucket: a directory.
#[derive(Debug, Clone)]
pub struct Bucket {
    dir: PathBuf,
}

/// Why a write did not happen.
#[derive(Debug)]
pub enum StoreError {
    /// The key cannot be a file name (too long once encoded).
    BadKey(String),
    /// Another writer held the key's lock for longer than [`LOCK_WAIT`].
    Busy(String),
    /// The filesystem refused.
    Io(io::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadKey(key) => write!(f, "key {key:?} is too long for this store"),
            Self::Busy(key) => write!(f, "key {key:?} stayed locked by another writer"),
            Self::Io(e) => write!(f, "filesystem: {e}"),
        }
    }
}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A bucket name or key as a file name: ASCII letters, digits, `-` and `_` as they are,
/// every other byte as `%XX`.
pub fn encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The key a file name encodes, or `None` for a name [`encode`] does not produce.
pub fn decode(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// A held lock on one key; released when dropped.
struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Bucket {
    /// The bucket `name` under `root`, created when missing.
    pub fn open(root: &Path, name: &str) -> io::Result<Self> {
        let dir = root.join(encode(name));
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn file(&self, prefix: &str, key: &str) -> Result<PathBuf, StoreError> {
        let encoded = encode(key);
        if encoded.len() > MAX_ENCODED_KEY {
            return Err(StoreError::BadKey(key.to_string()));
        }
        Ok(self.dir.join(format!("{prefix}-{encoded}")))
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(self.file("v", key)?) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes `key`'s lock, waiting for another holder and breaking a stale lock.
    fn lock(&self, key: &str) -> Result<Lock, StoreError> {
        let path = self.file("l", key)?;
        let started = SystemTime::now();
        let mut pause = Duration::from_micros(200);
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(now_ms().to_string().as_bytes())?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
            if let Ok(taken) = fs::read_to_string(&path) {
                let taken: u128 = taken.trim().parse().unwrap_or(0);
                // An empty file is a lock being written this instant: not stale.
                if !taken_is_fresh(taken) {
                    // Only remove it if it is still the same stale lock.
                    if fs::read_to_string(&path)
                        .is_ok_and(|again| again.trim() == taken.to_string())
                    {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                }
            }
            if started.elapsed().unwrap_or_default() > LOCK_WAIT {
                return Err(StoreError::Busy(key.to_string()));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Writes `value` for `key` while holding its lock.
    fn write_locked(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let next = self.file("t", key)?;
        fs::write(&next, value)?;
        fs::rename(&next, self.file("v", key)?)?;
        Ok(())
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let _lock = self.lock(key)?;
        self.write_locked(key, value)
    }

    /// Removes `key` (nothing to do when it is absent).
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        let _lock = self.lock(key)?;
        match fs::remove_file(self.file("v", key)?) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Sets `key` to `value` only if it still holds `expected` (`None`: absent). On a
    /// mismatch, answers what it holds now.
    pub fn swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<Result<(), Option<Vec<u8>>>, StoreError> {
        let _lock = self.lock(key)?;
        let current = self.get(key)?;
        if current.as_deref() != expected {
            return Ok(Err(current));
        }
        self.write_locked(key, value)?;
        Ok(Ok(()))
    }

    /// Adds `delta` to the decimal number at `key` (absent: 0) and answers the sum.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let _lock = self.lock(key)?;
        let current = match self.get(key)? {
            None => 0,
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    StoreError::Io(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("{key:?} does not hold a number"),
                    ))
                })?,
        };
        let sum = current.saturating_add(delta);
        self.write_locked(key, sum.to_string().as_bytes())?;
        Ok(sum)
    }

    /// Keys in order, [`PAGE`] at a time, after `cursor` (the last key of the previous page).
    pub fn list_keys(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), StoreError> {
        let mut keys: Vec<String> = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(key) = name.strip_prefix("v-").and_then(decode) {
                if cursor.is_none_or(|after| key.as_str() > after) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        if keys.len() > PAGE {
            keys.truncate(PAGE);
            let next = keys.last().cloned();
            return Ok((keys, next));
        }
        Ok((keys, None))
    }
}

fn taken_is_fresh(taken_ms: u128) -> bool {
    taken_ms == 0 || now_ms().saturating_sub(taken_ms) < STALE_LOCK.as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> (tempfile::TempDir, Bucket) {
        let dir = tempfile::tempdir().unwrap();
        let bucket = Bucket::open(dir.path(), "default").unwrap();
        (dir, bucket)
    }

    #[test]
    fn keys_round_trip_through_file_names() {
        for key in ["conn/acme/token", "a b%c", "é/ü", "plain-key_1", ""] {
            let encoded = encode(key);
            assert!(!encoded.contains('/'));
            assert_eq!(decode(&encoded).as_deref(), Some(key));
        }
        assert_eq!(decode("%G1"), None);
        assert_eq!(decode("%4"), None);
    }

    #[test]
    fn set_get_delete_and_list() {
        let (_dir, bucket) = bucket();
        assert_eq!(bucket.get("conn/acme/a").unwrap(), None);
        bucket.set("conn/acme/a", b"1").unwrap();
        bucket.set("conn/acme/b", b"2").unwrap();
        bucket.set("conn/acme/a", b"3").unwrap();
        assert_eq!(
            bucket.get("conn/acme/a").unwrap().as_deref(),
            Some(&b"3"[..])
        );
        let (keys, cursor) = bucket.list_keys(None).unwrap();
        assert_eq!(keys, ["conn/acme/a", "conn/acme/b"]);
        assert_eq!(cursor, None);
        bucket.delete("conn/acme/a").unwrap();
        bucket.delete("conn/acme/a").unwrap();
        assert_eq!(bucket.get("conn/acme/a").unwrap(), None);
        // No lock or temporary file is left behind.
        let names: Vec<_> = fs::read_dir(&bucket.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["v-conn%2Facme%2Fb"]);
    }

    #[test]
    fn swap_writes_only_over_the_expected_value() {
        let (_dir, bucket) = bucket();
        assert_eq!(bucket.swap("k", None, b"first").unwrap(), Ok(()));
        assert_eq!(
            bucket.swap("k", None, b"second").unwrap(),
            Err(Some(b"first".to_vec()))
        );
        assert_eq!(bucket.swap("k", Some(b"first"), b"third").unwrap(), Ok(()));
        assert_eq!(bucket.get("k").unwrap().as_deref(), Some(&b"third"[..]));
    }

    #[test]
    fn concurrent_claims_of_one_key_have_one_winner() {
        let (_dir, bucket) = bucket();
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let bucket = bucket.clone();
                    scope.spawn(move || {
                        bucket
                            .swap("claim", None, format!("worker {i}").as_bytes())
                            .unwrap()
                            .is_ok() as usize
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(winners, 1);
    }

    #[test]
    fn concurrent_increments_are_all_counted() {
        let (_dir, bucket) = bucket();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                let bucket = bucket.clone();
                scope.spawn(move || {
                    for _ in 0..25 {
                        bucket.increment("n", 1).unwrap();
                    }
                });
            }
        });
        assert_eq!(bucket.increment("n", 0).unwrap(), 200);
        bucket.set("text", b"x").unwrap();
        assert!(bucket.increment("text", 1).is_err());
    }

    #[test]
    fn a_stale_lock_is_broken_and_a_fresh_one_waited_for() {
        let (_dir, bucket) = bucket();
        let lock = bucket.file("l", "k").unwrap();
        let stale = now_ms() - STALE_LOCK.as_millis() - 1000;
        fs::write(&lock, stale.to_string()).unwrap();
        bucket.set("k", b"after a trap").unwrap();
        assert_eq!(
            bucket.get("k").unwrap().as_deref(),
            Some(&b"after a trap"[..])
        );
        assert!(!lock.exists());

        // A live holder: the writer waits until it lets go.
        fs::write(&lock, now_ms().to_string()).unwrap();
        let released = std::thread::spawn({
            let lock = lock.clone();
            move || {
                std::thread::sleep(Duration::from_millis(100));
                fs::remove_file(lock).unwrap();
            }
        });
        bucket.set("k", b"waited").unwrap();
        released.join().unwrap();
        assert_eq!(bucket.get("k").unwrap().as_deref(), Some(&b"waited"[..]));
    }

    #[test]
    fn list_keys_pages_after_the_cursor() {
        let (_dir, bucket) = bucket();
        for i in 0..(PAGE + 3) {
            bucket.set(&format!("k{i:04}"), b"").unwrap();
        }
        let (first, cursor) = bucket.list_keys(None).unwrap();
        assert_eq!(first.len(), PAGE);
        let (rest, end) = bucket.list_keys(cursor.as_deref()).unwrap();
        assert_eq!(rest, ["k0500", "k0501", "k0502"]);
        assert_eq!(end, None);
    }

    #[test]
    fn overlong_keys_are_refused_not_truncated() {
        let (_dir, bucket) = bucket();
        let key = "x".repeat(300);
        assert!(matches!(bucket.set(&key, b"v"), Err(StoreError::BadKey(_))));
    }
}
