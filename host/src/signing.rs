//! Signing as Lever and verifying as a partner would: the simulators' side of both
//! signature schemes, written independently of the component's.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use sha2::Sha256;

/// `hex(HMAC-SHA256(key = signature token, message = token + triggeredAt))`.
pub fn lever_signature(signature_token: &str, delivery_token: &str, triggered_at: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signature_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(delivery_token.as_bytes());
    mac.update(triggered_at.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A random token of `len` letters and digits (Lever's delivery tokens are 48).
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A delivery body as Lever sends it, signed.
pub fn lever_delivery(
    signature_token: &str,
    event: &str,
    data: serde_json::Value,
    triggered_at: u64,
    delivery_token: &str,
) -> serde_json::Value {
    serde_json::json!({
        "triggeredAt": triggered_at,
        "event": event,
        "signature": lever_signature(signature_token, delivery_token, triggered_at),
        "token": delivery_token,
        "data": data,
    })
}

/// Why a Standard Webhooks delivery was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A `webhook-*` header is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp is not a number or too far from now.
    #[error("timestamp outside the tolerance")]
    Timestamp,
    /// No signature matched.
    #[error("no matching signature")]
    Signature,
    /// The receiver's secret is not `whsec_` + base64.
    #[error("bad receiver secret")]
    Secret,
}

/// Verifies a Standard Webhooks delivery: `v1,<base64 HMAC-SHA256(key, "id.ts.body")>`
/// among the space-separated signatures, timestamp within `tolerance_secs` of `now_secs`.
pub fn verify_standard_webhook(
    secret: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<(), Rejection> {
    let id = id.ok_or(Rejection::MissingHeader("webhook-id"))?;
    let timestamp = timestamp.ok_or(Rejection::MissingHeader("webhook-timestamp"))?;
    let signatures = signatures.ok_or(Rejection::MissingHeader("webhook-signature"))?;
    let seconds: u64 = timestamp.parse().map_err(|_| Rejection::Timestamp)?;
    if seconds.abs_diff(now_secs) > tolerance_secs {
        return Err(Rejection::Timestamp);
    }
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
        .ok_or(Rejection::Secret)?;
    let matched = signatures.split_whitespace().any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&signature).is_ok()
    });
    if matched {
        Ok(())
    } else {
        Err(Rejection::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_lever_fixture_signature() {
        // tests/fixtures/lever/webhooks/candidateStageChange.json
        assert_eq!(
            lever_signature("test-signature-token-7f3a", "tok-0001", 1763942401000),
            "6d442bf94745e2481df83a0f984536b62e01a63e3b9a2a488671079ec26e4f98"
        );
    }

    #[test]
    fn verifies_the_standard_webhooks_example_and_rejects_changes() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let id = Some("msg_p5jXN8AQM9LWM0D4loKWxJek");
        let ts = Some("1614265330");
        let now = 1614265330 + 10;
        assert_eq!(
            verify_standard_webhook(secret, id, ts, Some(sig), body, now, 300),
            Ok(())
        );
        let rotated = format!("v1,bm90IGl0 {sig}");
        assert_eq!(
            verify_standard_webhook(secret, id, ts, Some(&rotated), body, now, 300),
            Ok(())
        );
        assert_eq!(
            verify_standard_webhook(secret, id, ts, Some(sig), b"{}", now, 300),
            Err(Rejection::Signature)
        );
        assert_eq!(
            verify_standard_webhook(secret, id, ts, Some(sig), body, now + 400, 300),
            Err(Rejection::Timestamp)
        );
        assert_eq!(
            verify_standard_webhook(secret, None, ts, Some(sig), body, now, 300),
            Err(Rejection::MissingHeader("webhook-id"))
        );
    }
}
