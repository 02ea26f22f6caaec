//! `wasi:config` from the environment: key `partner_api_key` is `LEVER_CONNECTOR_PARTNER_API_KEY`,
//! the same names `lever-host` reads (`wasmtime serve --env NAME=value` passes them).

/// The prefix of every connector variable.
pub const ENV_PREFIX: &str = "LEVER_CONNECTOR_";

/// The environment variable that holds config key `key`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The config keys among `vars` (name, value), with their values.
pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.into_iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix(ENV_PREFIX)?;
            (!key.is_empty()).then(|| (key.to_ascii_lowercase(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_prefixed_upper_case_names_and_back() {
        assert_eq!(
            env_name("partner_api_key"),
            "LEVER_CONNECTOR_PARTNER_API_KEY"
        );
        let vars = [
            ("LEVER_CONNECTOR_LEVER_API_BASE", "http://127.0.0.1:1"),
            ("PATH", "/bin"),
            ("LEVER_CONNECTOR_", "nameless"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(
            from_env(vars),
            [(
                "lever_api_base".to_string(),
                "http://127.0.0.1:1".to_string()
            )]
        );
    }
}
