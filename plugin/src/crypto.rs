//! Secrets at rest: XChaCha20-Poly1305 with the connection id and field name as associated
//! data, so a sealed value copied to another field or connection does not open.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::ConnectorError;
use crate::io::Random;
use crate::secret::Secret;

/// The format version prefixed to every sealed value.
const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;

/// Seals and opens secrets with the deployment's key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

fn associated_data(connection: &str, field: &str) -> Vec<u8> {
    format!("lever-connector\0{VERSION}\0{connection}\0{field}").into_bytes()
}

impl Sealer {
    /// A sealer for a 32-byte key; `None` for any other length.
    pub fn new(key: &[u8]) -> Option<Self> {
        XChaCha20Poly1305::new_from_slice(key)
            .ok()
            .map(|cipher| Self { cipher })
    }

    /// `v1.<base64 nonce+ciphertext>` of `secret`, bound to `connection` and `field`.
    pub fn seal(
        &self,
        random: &dyn Random,
        connection: &str,
        field: &str,
        secret: &Secret,
    ) -> Result<String, ConnectorError> {
        let nonce_bytes = random.bytes(NONCE_LEN);
        let nonce = XNonce::from_slice(&nonce_bytes);
        let aad = associated_data(connection, field);
        let sealed = self
            .cipher
            .encrypt(
                nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| ConnectorError::Internal("sealing a secret failed".into()))?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{VERSION}.{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        ))
    }

    /// Opens what [`Sealer::seal`] produced for the same `connection` and `field`.
    pub fn open(
        &self,
        connection: &str,
        field: &str,
        sealed: &str,
    ) -> Result<Secret, ConnectorError> {
        let corrupt = || {
            ConnectorError::Internal(format!(
                "the stored {field} of connection {connection} does not decrypt (wrong encryption_key, or the value was moved)"
            ))
        };
        let encoded = sealed
            .strip_prefix(VERSION)
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or_else(corrupt)?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| corrupt())?;
        if bytes.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = associated_data(connection, field);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::FakeRandom;

    #[test]
    fn sealed_values_open_only_for_their_connection_and_field() {
        let sealer = Sealer::new(&[9u8; 32]).unwrap();
        let random = FakeRandom::default();
        let secret = Secret::new("planted-refresh-token");
        let sealed = sealer
            .seal(&random, "acme", "refresh_token", &secret)
            .unwrap();
        assert!(!sealed.contains("planted"));
        assert_eq!(
            sealer.open("acme", "refresh_token", &sealed).unwrap(),
            secret
        );
        assert!(sealer.open("globex", "refresh_token", &sealed).is_err());
        assert!(sealer.open("acme", "access_token", &sealed).is_err());
        assert!(Sealer::new(&[8u8; 32])
            .unwrap()
            .open("acme", "refresh_token", &sealed)
            .is_err());
        // A fresh nonce each time.
        assert_ne!(
            sealed,
            sealer
                .seal(&random, "acme", "refresh_token", &secret)
                .unwrap()
        );
        assert!(Sealer::new(&[1u8; 16]).is_none());
    }
}
