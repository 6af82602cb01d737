//! Auth through HTTPS and gRPC: a token from `/token` and an API key both work; every
//! attack gets the same bare 401 (HTTP) or UNAUTHENTICATED (gRPC).

use crate::gateway::common::{
    AUDIENCE, CLIENT_A, CLIENT_A_SECRET, ISSUER, KEY_A, KID, SECRET, Stack, now_ms,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

fn now_secs() -> u64 {
    (now_ms() / 1000) as u64
}

fn claims(exp: u64, nbf: u64, aud: &str) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER, "aud": aud, "sub": "studio-a",
        "iat": now_secs() - 10, "nbf": nbf, "exp": exp,
    })
}

fn sign(alg: Algorithm, kid: &str, secret: &str, c: &serde_json::Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, c, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

fn good_claims() -> serde_json::Value {
    let n = now_secs();
    claims(n + 600, n - 10, AUDIENCE)
}

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"))
}

/// (name, Authorization header value or None for an API key / nothing).
fn attacks() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let n = now_secs();
    let bearer = |t: String| vec![("authorization", format!("Bearer {t}"))];
    let good = sign(Algorithm::HS256, KID, SECRET, &good_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut evil = good_claims();
    evil["sub"] = "studio-b".into();
    let tampered = format!("{}.{}.{}", parts[0], b64(&evil), parts[2]);
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": KID})),
        b64(&good_claims())
    );
    let rs256 = format!(
        "{}.{}.{}",
        b64(&serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": KID})),
        b64(&good_claims()),
        URL_SAFE_NO_PAD.encode([1u8; 256])
    );
    vec![
        (
            "wrong signature",
            bearer(sign(
                Algorithm::HS256,
                KID,
                "another-secret-that-is-long-enough-32b",
                &good_claims(),
            )),
        ),
        (
            "expired",
            bearer(sign(
                Algorithm::HS256,
                KID,
                SECRET,
                &claims(n - 60, n - 600, AUDIENCE),
            )),
        ),
        (
            "not yet valid",
            bearer(sign(
                Algorithm::HS256,
                KID,
                SECRET,
                &claims(n + 1200, n + 600, AUDIENCE),
            )),
        ),
        (
            "wrong audience",
            bearer(sign(
                Algorithm::HS256,
                KID,
                SECRET,
                &claims(n + 600, n - 10, "someone-else"),
            )),
        ),
        ("alg none", bearer(none)),
        (
            "HS512",
            bearer(sign(Algorithm::HS512, KID, SECRET, &good_claims())),
        ),
        ("RS256 header", bearer(rs256)),
        (
            "unknown kid",
            bearer(sign(Algorithm::HS256, "k9", SECRET, &good_claims())),
        ),
        ("tampered payload", bearer(tampered)),
        (
            "wrong API key",
            vec![("x-api-key", "key-z-0123456789abcdef0123456789".into())],
        ),
        ("no credential", vec![]),
    ]
}

/// A 401 as the client sees it: headers (without `date`) and body.
type Answer = (Vec<(String, String)>, Vec<u8>);

pub async fn token(stack: &Stack) -> String {
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_A),
        ("client_secret", CLIENT_A_SECRET),
        ("audience", AUDIENCE),
    ])
    .expect("form");
    let resp = stack
        .http
        .post(stack.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("/token");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        v["token_type"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );
    assert_eq!(v["expires_in"], 1200);
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_token_and_api_key_work_every_attack_is_the_same_401() {
    let stack = Stack::start().await;
    let body = || crate::gateway::rw::gauge_body("auth_probe", now_ms(), 1);

    let tok = token(&stack).await;
    let resp = stack
        .http
        .post(stack.url("/api/v1/write"))
        .bearer_auth(&tok)
        .body(body())
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 204);
    let resp = stack.post("/api/v1/write", KEY_A, body()).await;
    assert_eq!(resp.status(), 204);

    let mut first: Option<Answer> = None;
    for (name, headers) in attacks() {
        let mut req = stack.http.post(stack.url("/api/v1/write")).body(body());
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.expect("answer");
        assert_eq!(resp.status(), 401, "{name}");
        let mut h: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        h.sort();
        let b = resp.bytes().await.expect("body").to_vec();
        match &first {
            None => first = Some((h, b)),
            Some(f) => assert_eq!(f, &(h, b), "{name}: the 401 must be identical"),
        }
    }
    let (_, b) = first.expect("attacks ran");
    assert!(b.is_empty(), "bare 401");
    // Only the two authenticated requests were stored.
    assert_eq!(stack.samples("studio-a").await.len(), 2);
    assert!(stack.samples("studio-b").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_token_works_attacks_are_unauthenticated() {
    let stack = Stack::start().await;
    let tok = token(&stack).await;
    let mut client = stack.grpc().await;
    let mut req = tonic::Request::new(ExportMetricsServiceRequest::default());
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {tok}").parse().expect("ascii"),
    );
    client.export(req).await.expect("a good token is accepted");

    for (name, headers) in attacks() {
        let mut req = tonic::Request::new(ExportMetricsServiceRequest::default());
        for (k, v) in &headers {
            req.metadata_mut()
                .insert(*k, v.parse().expect("ascii metadata"));
        }
        let err = client.export(req).await.expect_err(name);
        assert_eq!(err.code(), tonic::Code::Unauthenticated, "{name}");
        assert_eq!(err.message(), "unauthenticated", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refusals_are_counted_by_reason() {
    let stack = Stack::start().await;
    let form = serde_urlencoded::to_string([
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_A),
        ("client_secret", "not-the-secret"),
        ("audience", AUDIENCE),
    ])
    .expect("form");
    let resp = stack
        .http
        .post(stack.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("/token");
    assert_eq!(resp.status(), 401);
    token(&stack).await;
    let text = stack.metrics_text().await;
    assert!(
        text.contains(
            r#"gateway_rejected_items_total{tenant="-",reason="token_invalid_client"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"endpoint="token",status="200"} 1"#),
        "{text}"
    );
}
