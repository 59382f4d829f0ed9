//! Callback URLs: `<public URL>/webhooks/peoplevox/<token>/<event>?site=…&<parameters>&enc=…`.
//! The site (of a site-bound subscription) and `enc` are static; the parameters are
//! `name={Placeholder}` pairs written raw, braces included, as peep_conn writes them
//! (`subscription.rb` `query_string_from`). `enc` says how Peoplevox encodes the values (see
//! [`ENCODING_PARAM`]) and comes last, so that a URL cut short by a raw `#` shows it.
//!
//! The token is a secret, so a callback is kept without it and the URL with it exists only
//! while subscribing ([`CallbackRequest`], a [`SecretString`]); what is shown or stored is
//! [`Callback::redacted`], and changes are detected by [`Callback::fingerprint`].

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::webhook::PEOPLEVOX_PREFIX;

use super::events::{ENCODING_PARAM, SITE_PARAM};

/// Stands for the token wherever a callback URL is shown or stored.
pub const REDACTED_TOKEN: &str = "<token>";

/// Where Peoplevox calls back for one subscription, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// Public base URL, without a trailing `/`.
    base: String,
    /// Callback path segment, e.g. `availability`.
    event: &'static str,
    /// `site=…` (percent-encoded), or empty.
    fixed: String,
    /// `name={Placeholder}` pairs, `&`-joined.
    placeholders: String,
    /// Peoplevox percent-encodes the values (`encodeParameterData` true).
    encoded: bool,
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

/// `text` with the callback token, as sent or percent-encoded, replaced by
/// [`REDACTED_TOKEN`]: what Peoplevox says about a subscription it refused may quote the URL it
/// was given, and that text goes to the logs and the report.
pub fn redact_token(text: &str, token: &SecretString) -> String {
    let token = token.expose_secret();
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, REDACTED_TOKEN)
        .replace(&static_value(token), REDACTED_TOKEN)
}

/// What a static value of ours leaves unencoded: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a static value of ours (a space as `%20`, never `+`), so that it reads the
/// same whichever way the webhook decodes the callback.
pub fn static_value(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

impl Callback {
    /// The callback of `event` at `site` (a static `site=` parameter) or everywhere, with
    /// `(parameter, placeholder)` pairs; `encoded`: Peoplevox was asked to encode the values.
    pub fn new(
        base: &str,
        event: &'static str,
        site: Option<&str>,
        template: &[(&str, String)],
        encoded: bool,
        post: bool,
    ) -> Self {
        let fixed = site
            .map(|s| format!("{SITE_PARAM}={}", static_value(s)))
            .unwrap_or_default();
        let placeholders = template
            .iter()
            .map(|(name, placeholder)| format!("{name}={placeholder}"))
            .collect::<Vec<_>>()
            .join("&");
        Self {
            base: base.trim_end_matches('/').to_string(),
            event,
            fixed,
            placeholders,
            encoded,
            post,
        }
    }

    /// `GET` or `POST`.
    pub fn method(&self) -> &'static str {
        if self.post { "POST" } else { "GET" }
    }

    /// Whether Peoplevox was asked to encode the values.
    pub fn encoded(&self) -> bool {
        self.encoded
    }

    /// The request to subscribe with, the token in the path.
    pub fn request(&self, token: &SecretString) -> CallbackRequest {
        let url = self.url_with(token.expose_secret());
        CallbackRequest {
            url: SecretString::from(url),
            post_params: self.post.then(|| self.placeholders.clone()),
        }
    }

    /// The URL with the token replaced by [`REDACTED_TOKEN`] (GET: with the placeholders).
    pub fn redacted(&self) -> String {
        self.url_with(REDACTED_TOKEN)
    }

    /// `postParams` of a POST subscription.
    pub fn post_params(&self) -> Option<&str> {
        self.post.then_some(self.placeholders.as_str())
    }

    /// SHA-256 (hex) of everything Peoplevox is given for this subscription, the token
    /// included, so that a new public URL, a rotated token, another operation, filter, method
    /// or encoding all read as a change. The token is at least 32 random characters, so the
    /// hash does not give it away; the prefix keeps these hashes apart from any other use of
    /// SHA-256.
    pub fn fingerprint(
        &self,
        operation: &str,
        event_type: &str,
        filter: &str,
        encode: Option<bool>,
        token: &SecretString,
    ) -> String {
        let request = self.request(token);
        let encode = match encode {
            None => "",
            Some(true) => "true",
            Some(false) => "false",
        };
        let mut hash = Sha256::new();
        for part in [
            "ctpvx-subscription-v2",
            operation,
            event_type,
            filter,
            encode,
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
        let encoding = format!("{ENCODING_PARAM}={}", u8::from(self.encoded));
        let mut query = vec![self.fixed.as_str()];
        if !self.post {
            query.push(self.placeholders.as_str());
        }
        query.push(&encoding);
        let query: Vec<&str> = query.into_iter().filter(|q| !q.is_empty()).collect();
        format!(
            "{}{PEOPLEVOX_PREFIX}{token}/{}?{}",
            self.base,
            self.event,
            query.join("&")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> SecretString {
        SecretString::from(t.to_string())
    }

    fn availability() -> Vec<(&'static str, String)> {
        vec![
            ("item", "{ItemCode}".to_string()),
            ("available", "{Available}".to_string()),
        ]
    }

    #[test]
    fn get_carries_placeholders_in_the_url_and_post_in_the_body() {
        let get = Callback::new(
            "https://h.example/",
            "availability",
            Some("UK DC+1"),
            &availability(),
            true,
            false,
        );
        let request = get.request(&token("tok"));
        assert_eq!(
            request.url.expose_secret(),
            "https://h.example/webhooks/peoplevox/tok/availability?site=UK%20DC%2B1&item={ItemCode}&available={Available}&enc=1"
        );
        assert_eq!(request.post_params, None);
        let post = Callback::new(
            "https://h.example",
            "availability",
            Some("UK-DC"),
            &availability(),
            false,
            true,
        );
        let request = post.request(&token("tok"));
        assert_eq!(
            request.url.expose_secret(),
            "https://h.example/webhooks/peoplevox/tok/availability?site=UK-DC&enc=0"
        );
        assert_eq!(
            request.post_params.as_deref(),
            Some("item={ItemCode}&available={Available}")
        );
        let everywhere = Callback::new("https://h.example", "tracking", None, &[], false, true);
        assert_eq!(
            everywhere.redacted(),
            "https://h.example/webhooks/peoplevox/<token>/tracking?enc=0"
        );
    }

    #[test]
    fn a_token_quoted_back_is_redacted_as_sent_or_encoded() {
        let secret = token("tok en/1");
        assert_eq!(
            redact_token("bad URL https://h/tok en/1/x and tok%20en%2F1", &secret),
            "bad URL https://h/<token>/x and <token>"
        );
        assert_eq!(redact_token("nothing here", &token("")), "nothing here");
    }

    #[test]
    fn fingerprints_change_with_anything_peoplevox_is_given() {
        let c = |base: &str, encoded: bool, post: bool| {
            Callback::new(
                base,
                "availability",
                Some("A"),
                &availability(),
                encoded,
                post,
            )
        };
        let f = |c: &Callback, op: &str, filter: &str, encode: Option<bool>, t: &str| {
            c.fingerprint(op, "AvailabilityChanges", filter, encode, &token(t))
        };
        let one = c("https://h.example", true, false);
        let base = f(
            &one,
            "SubscribeEventWithSitesFilters",
            "S",
            Some(true),
            "tok-1",
        );
        assert_eq!(
            base,
            f(
                &one,
                "SubscribeEventWithSitesFilters",
                "S",
                Some(true),
                "tok-1"
            )
        );
        assert_ne!(
            base,
            f(
                &one,
                "SubscribeEventWithSitesFilters",
                "S",
                Some(true),
                "tok-2"
            )
        );
        assert_ne!(
            base,
            f(
                &one,
                "SubscribeEventWithSitesFilters",
                "",
                Some(true),
                "tok-1"
            )
        );
        assert_ne!(base, f(&one, "SubscribeEvent", "S", Some(true), "tok-1"));
        assert_ne!(
            base,
            f(&one, "SubscribeEventWithSitesFilters", "S", None, "tok-1")
        );
        let moved = c("https://other.example", true, false);
        assert_ne!(
            base,
            f(
                &moved,
                "SubscribeEventWithSitesFilters",
                "S",
                Some(true),
                "tok-1"
            )
        );
        let raw = c("https://h.example", false, false);
        assert_ne!(
            base,
            f(
                &raw,
                "SubscribeEventWithSitesFilters",
                "S",
                Some(true),
                "tok-1"
            )
        );
        let post = c("https://h.example", true, true);
        assert_ne!(
            base,
            f(
                &post,
                "SubscribeEventWithSitesFilters",
                "S",
                Some(true),
                "tok-1"
            )
        );
        assert!(!base.contains("tok-1") && base.len() == 64);
    }
}
