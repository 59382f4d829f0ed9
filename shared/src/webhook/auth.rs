//! Secret checks in constant time: the commercetools Bearer token and the Peoplevox path token.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `authorization` is `Bearer <token>`. Both sides are hashed first so that the
/// comparison takes the same time whatever the length or content of the presented value.
pub fn token_matches(authorization: Option<&str>, token: &SecretString) -> bool {
    let presented = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .unwrap_or("");
    secret_matches(presented.trim(), token)
}

/// Whether `presented` is the secret. Both sides are hashed first so that the comparison takes
/// the same time whatever the length, content or first difference of the presented value.
pub fn secret_matches(presented: &str, token: &SecretString) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(token.expose_secret().as_bytes());
    let equal: bool = a.as_slice().ct_eq(b.as_slice()).into();
    equal && !presented.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_exact_token() {
        let token = SecretString::from("s3cr3t-token-with-enough-length-000");
        assert!(token_matches(
            Some("Bearer s3cr3t-token-with-enough-length-000"),
            &token
        ));
        assert!(!token_matches(
            Some("Bearer s3cr3t-token-with-enough-length-001"),
            &token
        ));
        assert!(!token_matches(
            Some("s3cr3t-token-with-enough-length-000"),
            &token
        ));
        assert!(!token_matches(Some("Bearer "), &token));
        assert!(!token_matches(None, &token));
    }
}
