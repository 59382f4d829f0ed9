//! Callback URLs: `<public URL>/webhooks/peoplevox/<token>/<event>?<site>&<placeholders>`.
//! The token is a secret, so a callback is kept without it and the URL with it exists only
//! while subscribing ([`CallbackRequest`], a [`SecretString`]); what is shown or stored is
//! [`Callback::redacted`], and changes are detected by [`Callback::fingerprint`].

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::webhook::PEOPLEVOX_PREFIX;

use super::desired::EventKind;

/// Stands for the token wherever a callback URL is shown or stored.
pub const REDACTED_TOKEN: &str = "<token>";

/// Where Peoplevox calls back for one subscription, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// Public base URL, without a trailing `/`.
    base: String,
    /// Callback path segment, e.g. `availability`.
    event: &'static str,
    /// `site=…`, form-encoded, or empty.
    fixed: String,
    /// `name={Placeholder}` pairs.
    placeholders: &'static str,
    /// SubscribePostEvent: the placeholders go in the POST body, not the URL.
    pub post: bool,
}

/// What SubscribeEvent (or SubscribePostEvent) is sent: the URL carries the token.
pub struct CallbackRequest {
    /// `callbackUrl` (GET) or `postUrl` (POST).
    pub url: SecretString,
    /// `postParams` of a POST subscription.
    pub post_params: Option<String>,
}

impl Callback {
    /// The callback of `kind`, at `site` (a static `site=` parameter) or everywhere.
    pub fn new(base: &str, kind: EventKind, site: Option<&str>, post: bool) -> Self {
        let fixed = site
            .map(|s| {
                let encoded: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
                format!("site={encoded}")
            })
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_string(),
            event: kind.event,
            fixed,
            placeholders: kind.placeholders,
            post,
        }
    }

    /// `GET` or `POST`.
    pub fn method(&self) -> &'static str {
        if self.post { "POST" } else { "GET" }
    }

    /// The request to subscribe with, the token in the path.
    pub fn request(&self, token: &SecretString) -> CallbackRequest {
        let url = self.url_with(token.expose_secret());
        CallbackRequest {
            url: SecretString::from(url),
            post_params: self.post.then(|| self.placeholders.to_string()),
        }
    }

    /// The URL with the token replaced by [`REDACTED_TOKEN`] (GET: with the placeholders).
    pub fn redacted(&self) -> String {
        self.url_with(REDACTED_TOKEN)
    }

    /// `postParams` of a POST subscription.
    pub fn post_params(&self) -> Option<&'static str> {
        self.post.then_some(self.placeholders)
    }

    /// SHA-256 (hex) of everything Peoplevox is given for this subscription, the token
    /// included, so that a new public URL, a rotated token, another filter or method all read
    /// as a change. The token is at least 32 random characters, so the hash does not give it
    /// away; the prefix keeps these hashes apart from any other use of SHA-256.
    pub fn fingerprint(&self, event_type: &str, filter: &str, token: &SecretString) -> String {
        let request = self.request(token);
        let mut hash = Sha256::new();
        for part in [
            "ctpvx-subscription-v1",
            event_type,
            filter,
            self.method(),
            request.url.expose_secret(),
            request.post_params.as_deref().unwrap_or(""),
        ] {
            hash.update(part.as_bytes());
            // A separator no part contains, so that parts cannot slide into each other.
            hash.update([0u8]);
        }
        hex::encode(hash.finalize())
    }

    fn url_with(&self, token: &str) -> String {
        let query: Vec<&str> = if self.post {
            vec![self.fixed.as_str()]
        } else {
            vec![self.fixed.as_str(), self.placeholders]
        };
        let query: Vec<&str> = query.into_iter().filter(|q| !q.is_empty()).collect();
        let mut url = format!("{}{PEOPLEVOX_PREFIX}{token}/{}", self.base, self.event);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::desired::{AVAILABILITY, TRACKING};

    fn token(t: &str) -> SecretString {
        SecretString::from(t.to_string())
    }

    #[test]
    fn get_carries_placeholders_in_the_url_and_post_in_the_body() {
        let get = Callback::new("https://h.example/", AVAILABILITY, Some("UK-DC"), false);
        let request = get.request(&token("tok"));
        assert_eq!(
            request.url.expose_secret(),
            "https://h.example/webhooks/peoplevox/tok/availability?site=UK-DC&item={ItemCode}&available={Available}"
        );
        assert_eq!(request.post_params, None);
        let post = Callback::new("https://h.example", AVAILABILITY, Some("UK-DC"), true);
        let request = post.request(&token("tok"));
        assert_eq!(
            request.url.expose_secret(),
            "https://h.example/webhooks/peoplevox/tok/availability?site=UK-DC"
        );
        assert_eq!(
            request.post_params.as_deref(),
            Some("item={ItemCode}&available={Available}")
        );
        let everywhere = Callback::new("https://h.example", TRACKING, None, true);
        assert_eq!(
            everywhere.redacted(),
            "https://h.example/webhooks/peoplevox/<token>/tracking"
        );
    }

    #[test]
    fn fingerprints_change_with_anything_peoplevox_is_given() {
        let c = Callback::new("https://h.example", AVAILABILITY, Some("A"), false);
        let f = |c: &Callback, filter: &str, t: &str| {
            c.fingerprint("AvailabilityChanges", filter, &token(t))
        };
        let base = f(&c, "site == \"A\"", "tok-1");
        assert_eq!(base, f(&c, "site == \"A\"", "tok-1"));
        assert_ne!(base, f(&c, "site == \"A\"", "tok-2"));
        assert_ne!(base, f(&c, "", "tok-1"));
        let moved = Callback::new("https://other.example", AVAILABILITY, Some("A"), false);
        assert_ne!(base, f(&moved, "site == \"A\"", "tok-1"));
        let post = Callback::new("https://h.example", AVAILABILITY, Some("A"), true);
        assert_ne!(base, f(&post, "site == \"A\"", "tok-1"));
        assert!(!base.contains("tok-1") && base.len() == 64);
    }
}
