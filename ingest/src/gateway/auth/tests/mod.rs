//! Tests of gateway authentication: helpers shared by the submodules, and the
//! bearer-token / API-key / gRPC / rotation behaviour.

mod attacks;
mod config;
mod token;

use super::*;
use crate::config::Secret;
use crate::gateway::config::SigningKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(super) const NOW: u64 = 1_700_000_000;
pub(super) const K1: &str = "k-2024-01";
pub(super) const K2: &str = "k-2024-02";
pub(super) const SECRET1: &str = "first-signing-secret-at-least-32-bytes-long";
pub(super) const SECRET2: &str = "second-signing-secret-at-least-32-bytes-long";
pub(super) const OTHER_SECRET: &str = "an-attackers-secret-that-is-also-32-bytes-long";
pub(super) const ISS: &str = "gameday-gateway";
pub(super) const AUD: &str = "telemetry-ingest";
pub(super) const KEY_A: &str = "api-key-of-studio-a";
pub(super) const KEY_B: &str = "api-key-of-studio-b";
pub(super) const CLIENT_SECRET_A: &str = "client-secret-of-studio-a";

pub(super) fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(super) fn tenant(id: &str, client: Option<(&str, &str)>, api_keys: &[&str]) -> TenantConfig {
    let mut t: TenantConfig = toml::from_str(&format!("id = {id:?}")).unwrap();
    if let Some((cid, secret)) = client {
        t.client_id = Some(cid.into());
        t.client_secret_sha256 = Some(sha_hex(secret));
    }
    t.api_key_sha256 = api_keys.iter().map(|k| sha_hex(k)).collect();
    t
}

pub(super) fn tenants() -> Vec<TenantConfig> {
    vec![
        tenant("studio-a", Some(("client-a", CLIENT_SECRET_A)), &[KEY_A]),
        tenant(
            "studio-b",
            Some(("client-b", "client-secret-of-studio-b")),
            &[KEY_B],
        ),
    ]
}

pub(super) fn auth_config(keys: &[(&str, &str)]) -> AuthConfig {
    AuthConfig {
        keys: keys
            .iter()
            .map(|(kid, secret)| SigningKey {
                kid: (*kid).into(),
                secret: Secret::new(*secret),
            })
            .collect(),
        ..AuthConfig::default()
    }
}

pub(super) fn authenticator(keys: &[(&str, &str)]) -> Authenticator {
    Authenticator::new(&auth_config(keys), &tenants()).unwrap()
}

/// The usual gateway: current key K1 only.
pub(super) fn gateway() -> Authenticator {
    authenticator(&[(K1, SECRET1)])
}

pub(super) fn issue_for(auth: &Authenticator, client: &str, secret: &str, now: u64) -> String {
    let form = TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(client.into()),
        client_secret: Some(secret.into()),
        audience: Some(AUD.into()),
    };
    auth.issue(&form, now).unwrap().access_token
}

pub(super) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    h
}

pub(super) fn bearer(token: &str) -> HeaderMap {
    headers(&[("authorization", &format!("Bearer {token}"))])
}

pub(super) fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// A hand-built token: any header, any claims, signed with `secret` under `alg` (an
/// HMAC computed by jsonwebtoken), or with an empty signature.
pub(super) fn hand_token(header: Value, claims: Value, sig: Option<(&str, Algorithm)>) -> String {
    let message = format!("{}.{}", b64(&header), b64(&claims));
    let signature = match sig {
        Some((secret, alg)) => jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(secret.as_bytes()),
            alg,
        )
        .unwrap(),
        None => String::new(),
    };
    format!("{message}.{signature}")
}

pub(super) fn good_header() -> Value {
    json!({"alg": "HS256", "typ": "JWT", "kid": K1})
}

pub(super) fn good_claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "studio-a", "iat": NOW, "nbf": NOW, "exp": NOW + 1200})
}

/// A correctly signed token with `claims` patched by `f`.
pub(super) fn signed_with(f: impl FnOnce(&mut Value)) -> String {
    let mut c = good_claims();
    f(&mut c);
    hand_token(good_header(), c, Some((SECRET1, Algorithm::HS256)))
}

#[test]
fn an_issued_token_authenticates_as_its_tenant() {
    let auth = gateway();
    let form = TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some("client-a".into()),
        client_secret: Some(CLIENT_SECRET_A.into()),
        audience: Some(AUD.into()),
    };
    let resp = auth.issue(&form, NOW).unwrap();
    assert_eq!(resp.token_type, "Bearer");
    assert_eq!(resp.expires_in, 1200);

    let tenant = auth.authenticate(&bearer(&resp.access_token), NOW).unwrap();
    assert_eq!(&*tenant, "studio-a");
    // Still valid just before expiry, also from a client whose clock is 5 s behind.
    assert!(
        auth.authenticate(&bearer(&resp.access_token), NOW + 1204)
            .is_ok()
    );
    assert!(
        auth.authenticate(&bearer(&resp.access_token), NOW - 5)
            .is_ok()
    );

    let other = issue_for(&auth, "client-b", "client-secret-of-studio-b", NOW);
    assert_eq!(
        &*auth.authenticate(&bearer(&other), NOW).unwrap(),
        "studio-b"
    );
}

#[test]
fn issued_token_carries_kid_and_the_claims_the_brief_lists() {
    let auth = authenticator(&[(K2, SECRET2), (K1, SECRET1)]);
    let token = issue_for(&auth, "client-a", CLIENT_SECRET_A, NOW);
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["kid"], K2, "signed with the current (first) key");
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["aud"], AUD);
    assert_eq!(claims["sub"], "studio-a");
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["nbf"], NOW);
    assert_eq!(claims["exp"], NOW + 1200);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32);
    let again = issue_for(&auth, "client-a", CLIENT_SECRET_A, NOW);
    assert_ne!(token, again, "jti differs between tokens");
}

#[test]
fn api_keys_resolve_to_their_tenant_in_both_spellings() {
    let auth = gateway();
    let h = headers(&[("x-api-key", KEY_A)]);
    assert_eq!(&*auth.authenticate(&h, NOW).unwrap(), "studio-a");
    let h = headers(&[("authorization", &format!("ApiKey {KEY_B}"))]);
    assert_eq!(&*auth.authenticate(&h, NOW).unwrap(), "studio-b");
    let h = headers(&[("authorization", &format!("apikey {KEY_B}"))]);
    assert_eq!(&*auth.authenticate(&h, NOW).unwrap(), "studio-b");
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    let auth = gateway();
    let token = issue_for(&auth, "client-a", CLIENT_SECRET_A, NOW);
    let h = headers(&[("authorization", &format!("bearer {token}"))]);
    assert_eq!(&*auth.authenticate(&h, NOW).unwrap(), "studio-a");
}

#[test]
fn rotation_accepts_the_previous_key_and_refuses_a_removed_one() {
    let before = authenticator(&[(K1, SECRET1)]);
    let old_token = issue_for(&before, "client-a", CLIENT_SECRET_A, NOW);

    // Rotated: K2 is current, K1 still accepted.
    let rotated = authenticator(&[(K2, SECRET2), (K1, SECRET1)]);
    assert_eq!(
        &*rotated.authenticate(&bearer(&old_token), NOW).unwrap(),
        "studio-a"
    );
    let new_token = issue_for(&rotated, "client-a", CLIENT_SECRET_A, NOW);
    assert_eq!(
        &*rotated.authenticate(&bearer(&new_token), NOW).unwrap(),
        "studio-a"
    );

    // K1 removed: its tokens are refused, K2's still pass.
    let after = authenticator(&[(K2, SECRET2)]);
    let e = after.authenticate(&bearer(&old_token), NOW).unwrap_err();
    assert_eq!(e.reason(), "unknown_kid");
    assert_eq!(
        &*after.authenticate(&bearer(&new_token), NOW).unwrap(),
        "studio-a"
    );

    // A token claiming the old kid but signed with the new secret is not accepted.
    let mixed = hand_token(
        good_header(),
        good_claims(),
        Some((SECRET2, Algorithm::HS256)),
    );
    let e = rotated.authenticate(&bearer(&mixed), NOW).unwrap_err();
    assert_eq!(e.reason(), "bad_signature");
}

fn metadata(pairs: &[(&'static str, &str)]) -> tonic::metadata::MetadataMap {
    let mut m = tonic::metadata::MetadataMap::new();
    for (k, v) in pairs {
        m.append(*k, v.parse().unwrap());
    }
    m
}

#[test]
fn grpc_metadata_follows_the_same_rules() {
    let auth = gateway();
    let token = issue_for(&auth, "client-a", CLIENT_SECRET_A, NOW);
    let m = metadata(&[("authorization", &format!("Bearer {token}"))]);
    assert_eq!(&*auth.authenticate_grpc(&m, NOW).unwrap(), "studio-a");
    let m = metadata(&[("x-api-key", KEY_B)]);
    assert_eq!(&*auth.authenticate_grpc(&m, NOW).unwrap(), "studio-b");

    let cases = [
        (metadata(&[]), "missing"),
        (metadata(&[("x-api-key", "wrong")]), "bad_api_key"),
        (
            metadata(&[("authorization", &format!("Bearer {token}"))]),
            "expired",
        ),
        (
            metadata(&[
                ("authorization", &format!("Bearer {token}")),
                ("x-api-key", KEY_A),
            ]),
            "multiple_credentials",
        ),
    ];
    for (i, (m, reason)) in cases.iter().enumerate() {
        let now = if *reason == "expired" {
            NOW + 3600
        } else {
            NOW
        };
        let e = auth.authenticate_grpc(m, now).unwrap_err();
        assert_eq!(e.reason(), *reason, "case {i}");
        let s = e.status();
        assert_eq!(s.code(), tonic::Code::Unauthenticated);
        assert_eq!(s.message(), "unauthenticated", "no hint in the message");
    }
}
