//! Every attack is refused with the right internal reason AND the identical external
//! 401 (status, headers, body).

use super::*;
use axum::response::Response;
use proptest::prelude::*;

struct Seen {
    status: http::StatusCode,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

async fn seen(resp: Response) -> Seen {
    let status = resp.status();
    let mut headers: Vec<(String, Vec<u8>)> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    headers.sort();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Seen {
        status,
        headers,
        body,
    }
}

fn tampered_sub(token: &str, new_sub: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!(new_sub);
    format!("{}.{}.{}", parts[0], b64(&claims), parts[2])
}

fn attacks() -> Vec<(&'static str, HeaderMap, u64, &'static str)> {
    let auth = gateway();
    let issued = issue_for(&auth, "client-a", CLIENT_SECRET_A, NOW);
    let claims = good_claims();
    let sign = Some((SECRET1, Algorithm::HS256));
    let b = |t: &str| bearer(t);
    vec![
        ("no credentials", HeaderMap::new(), NOW, "missing"),
        (
            "empty Authorization",
            headers(&[("authorization", "")]),
            NOW,
            "malformed",
        ),
        (
            "empty x-api-key",
            headers(&[("x-api-key", "")]),
            NOW,
            "malformed",
        ),
        (
            "Bearer without token",
            headers(&[("authorization", "Bearer")]),
            NOW,
            "malformed",
        ),
        ("garbage token", b("garbage"), NOW, "malformed"),
        ("three garbage segments", b("a.b.c"), NOW, "malformed"),
        ("four segments", b(&format!("{issued}.x")), NOW, "malformed"),
        (
            "non-base64 characters",
            b("ey+J.ey/J.abc="),
            NOW,
            "malformed",
        ),
        (
            "Basic scheme",
            headers(&[("authorization", "Basic Y2xpZW50LWE6eA==")]),
            NOW,
            "unsupported_scheme",
        ),
        (
            "garbage scheme",
            headers(&[("authorization", "xyzzy")]),
            NOW,
            "unsupported_scheme",
        ),
        (
            "wrong signature (other secret)",
            b(&hand_token(
                good_header(),
                claims.clone(),
                Some((OTHER_SECRET, Algorithm::HS256)),
            )),
            NOW,
            "bad_signature",
        ),
        ("expired", b(&issued), NOW + 1200 + LEEWAY_SECS, "expired"),
        ("long expired", b(&issued), NOW + 86_400, "expired"),
        (
            "not yet valid",
            b(&signed_with(|c| c["nbf"] = json!(NOW + 60))),
            NOW,
            "not_yet_valid",
        ),
        (
            "issued in the future",
            b(&signed_with(|c| c["iat"] = json!(NOW + 600))),
            NOW,
            "issued_in_future",
        ),
        (
            "wrong audience",
            b(&signed_with(|c| c["aud"] = json!("other-service"))),
            NOW,
            "wrong_audience",
        ),
        (
            "audience as an array",
            b(&signed_with(|c| c["aud"] = json!([AUD, "other-service"]))),
            NOW,
            "bad_claims",
        ),
        (
            "wrong issuer",
            b(&signed_with(|c| c["iss"] = json!("evil-issuer"))),
            NOW,
            "wrong_issuer",
        ),
        (
            "missing exp",
            b(&signed_with(|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
            NOW,
            "missing_claim",
        ),
        (
            "missing nbf",
            b(&signed_with(|c| {
                c.as_object_mut().unwrap().remove("nbf");
            })),
            NOW,
            "missing_claim",
        ),
        (
            "exp as a string",
            b(&signed_with(|c| c["exp"] = json!("never"))),
            NOW,
            "bad_claims",
        ),
        (
            "unknown tenant",
            b(&signed_with(|c| c["sub"] = json!("studio-z"))),
            NOW,
            "unknown_tenant",
        ),
        (
            "alg none, no signature",
            b(&hand_token(
                json!({"alg": "none", "typ": "JWT", "kid": K1}),
                claims.clone(),
                None,
            )),
            NOW,
            "bad_alg",
        ),
        (
            "alg None spelled differently",
            b(&hand_token(
                json!({"alg": "None", "kid": K1}),
                claims.clone(),
                None,
            )),
            NOW,
            "bad_alg",
        ),
        (
            "no alg at all",
            b(&hand_token(json!({"kid": K1}), claims.clone(), sign)),
            NOW,
            "bad_alg",
        ),
        (
            "alg switched to HS512 (right secret)",
            b(&hand_token(
                json!({"alg": "HS512", "typ": "JWT", "kid": K1}),
                claims.clone(),
                Some((SECRET1, Algorithm::HS512)),
            )),
            NOW,
            "bad_alg",
        ),
        (
            "alg switched to HS384 (right secret)",
            b(&hand_token(
                json!({"alg": "HS384", "kid": K1}),
                claims.clone(),
                Some((SECRET1, Algorithm::HS384)),
            )),
            NOW,
            "bad_alg",
        ),
        (
            "alg switched to RS256, HMAC secret as public key",
            b(&hand_token(
                json!({"alg": "RS256", "typ": "JWT", "kid": K1}),
                claims.clone(),
                sign,
            )),
            NOW,
            "bad_alg",
        ),
        (
            "HS256 header with the signature stripped",
            b(&hand_token(good_header(), claims.clone(), None)),
            NOW,
            "bad_signature",
        ),
        (
            "unknown kid",
            b(&hand_token(
                json!({"alg": "HS256", "kid": "k-forged"}),
                claims.clone(),
                sign,
            )),
            NOW,
            "unknown_kid",
        ),
        (
            "missing kid",
            b(&hand_token(
                json!({"alg": "HS256", "typ": "JWT"}),
                claims.clone(),
                sign,
            )),
            NOW,
            "missing_kid",
        ),
        (
            "crit header",
            b(&hand_token(
                json!({"alg": "HS256", "kid": K1, "crit": ["exp"]}),
                claims.clone(),
                sign,
            )),
            NOW,
            "unsupported_header",
        ),
        (
            "tampered payload (sub → other tenant, signature kept)",
            b(&tampered_sub(&issued, "studio-b")),
            NOW,
            "bad_signature",
        ),
        (
            "wrong API key",
            headers(&[("x-api-key", "not-a-key")]),
            NOW,
            "bad_api_key",
        ),
        (
            "wrong API key via Authorization",
            headers(&[("authorization", "ApiKey not-a-key")]),
            NOW,
            "bad_api_key",
        ),
        (
            "API key of a tenant with a suffix",
            headers(&[("x-api-key", &format!("{KEY_A}x"))]),
            NOW,
            "bad_api_key",
        ),
        (
            "token and API key together",
            headers(&[
                ("authorization", &format!("Bearer {issued}")),
                ("x-api-key", KEY_A),
            ]),
            NOW,
            "multiple_credentials",
        ),
        (
            "two API keys",
            headers(&[("x-api-key", KEY_A), ("x-api-key", KEY_B)]),
            NOW,
            "multiple_credentials",
        ),
    ]
}

#[tokio::test]
async fn every_attack_is_refused_with_its_reason_and_the_same_401() {
    let auth = gateway();
    let reference = seen(Unauthorized::Missing.response()).await;
    assert_eq!(reference.status, http::StatusCode::UNAUTHORIZED);
    assert!(reference.body.is_empty());
    assert!(
        reference
            .headers
            .contains(&("www-authenticate".into(), b"Bearer".to_vec()))
    );

    for (name, h, now, reason) in attacks() {
        let err = match auth.authenticate(&h, now) {
            Ok(tenant) => panic!("{name}: accepted as {tenant}"),
            Err(e) => e,
        };
        assert_eq!(err.reason(), reason, "{name}");
        let got = seen(err.response()).await;
        assert_eq!(got.status, reference.status, "{name}");
        assert_eq!(got.headers, reference.headers, "{name}");
        assert_eq!(got.body, reference.body, "{name}");
        let status = err.status();
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{name}");
        assert_eq!(status.message(), "unauthenticated", "{name}");
    }
}

#[test]
fn the_sane_token_behind_each_attack_is_accepted() {
    // Guards the attack table: the untouched hand-built token passes, so each refusal
    // above is due to the one thing changed.
    let auth = gateway();
    let t = signed_with(|_| {});
    assert_eq!(&*auth.authenticate(&bearer(&t), NOW).unwrap(), "studio-a");
    let without_iat = signed_with(|c| {
        c.as_object_mut().unwrap().remove("iat");
    });
    assert_eq!(
        &*auth.authenticate(&bearer(&without_iat), NOW).unwrap(),
        "studio-a"
    );
}

#[test]
fn leeway_is_five_seconds_at_most() {
    let auth = gateway();
    let t = issue_for(&auth, "client-a", CLIENT_SECRET_A, NOW);
    assert!(auth.authenticate(&bearer(&t), NOW + 1200 + 4).is_ok());
    assert_eq!(
        auth.authenticate(&bearer(&t), NOW + 1200 + 5).unwrap_err(),
        Unauthorized::Expired
    );
    let early = signed_with(|c| {
        c["nbf"] = json!(NOW + 5);
        c["iat"] = json!(NOW + 5);
    });
    assert!(auth.authenticate(&bearer(&early), NOW).is_ok());
    let too_early = signed_with(|c| c["nbf"] = json!(NOW + 6));
    assert_eq!(
        auth.authenticate(&bearer(&too_early), NOW).unwrap_err(),
        Unauthorized::NotYetValid
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_header_values_are_refused_never_accepted(
        scheme in prop::sample::select(vec!["Bearer ", "ApiKey ", "bearer ", "", "Basic "]),
        value in "[ -~]{0,300}",
        as_api_key in any::<bool>(),
    ) {
        let auth = gateway();
        let text = format!("{scheme}{value}");
        let Ok(v) = HeaderValue::from_str(&text) else { return Ok(()); };
        let mut h = HeaderMap::new();
        h.insert(if as_api_key { "x-api-key" } else { "authorization" }, v);
        let r = auth.authenticate(&h, NOW);
        prop_assert!(r.is_err(), "accepted {text:?}");
    }
}

#[test]
fn the_library_validation_alone_also_pins_hs256() {
    // Second pin, independent of our own header check: jsonwebtoken with our
    // `Validation` refuses HS384/HS512/RS256 headers even when the HMAC is right.
    let validation = crate::gateway::auth::jwt::validation(ISS, AUD);
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET1.as_bytes());
    for (alg, sign_alg) in [
        ("HS512", Algorithm::HS512),
        ("HS384", Algorithm::HS384),
        ("RS256", Algorithm::HS256),
        ("PS256", Algorithm::HS256),
    ] {
        let t = hand_token(
            json!({"alg": alg, "kid": K1}),
            good_claims(),
            Some((SECRET1, sign_alg)),
        );
        let e = jsonwebtoken::decode::<Value>(&t, &key, &validation).unwrap_err();
        assert_eq!(
            e.kind(),
            &jsonwebtoken::errors::ErrorKind::InvalidAlgorithm,
            "{alg}"
        );
    }
    let ok = signed_with(|_| {});
    assert!(jsonwebtoken::decode::<Value>(&ok, &key, &validation).is_ok());
}
