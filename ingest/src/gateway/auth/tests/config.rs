//! Configurations the authenticator refuses, and secrets kept out of Debug output.

use super::*;

fn refused(auth: &AuthConfig, tenants: &[TenantConfig]) -> String {
    match Authenticator::new(auth, tenants) {
        Ok(_) => panic!("config accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unsafe_or_ambiguous_configs_are_refused() {
    let good = auth_config(&[(K1, SECRET1)]);
    assert!(Authenticator::new(&good, &tenants()).is_ok());

    let e = refused(&auth_config(&[]), &tenants());
    assert!(e.contains("no signing keys"), "{e}");
    let e = refused(&auth_config(&[(K1, SECRET1), (K1, SECRET2)]), &tenants());
    assert!(e.contains("duplicate signing key id"), "{e}");
    let e = refused(&auth_config(&[(K1, "")]), &tenants());
    assert!(e.contains("empty secret"), "{e}");
    let e = refused(&auth_config(&[(K1, "short")]), &tenants());
    assert!(e.contains("shorter than 32 bytes"), "{e}");
    let e = refused(&auth_config(&[("", SECRET1)]), &tenants());
    assert!(e.contains("empty kid"), "{e}");
    let e = refused(
        &AuthConfig {
            token_ttl_secs: 0,
            ..good.clone()
        },
        &tenants(),
    );
    assert!(e.contains("token_ttl_secs"), "{e}");

    let mut dup_client = tenants();
    dup_client[1].client_id = Some("client-a".into());
    let e = refused(&good, &dup_client);
    assert!(e.contains("duplicate client_id"), "{e}");

    let mut dup_tenant = tenants();
    dup_tenant[1].id = "studio-a".into();
    let e = refused(&good, &dup_tenant);
    assert!(e.contains("duplicate tenant id"), "{e}");

    for bad in ["00", "zz".repeat(32).as_str(), &"a".repeat(65)] {
        let mut t = tenants();
        t[0].api_key_sha256 = vec![bad.to_string()];
        let e = refused(&good, &t);
        assert!(e.contains("api_key_sha256[0]"), "{e}");
        let mut t = tenants();
        t[0].client_secret_sha256 = Some(bad.to_string());
        let e = refused(&good, &t);
        assert!(e.contains("client_secret_sha256"), "{e}");
    }

    let mut shared = tenants();
    shared[1].api_key_sha256.push(sha_hex(KEY_A));
    let e = refused(&good, &shared);
    assert!(e.contains("shared by tenants"), "{e}");

    let mut half = tenants();
    half[0].client_secret_sha256 = None;
    let e = refused(&good, &half);
    assert!(e.contains("go together"), "{e}");
}

#[test]
fn uppercase_hex_digests_are_accepted() {
    let mut t = tenants();
    t[0].api_key_sha256 = vec![sha_hex(KEY_A).to_uppercase()];
    let auth = Authenticator::new(&auth_config(&[(K1, SECRET1)]), &t).unwrap();
    let h = headers(&[("x-api-key", KEY_A)]);
    assert_eq!(&*auth.authenticate(&h, NOW).unwrap(), "studio-a");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let auth = authenticator(&[(K2, SECRET2), (K1, SECRET1)]);
    let form = TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some("client-a".into()),
        client_secret: Some(CLIENT_SECRET_A.into()),
        audience: Some(AUD.into()),
    };
    let resp = auth.issue(&form, NOW).unwrap();
    let printed = format!(
        "{auth:?} {form:?} {resp:?} {:?}",
        auth_config(&[(K1, SECRET1)])
    );
    for secret in [
        SECRET1,
        SECRET2,
        CLIENT_SECRET_A,
        resp.access_token.as_str(),
    ] {
        assert!(!printed.contains(secret), "leaked in {printed}");
    }
    assert!(printed.contains(K1) && printed.contains("client-a"));

    let e = refused(&auth_config(&[(K1, "too-short-secret")]), &tenants());
    assert!(!e.contains("too-short-secret"), "{e}");
}
