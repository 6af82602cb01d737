//! `POST /token` through the axum handler, as a client sees it.

use super::*;
use axum::extract::State;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

const FORM: &str = "application/x-www-form-urlencoded";

struct Answer {
    status: http::StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn post(auth: &Arc<Authenticator>, extra: &[(&str, &str)], body: &str) -> Answer {
    let mut h = headers(extra);
    if !extra
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        h.insert("content-type", HeaderValue::from_static(FORM));
    }
    let resp = token_handler(State(auth.clone()), h, bytes::Bytes::from(body.to_owned())).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        json: serde_json::from_slice(&body).unwrap(),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25").replace('&', "%26").replace(' ', "+")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn good_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", "client-a"),
        ("client_secret", CLIENT_SECRET_A),
        ("audience", AUD),
    ]
}

fn without(field: &str) -> String {
    form(
        &good_form()
            .into_iter()
            .filter(|(k, _)| *k != field)
            .collect::<Vec<_>>(),
    )
}

fn with(field: &str, value: &'static str) -> String {
    let f: Vec<_> = good_form()
        .into_iter()
        .map(|(k, v)| if k == field { (k, value) } else { (k, v) })
        .collect();
    form(&f)
}

#[tokio::test]
async fn token_endpoint_issues_a_usable_bearer_token() {
    let auth = Arc::new(gateway());
    let a = post(&auth, &[], &format!("{}&scope=ignored", form(&good_form()))).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["token_type"], "Bearer");
    assert_eq!(a.json["expires_in"], 1200);
    assert_eq!(a.headers["cache-control"], "no-store");
    let token = a.json["access_token"].as_str().unwrap();
    // The handler uses the wall clock; authenticate at that same clock.
    let now = crate::gateway::http::now_secs();
    assert_eq!(
        &*auth.authenticate(&bearer(token), now).unwrap(),
        "studio-a"
    );
}

#[tokio::test]
async fn token_endpoint_accepts_http_basic_client_authentication() {
    let auth = Arc::new(gateway());
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("client-b:{}", "client-secret-of-studio-b"))
    );
    let body = form(&[("grant_type", "client_credentials"), ("audience", AUD)]);
    let a = post(&auth, &[("authorization", &basic)], &body).await;
    assert_eq!(a.status, 200, "{}", a.json);
    let token = a.json["access_token"].as_str().unwrap();
    let now = crate::gateway::http::now_secs();
    assert_eq!(
        &*auth.authenticate(&bearer(token), now).unwrap(),
        "studio-b"
    );

    // Basic AND a form secret: two methods at once.
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("audience", AUD),
        ("client_secret", "client-secret-of-studio-b"),
    ]);
    let a = post(&auth, &[("authorization", &basic)], &body).await;
    assert_eq!(
        (a.status.as_u16(), a.json["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Wrong secret through Basic.
    let bad = format!("Basic {}", STANDARD.encode("client-b:nope"));
    let body = form(&[("grant_type", "client_credentials"), ("audience", AUD)]);
    let a = post(&auth, &[("authorization", &bad)], &body).await;
    assert_eq!(
        (a.status.as_u16(), a.json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(a.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn unknown_client_and_bad_secret_get_the_same_answer() {
    let auth = Arc::new(gateway());
    let bad_secret = post(&auth, &[], &with("client_secret", "wrong-secret")).await;
    let unknown = post(&auth, &[], &with("client_id", "client-nobody")).await;
    // Another tenant's secret for this client is just as wrong.
    let crossed = post(
        &auth,
        &[],
        &with("client_secret", "client-secret-of-studio-b"),
    )
    .await;
    for a in [&bad_secret, &unknown, &crossed] {
        assert_eq!(a.status, 401);
        assert_eq!(a.json["error"], "invalid_client");
        assert_eq!(a.json, bad_secret.json);
        assert_eq!(a.headers, bad_secret.headers);
    }
}

#[tokio::test]
async fn token_endpoint_refusals_follow_rfc_6749() {
    let auth = Arc::new(gateway());
    // (name, body, extra headers, status, RFC 6749 error code)
    type Case = (
        &'static str,
        String,
        Vec<(&'static str, &'static str)>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "wrong grant type",
            with("grant_type", "password"),
            vec![],
            400,
            "unsupported_grant_type",
        ),
        (
            "missing grant_type",
            without("grant_type"),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "wrong audience",
            with("audience", "some-other-api"),
            vec![],
            400,
            "invalid_target",
        ),
        (
            "missing audience",
            without("audience"),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "missing client_secret",
            without("client_secret"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            "missing client_id",
            without("client_id"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            "empty client_secret",
            with("client_secret", ""),
            vec![],
            401,
            "invalid_client",
        ),
        (
            "repeated parameter",
            format!("{}&audience=other", form(&good_form())),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "JSON body",
            serde_json::to_string(&json!({"grant_type": "client_credentials"})).unwrap(),
            vec![("content-type", "application/json")],
            400,
            "invalid_request",
        ),
        ("empty body", String::new(), vec![], 400, "invalid_request"),
    ];
    for (name, body, extra, status, error) in cases {
        let a = post(&auth, &extra, &body).await;
        assert_eq!(a.status.as_u16(), status, "{name}: {}", a.json);
        assert_eq!(a.json["error"], error, "{name}");
        assert!(a.json["error_description"].is_string(), "{name}");
        assert_eq!(a.headers["cache-control"], "no-store", "{name}");
        assert!(a.json.get("access_token").is_none(), "{name}");
    }
}

#[test]
fn issue_reports_reason_codes() {
    let auth = gateway();
    let mut f = TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some("client-a".into()),
        client_secret: Some("wrong".into()),
        audience: Some(AUD.into()),
    };
    assert_eq!(
        auth.issue(&f, NOW).unwrap_err().reason(),
        "token_invalid_client"
    );
    f.client_secret = Some(CLIENT_SECRET_A.into());
    f.audience = Some("x".into());
    assert_eq!(
        auth.issue(&f, NOW).unwrap_err().reason(),
        "token_invalid_target"
    );
}
