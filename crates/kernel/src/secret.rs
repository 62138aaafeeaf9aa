//! Random secrets and their digests. Secrets handed to users (refresh tokens, reset
//! tokens, verification codes) are stored only as digests, so a database leak does not
//! leak working credentials.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS generator failing means the machine cannot do cryptography at all.
    if let Err(e) = getrandom::getrandom(&mut buf) {
        panic!("operating system random generator failed: {e}");
    }
    buf
}

/// An unguessable token, base64url (256 bits).
pub fn random_token() -> String {
    B64.encode(random_bytes::<32>())
}

/// A numeric code of `digits` digits, uniformly distributed.
pub fn random_digits(digits: u32) -> String {
    let modulus = 10u64.pow(digits);
    // Rejection sampling avoids modulo bias.
    let limit = u64::MAX - (u64::MAX % modulus);
    loop {
        let n = u64::from_le_bytes(random_bytes::<8>());
        if n < limit {
            return format!("{:0width$}", n % modulus, width = digits as usize);
        }
    }
}

/// SHA-256 of a secret; high-entropy tokens need no slow hash.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Keyed digest, for low-entropy secrets (6-digit codes) that a plain hash would not
/// protect: without the key, the table of digests cannot be brute-forced offline.
pub fn keyed_digest(key: &[u8], message: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time comparison of a message's MAC with an expected one.
pub fn verify_keyed_digest(key: &[u8], message: &str, expected: &[u8]) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message.as_bytes());
    mac.verify_slice(expected).is_ok()
}

pub fn b64url(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    B64.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_fixed_width_and_tokens_differ() {
        for _ in 0..100 {
            let c = random_digits(6);
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|ch| ch.is_ascii_digit()));
        }
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn keyed_digests_verify_only_with_the_same_key_and_message() {
        let d = keyed_digest(b"k", "123456");
        assert!(verify_keyed_digest(b"k", "123456", &d));
        assert!(!verify_keyed_digest(b"k", "123457", &d));
        assert!(!verify_keyed_digest(b"j", "123456", &d));
        assert_eq!(digest("a"), digest("a"));
    }
}

/// A secret setting: usable, but never printed by `Debug` (configuration is logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}
