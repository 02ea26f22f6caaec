//! Secrets that cannot leak through `Debug`, `Display` or serialization.

use std::fmt;

/// A credential or signing key. `Debug` prints a fixed placeholder; there is no `Display`
/// and no `Serialize`: the value is reachable only through [`Secret::expose`], used where a
/// header or MAC is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call only where it is put on the wire or into a MAC.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_value() {
        let secret = Secret::new("sk_live_planted_value");
        assert!(!format!("{secret:?}").contains("planted"));
        assert!(!format!("{:#?}", Some(&secret)).contains("planted"));
    }
}
