//! A connection's recent activity: each Lever delivery and partner call with its outcome,
//! for the admin who looks at the connect portal. Entries carry ids, event names and error
//! messages only (never a secret).

use crate::error::ConnectorError;
use crate::io::Env;
use crate::store::{Activity, ConnectionId, Store};

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Lever webhook delivery.
    Lever,
    /// A partner call.
    Partner,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Lever => "lever",
            Source::Partner => "partner",
        }
    }
}

/// Records one entry. Best effort on purpose: the log is a view for admins, and a failed
/// write must not fail (and so re-run) the delivery or call it describes.
pub fn record(
    env: &Env,
    connection: &ConnectionId,
    source: Source,
    what: &str,
    outcome: &str,
    detail: impl Into<String>,
) {
    let entry = entry(env, source, what, outcome, detail);
    let _ = Store::new(env.kv)
        .connection(connection)
        .append_activity(&entry);
}

/// An entry as of now, for a caller that writes it with other things.
pub fn entry(
    env: &Env,
    source: Source,
    what: &str,
    outcome: &str,
    detail: impl Into<String>,
) -> Activity {
    Activity {
        at: env.clock.now(),
        source: source.as_str().into(),
        what: what.into(),
        outcome: outcome.into(),
        detail: detail.into(),
    }
}

/// Records a partner call's result (`applied` with `describe`'s words, or `failed` with the
/// error) and passes the result on.
pub fn partner_call<T>(
    env: &Env,
    connection: &ConnectionId,
    what: &str,
    result: Result<T, ConnectorError>,
    describe: impl FnOnce(&T) -> String,
) -> Result<T, ConnectorError> {
    match &result {
        Ok(value) => record(
            env,
            connection,
            Source::Partner,
            what,
            "applied",
            describe(value),
        ),
        Err(error) => record(
            env,
            connection,
            Source::Partner,
            what,
            "failed",
            error.to_string(),
        ),
    }
    result
}

/// The last `max` entries, newest first.
pub fn recent(
    env: &Env,
    connection: &ConnectionId,
    max: u64,
) -> Result<Vec<Activity>, ConnectorError> {
    Store::new(env.kv)
        .connection(connection)
        .recent_activity(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, World};

    #[test]
    fn entries_are_per_connection_newest_first_and_bounded() {
        let world = World::new(FakeConfig::default(), 0);
        let env = world.env();
        let acme = ConnectionId::parse("acme").unwrap();
        let globex = ConnectionId::parse("globex").unwrap();
        for i in 0..105 {
            record(
                &env,
                &acme,
                Source::Lever,
                "candidateStageChange",
                "forwarded",
                format!("n{i}"),
            );
        }
        record(
            &env,
            &globex,
            Source::Partner,
            "candidate upload",
            "applied",
            "g",
        );
        let recent = recent(&env, &acme, 3).unwrap();
        let details: Vec<&str> = recent.iter().map(|a| a.detail.as_str()).collect();
        assert_eq!(details, ["n104", "n103", "n102"]);
        assert_eq!(super::recent(&env, &acme, 500).unwrap().len(), 100);
        let other = super::recent(&env, &globex, 10).unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].source, "partner");
    }
}
