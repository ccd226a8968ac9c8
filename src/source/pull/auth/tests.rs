use super::*;

const KEY: &str = include_str!("../../../../tests/fixtures/pull/test-only-rsa.pem");
const PUB: &str = include_str!("../../../../tests/fixtures/pull/test-only-rsa.pub.pem");

fn creds() -> Credentials {
    Credentials {
        client_id: "cid".into(),
        client_secret: Secret::new("csecret"),
        service_account: "sa.serviceaccount@example".into(),
        private_key: Secret::new(KEY),
    }
}

#[test]
fn toml_and_json_credentials_parse_with_the_key_inline_or_in_a_file() {
    let (c, k) = parse(
        "client_id = \"cid\"\nclient_secret = \"s\"\nservice_account = \"sa\"\nprivate_key_file = \"key.pem\"\n",
    )
    .unwrap();
    assert_eq!(
        (c.client_id.as_str(), c.service_account.as_str()),
        ("cid", "sa")
    );
    assert_eq!(k, KeyIn::File("key.pem".into()));
    let (c, k) = parse(
        r#"{"client_id": "cid", "client_secret": "s", "service_account": "sa", "private_key": "PEM"}"#,
    )
    .unwrap();
    assert_eq!(c.client_secret.expose(), "s");
    assert_eq!(k, KeyIn::Inline(Secret::new("PEM")));
}

#[test]
fn credentials_mistakes_are_named_without_the_secrets() {
    let base = "client_id = \"cid\"\nclient_secret = \"hunter2\"\nservice_account = \"sa\"\n";
    assert_eq!(parse(base), Err(CredentialsError::NoKey));
    assert_eq!(
        parse(&format!(
            "{base}private_key = \"k\"\nprivate_key_file = \"f\"\n"
        )),
        Err(CredentialsError::BothKeys)
    );
    assert_eq!(
        parse(
            "client_id = \" \"\nclient_secret = \"x\"\nservice_account = \"sa\"\nprivate_key = \"k\"\n"
        ),
        Err(CredentialsError::Empty("client_id"))
    );
    let e = parse("client_id = \"cid\"\nclient_secret = hunter2\n").unwrap_err();
    assert!(
        matches!(e, CredentialsError::Syntax { format: "TOML", .. }),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = parse(r#"{"client_id": "cid", "client_secret": "hunter2" "#).unwrap_err();
    assert!(
        matches!(e, CredentialsError::Syntax { format: "JSON", .. }),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = parse(&format!("{base}private_key = \"k\"\nscope = \"x\"\n")).unwrap_err();
    assert!(e.to_string().contains("scope"), "{e}");
    assert!(matches!(
        check_key("not a key"),
        Err(CredentialsError::BadKey(_))
    ));
    check_key(KEY).unwrap();
    // Debug never shows a secret.
    assert!(!format!("{:?}", creds()).contains("csecret"));
}

#[test]
fn the_assertion_is_an_rs256_jwt_with_the_documented_claims() {
    let jwt = assertion(&creds(), 1_800_000_000).unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUB.as_bytes()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &key, &v).unwrap();
    let c = data.claims;
    assert_eq!(c["iss"], "cid");
    assert_eq!(c["sub"], "sa.serviceaccount@example");
    assert_eq!(c["iat"], 1_800_000_000);
    let exp = c["exp"].as_i64().unwrap();
    assert!(exp > 1_800_000_000 && exp <= 1_800_000_000 + 3600, "{exp}");
}

#[test]
fn token_replies_give_expires_in_as_a_string_or_a_number() {
    let now = Instant::now();
    let t = read_reply(
        r#"{"access_token":"a","expires_in":"86400","token_type":"Bearer"}"#,
        now,
    )
    .unwrap();
    assert_eq!(t.token.expose(), "a");
    assert_eq!(t.renew_at, now + Duration::from_secs(86400) - RENEW_BEFORE);
    let t = read_reply(r#"{"access_token":"a","expires_in":600}"#, now).unwrap();
    assert_eq!(t.renew_at, now + Duration::from_secs(300));
    assert!(read_reply(r#"{"error":"invalid_grant"}"#, now).is_err());
}
