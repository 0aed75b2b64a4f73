//! The logic of the fuzz targets, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/*.rs`,
//! through `fuzz/src/lib.rs`) and the stable replay of the committed corpus
//! (`tests/fuzz_corpus.rs`). Each function takes one raw input, must not panic on any input, and
//! asserts the parser's invariants beyond "no panic": every assertion failure is a bug.
//!
//! Input shapes (so a corpus file can be written by hand):
//! - `form_body`: a request body (`application/x-www-form-urlencoded`).
//! - `basic_credentials`: an `Authorization` header value, optionally followed by `\n` and a
//!   form body.
//! - `redirect_uri`: lines; the first is the requested `redirect_uri` (used as given and
//!   form-decoded, as it arrives in a query), the others are the registered URIs (none: the
//!   requested one is the only registered one).
//! - `scope`: a `scope` parameter value.
//! - `pkce`: a `code_verifier`, or a form body with `code_challenge`/`code_challenge_method`.
//! - `client_ip`: lines; the first lists the trusted proxies (whitespace-separated, the peer is
//!   the first, or an untrusted address when none parses), each other is a header line
//!   `name: value`.
//! - `jwt`: a compact JWS; or `header-json\npayload-json[\nsignature-bytes]`, which is
//!   base64url-encoded into a token (and also signed with a trusted key).

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tessera::config::ForwardedHeader;
use tessera::crypto::jwt::{Signer, Verifier};
use tessera::crypto::keys::KeyPair;
use tessera::http::client_ip;
use tessera::model::{
    ApplicationType, AuthMethod, Client, ClientId, GrantType, Scope, SigningAlg, is_scope_token,
    validate_resource_identifier,
};
use tessera::oauth::ErrorCode;
use tessera::oauth::authorize::{pkce, redirect_uri};
use tessera::oauth::client_auth::{Presented, presented};
use tessera::oauth::params::{Params, form_decode};
use tessera::service::clients::validate_redirect_uri;

/// The `application/x-www-form-urlencoded` byte serializer a client library uses.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A string a redirect may carry verbatim in a `Location` header and that a browser reads as
/// written: no whitespace, no control characters (RFC 3986 §2 has neither).
fn is_clean_uri(s: &str) -> bool {
    s.bytes().all(|b| b > b' ' && b != 0x7f)
}

// ---------------------------------------------------------------------------------------------
// form bodies

/// `Params::parse` against a model of RFC 6749 §3.1 / Appendix B, plus `form_decode` round trips.
pub fn form_body(data: &[u8]) {
    // The model: `&`-separated pairs, the first `=` splits name from value, `+` then percent
    // decoding, UTF-8 required; empty values are omitted; only `resource` may repeat.
    let mut model: Option<Vec<(String, String)>> = Some(Vec::new());
    let mut names: Vec<String> = Vec::new();
    for part in data.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        let (Some(name), Some(value)) = (form_decode(name), form_decode(value)) else {
            model = None;
            break;
        };
        names.push(name.clone());
        if let Some(pairs) = &mut model
            && !value.is_empty()
        {
            if name != "resource" && pairs.iter().any(|(n, _)| *n == name) {
                model = None;
                break;
            }
            pairs.push((name, value));
        }
    }
    match (Params::parse(data), model) {
        (Ok(params), Some(pairs)) => {
            for name in &names {
                let want: Vec<&str> = pairs
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                let got: Vec<&str> = params.all(name).collect();
                assert_eq!(got, want, "values of {name:?}");
                assert!(got.iter().all(|v| !v.is_empty()), "empty value kept");
                assert!(name == "resource" || got.len() <= 1, "{name:?} repeated");
                assert_eq!(params.get(name), want.first().copied());
            }
        }
        (Err(e), None) => assert_eq!(e.code, ErrorCode::InvalidRequest),
        (Ok(_), None) => panic!("accepted a body the model refuses: {data:?}"),
        (Err(e), Some(_)) => panic!("refused a body the model accepts ({e:?}): {data:?}"),
    }

    // form_decode: without `+` or `%` it is UTF-8 validation; decoding never grows the input.
    let decoded = form_decode(data);
    if !data.contains(&b'+') && !data.contains(&b'%') {
        assert_eq!(decoded.as_deref(), std::str::from_utf8(data).ok());
    }
    if let Some(d) = &decoded {
        assert!(d.len() <= data.len());
    }

    // Round trips: any string survives form encoding (`+` for space) and full percent-encoding,
    // as a value and as a name.
    let text = String::from_utf8_lossy(data);
    assert_eq!(
        form_decode(form_encode(&text).as_bytes()).as_deref(),
        Some(&*text)
    );
    let escaped = percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    assert_eq!(form_decode(escaped.as_bytes()).as_deref(), Some(&*text));
    let body = format!("x={}&{}=v", form_encode(&text), form_encode(&text));
    match Params::parse(body.as_bytes()) {
        Ok(p) => {
            assert!(!text.contains('\0'), "a NUL byte is refused: {text:?}");
            assert_eq!(p.get("x"), (!text.is_empty()).then_some(&*text));
            assert_eq!(p.get(&text), Some("v"));
        }
        // Refused only when `x` itself is a repeated name with two non-empty values, or for a
        // NUL byte (no database stores one in text: issue 13, point 12).
        Err(_) => assert!(text == "x" || text.contains('\0'), "{text:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Basic credentials

fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", form_encode(id), form_encode(secret));
    format!("Basic {}", STANDARD.encode(raw))
}

/// `client_auth::presented` with an `Authorization` header (RFC 6749 §2.3.1) and a form.
pub fn basic_credentials(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (header, body) = text.split_once('\n').unwrap_or((&text, ""));

    if let Ok(params) = Params::parse(body.as_bytes()) {
        let form_id = params.get("client_id");
        let form_secret = params.get("client_secret");
        match presented(Some(header), &params) {
            Ok(Some(p)) => {
                assert_eq!(p.method, AuthMethod::ClientSecretBasic);
                assert!(!p.client_id.is_empty(), "empty client_id accepted");
                assert!(form_secret.is_none(), "two authentication methods accepted");
                assert!(form_id.is_none_or(|f| f == p.client_id));
                let secret = p.secret.as_deref().expect("Basic always carries a secret");
                // Encoding what was read gives the same credentials back.
                let again = presented(Some(&basic(&p.client_id, secret)), &Params::default());
                assert_eq!(again.ok().flatten().as_ref(), Some(&p));
            }
            Ok(None) => panic!("an Authorization header yielded no credentials"),
            Err(e) if e.code == ErrorCode::InvalidRequest => {
                assert!(form_secret.is_some() || form_id.is_some())
            }
            Err(e) => assert_eq!(e.code, ErrorCode::InvalidClient),
        }
        // Without a header the form alone decides, and it never fails.
        let p = presented(None, &params).expect("form credentials never fail to read");
        assert_eq!(p.as_ref().map(|p| p.client_id.as_str()), form_id);
        if let Some(p) = p {
            assert_eq!(p.secret.as_deref(), form_secret);
            let method = if form_secret.is_some() {
                AuthMethod::ClientSecretPost
            } else {
                AuthMethod::None
            };
            assert_eq!(p.method, method);
        }
    }

    // Any id/secret pair survives a client's encoding, whatever the scheme's case and the
    // surrounding whitespace.
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let (id, secret) = text.split_at(mid);
    let want = (!id.is_empty()).then(|| Presented {
        client_id: id.to_owned(),
        secret: Some(secret.to_owned()),
        method: AuthMethod::ClientSecretBasic,
    });
    let encoded = basic(id, secret);
    let variants = [
        encoded.clone(),
        format!("  bAsIc   {} \t", &encoded["Basic ".len()..]),
    ];
    for header in &variants {
        match presented(Some(header), &Params::default()) {
            Ok(got) => assert_eq!(got, want, "{header:?}"),
            Err(e) => {
                assert!(want.is_none(), "{header:?} refused: {e:?}");
                assert_eq!(e.code, ErrorCode::InvalidClient);
            }
        }
    }

    // The raw input as the decoded credentials: `id:secret`, each form-decoded.
    let header = format!("Basic {}", STANDARD.encode(data));
    let want = data.iter().position(|&b| b == b':').and_then(|c| {
        let id = form_decode(&data[..c])?;
        let secret = form_decode(&data[c + 1..])?;
        (!id.is_empty()).then_some(Presented {
            client_id: id,
            secret: Some(secret),
            method: AuthMethod::ClientSecretBasic,
        })
    });
    match presented(Some(&header), &Params::default()) {
        Ok(got) => assert_eq!(got, want),
        Err(e) => {
            assert!(want.is_none(), "refused {data:?}: {e:?}");
            assert_eq!(e.code, ErrorCode::InvalidClient);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// redirect_uri and resource indicators

fn client(app: ApplicationType, redirect_uris: Vec<String>) -> Client {
    let public = app == ApplicationType::Native;
    Client {
        client_id: ClientId("c_fuzz".into()),
        name: "fuzz".into(),
        public,
        application_type: app,
        auth_method: if public {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretBasic
        },
        grant_types: vec![GrantType::AuthorizationCode],
        redirect_uris,
        post_logout_redirect_uris: Vec::new(),
        allowed_origins: Vec::new(),
        grants: Vec::new(),
        default_resource: None,
        default_scopes: Scope::default(),
        access_token_ttl: None,
        resource_server_for: None,
        id_token_alg: SigningAlg::RS256,
        first_party: false,
        pkce_required: true,
        offline_preauthorized: false,
        admin_api: false,
        refresh_idle_ttl: None,
        refresh_absolute_ttl: None,
        id_token_ttl: None,
        refresh_grace_seconds: None,
        default_max_age: None,
        disabled: false,
        created_at: 0,
        updated_at: 0,
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
    }
}

fn is_loopback_ip(url: &url::Url) -> bool {
    matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
}

/// An `http` URI on a loopback IP literal, with its port removed (RFC 8252 §7.3).
fn loopback_without_port(s: &str) -> Option<url::Url> {
    let mut url = url::Url::parse(s).ok()?;
    if url.scheme() != "http" || !is_loopback_ip(&url) {
        return None;
    }
    url.set_port(None).ok()?;
    Some(url)
}

/// The registration rules of `validate_redirect_uri` and `validate_resource_identifier`.
fn check_registration_rules(uri: &str) {
    for app in [ApplicationType::Web, ApplicationType::Native] {
        if validate_redirect_uri(uri, app).is_err() {
            continue;
        }
        let url = url::Url::parse(uri).expect("an accepted redirect URI parses");
        assert!(url.fragment().is_none() && !uri.contains('#'), "{uri:?}");
        assert!(
            is_clean_uri(uri),
            "{app:?} redirect URI {uri:?} accepted with whitespace or control characters"
        );
        match (app, url.scheme()) {
            (_, "https") => {}
            (ApplicationType::Web, "http") => {
                assert!(
                    is_loopback_ip(&url) || url.host_str() == Some("localhost"),
                    "{uri:?}"
                )
            }
            (ApplicationType::Native, "http") => assert!(is_loopback_ip(&url), "{uri:?}"),
            (ApplicationType::Native, scheme) => assert!(scheme.contains('.'), "{uri:?}"),
            (ApplicationType::Web, _) => panic!("web redirect URI {uri:?} accepted"),
        }
    }
    if validate_resource_identifier(uri).is_ok() {
        let url = url::Url::parse(uri).expect("an accepted resource identifier parses");
        assert!(url.fragment().is_none() && !uri.contains('#'), "{uri:?}");
    }
}

/// `validate_redirect_uri`, `validate_resource_identifier` and `redirect_uri::resolve`: only a
/// registered URI is used, or for a native client the same loopback URI on another port.
pub fn redirect_uri(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let mut registered: Vec<String> = lines.map(str::to_owned).collect();
    if registered.is_empty() {
        registered.push(first.to_owned());
    }
    let mut requested = vec![first.to_owned()];
    if let Some(decoded) = form_decode(first.as_bytes())
        && decoded != first
    {
        requested.push(decoded);
    }
    for uri in registered.iter().chain(&requested) {
        check_registration_rules(uri);
    }

    for app in [ApplicationType::Web, ApplicationType::Native] {
        let client = client(app, registered.clone());
        for req in &requested {
            let exact = registered.iter().any(|r| r == req);
            for openid in [false, true] {
                match redirect_uri::resolve(&client, Some(req), openid) {
                    Ok(uri) => {
                        assert_eq!(&uri, req);
                        if !exact {
                            assert_eq!(app, ApplicationType::Native, "{req:?} matched inexactly");
                            assert!(
                                is_clean_uri(req),
                                "{req:?} matched a registered loopback URI although it has \
                                 whitespace or control characters"
                            );
                            let without = loopback_without_port(req).expect("a loopback URI");
                            assert!(
                                registered
                                    .iter()
                                    .any(|r| loopback_without_port(r).as_ref() == Some(&without)),
                                "{req:?} matched no registered loopback URI"
                            );
                        }
                    }
                    Err(_) => assert!(!exact, "registered {req:?} refused"),
                }
            }
        }
        // Without redirect_uri: OpenID requests fail, OAuth ones use the only registered URI.
        assert!(redirect_uri::resolve(&client, None, true).is_err());
        match redirect_uri::resolve(&client, None, false) {
            Ok(uri) => assert_eq!(registered, [uri]),
            Err(_) => assert_ne!(registered.len(), 1),
        }
        // A registered loopback URI matches on any port for a native client only.
        for r in &registered {
            let Some(mut url) = loopback_without_port(r) else {
                continue;
            };
            let port = 1 + (data.len() as u16 % 60_000);
            url.set_port(Some(port)).expect("http URIs take a port");
            let other = url.as_str();
            let got = redirect_uri::resolve(&client, Some(other), false);
            match app {
                ApplicationType::Native => assert_eq!(got.as_deref(), Ok(other), "{r:?}"),
                ApplicationType::Web => {
                    assert_eq!(got.is_ok(), registered.iter().any(|r| r == other))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// scope

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: printable ASCII but `"`, `\`.
fn spec_scope_token(t: &str) -> bool {
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// `Scope::parse` and `is_scope_token`: the RFC grammar, and a canonical form that round-trips.
pub fn scope(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert_eq!(is_scope_token(&text), spec_scope_token(&text), "{text:?}");
    let tokens: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
    for t in &tokens {
        assert_eq!(is_scope_token(t), spec_scope_token(t), "{t:?}");
    }
    let valid = tokens.iter().all(|t| spec_scope_token(t));
    let Some(scope) = Scope::parse(&text) else {
        assert!(!valid, "{text:?} refused");
        return;
    };
    assert!(valid, "{text:?} accepted");
    let printed = scope.to_string();
    assert_eq!(Scope::parse(&printed).as_ref(), Some(&scope), "{printed:?}");
    let listed: Vec<&str> = scope.iter().collect();
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "not sorted: {listed:?}"
    );
    assert!(
        listed
            .iter()
            .all(|t| is_scope_token(t) && tokens.contains(t))
    );
    assert!(tokens.iter().all(|t| scope.contains(t)));
    assert_eq!(scope.is_empty(), tokens.is_empty());
    assert!(scope.is_subset_of(&scope) && Scope::default().is_subset_of(&scope));
    let reversed: Vec<&str> = tokens.iter().rev().copied().collect();
    assert_eq!(Scope::parse(&reversed.join("  ")).as_ref(), Some(&scope));
    let owned = tokens.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(Scope::from_tokens(owned), scope);
}

// ---------------------------------------------------------------------------------------------
// PKCE

/// `pkce::is_valid_verifier`, `pkce::verify` and `pkce::challenge` (RFC 7636 §4.1–§4.6).
pub fn pkce(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let spec_valid = (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    assert_eq!(pkce::is_valid_verifier(&text), spec_valid, "{text:?}");

    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
    assert!(pkce::verify(&text, &challenge));
    let mut wrong = challenge.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).expect("ASCII");
    assert!(!pkce::verify(&text, &wrong));
    assert!(!pkce::verify(&text, &challenge[..42]));
    assert!(!pkce::verify(&text, &format!("{challenge}=")));
    assert!(!pkce::verify(&text, &text) || text == challenge);

    if let Ok(params) = Params::parse(data) {
        for required in [false, true] {
            match pkce::challenge(&params, required) {
                Ok(Some(c)) => {
                    assert_eq!(params.get("code_challenge_method"), Some("S256"));
                    assert_eq!(c.len(), 43);
                    let bytes = URL_SAFE_NO_PAD.decode(&c).expect("base64url");
                    assert_eq!(bytes.len(), 32);
                }
                Ok(None) => {
                    assert!(!required);
                    assert!(params.get("code_challenge").is_none());
                    assert!(params.get("code_challenge_method").is_none());
                }
                Err(_) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JWT

const ISSUER: &str = "https://issuer.example";

/// The part of the callers' claims types (`AccessTokenClaims`, `IdTokenClaims`) that matters.
#[derive(serde::Deserialize)]
struct Issued {
    iss: String,
}
const TYP: &str = "at+jwt";

struct Keys {
    verifier: Verifier,
    /// Trusted keys, one per algorithm, with kids `fuzz-RS256`, `fuzz-ES256`, `fuzz-EdDSA`.
    signers: Vec<Signer>,
    /// Keys the verifier does not know, one per algorithm.
    impostors: Vec<KeyPair>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        tessera::crypto::install_providers();
        let mut verifier = Verifier::default();
        let mut signers = Vec::new();
        let mut impostors = Vec::new();
        for alg in SigningAlg::ALL {
            let (pair, _) = KeyPair::generate(alg).expect("key generation");
            let kid = format!("fuzz-{}", alg.as_str());
            verifier
                .insert(&kid, alg, &pair.public_jwk(&kid, alg))
                .expect("our own JWK");
            signers.push(Signer { kid, alg, pair });
            impostors.push(KeyPair::generate(alg).expect("key generation").0);
        }
        Keys {
            verifier,
            signers,
            impostors,
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature` with `pair` signing the first two segments.
fn sign_segments(pair: &KeyPair, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = pair.sign(input.as_bytes()).expect("signing");
    format!("{input}.{}", b64(&signature))
}

/// `Verifier::verify`: never accepts what a trusted key did not sign, always accepts what one
/// did with the right `typ` and issuer, and refuses any change to a signed token.
pub fn jwt(data: &[u8]) {
    let keys = keys();
    let verify = |token: &str| keys.verifier.verify::<Value>(token, TYP, ISSUER);

    // 1. The input as a token: nothing signs it, so it is refused.
    let text = String::from_utf8_lossy(data);
    assert!(verify(&text).is_err(), "unsigned input accepted: {text:?}");

    let pick = data.first().map_or(0, |&b| usize::from(b));
    let signer = &keys.signers[pick % keys.signers.len()];

    // 2. Lines as the decoded segments, with the given or no signature: refused; signed by a
    // trusted key: accepted only if the header names that key, its algorithm and the typ, and
    // the payload names the issuer.
    let mut lines = data.splitn(3, |&b| b == b'\n');
    if let (Some(header), Some(payload)) = (lines.next(), lines.next()) {
        let signature = lines.next().unwrap_or_default();
        let token = format!("{}.{}.{}", b64(header), b64(payload), b64(signature));
        assert!(
            verify(&token).is_err(),
            "unsigned segments accepted: {token}"
        );
        let token = sign_segments(&signer.pair, header, payload);
        if let Ok(claims) = verify(&token) {
            let header: Value = serde_json::from_slice(header).expect("an accepted header is JSON");
            assert_eq!(header["kid"], json!(signer.kid), "{header}");
            assert_eq!(header["alg"], json!(signer.alg.as_str()), "{header}");
            let typ = header["typ"].as_str().expect("typ").to_ascii_lowercase();
            assert!(
                typ == TYP || typ == format!("application/{TYP}"),
                "{header}"
            );
            // jsonwebtoken takes an `iss` array naming the issuer among others (RFC 7519 §4.1.1
            // has a single string); the claims types of the callers have `iss: String`.
            let named = |v: &Value| *v == json!(ISSUER);
            let iss = &claims["iss"];
            assert!(
                named(iss) || iss.as_array().is_some_and(|a| a.iter().any(named)),
                "{claims}"
            );
            let payload: Value = serde_json::from_slice(payload).expect("accepted JSON");
            assert_eq!(claims, payload);
        }
        if let Ok(typed) = keys.verifier.verify::<Issued>(&token, TYP, ISSUER) {
            assert_eq!(typed.iss, ISSUER);
        }
        let impostor = &keys.impostors[pick % keys.impostors.len()];
        let token = sign_segments(impostor, header, payload);
        assert!(verify(&token).is_err(), "impostor accepted: {token}");
    }

    // 3. A token we sign: accepted with the right typ and issuer only, and any one-character
    // change is refused.
    let claims = json!({ "iss": ISSUER, "sub": text, "n": data.len() });
    let token = signer.sign(TYP, &claims).expect("signing");
    assert_eq!(verify(&token).expect("our own token"), claims);
    assert!(
        keys.verifier
            .verify::<Value>(&token, "JWT", ISSUER)
            .is_err()
    );
    assert!(
        keys.verifier
            .verify::<Value>(&token, TYP, "https://other.example")
            .is_err()
    );
    let at = data.iter().map(|&b| usize::from(b)).sum::<usize>() % token.len();
    let mut tampered = token.into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    assert!(
        verify(&tampered).is_err(),
        "tampered token accepted: {tampered}"
    );
    // A key the verifier does not know, claiming a trusted kid, with that key's algorithm or
    // another one.
    let i = (pick / 3) % keys.impostors.len();
    let header = json!({ "alg": SigningAlg::ALL[i].as_str(), "typ": TYP, "kid": signer.kid });
    let forged = sign_segments(
        &keys.impostors[i],
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    );
    assert!(verify(&forged).is_err(), "forged token accepted: {forged}");
}

// ---------------------------------------------------------------------------------------------
// client IP behind proxies

/// `http::client_ip::resolve` with each header choice: the answer is an address, the peer's own
/// unless the peer is trusted; the header not chosen never changes it; and a trusted proxy
/// appending a line with an untrusted address has the last word.
pub fn client_ip(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let trusted: Vec<std::net::IpAddr> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let peer = trusted
        .first()
        .copied()
        .unwrap_or_else(|| "192.0.2.254".parse().expect("ip"));
    let peer_trusted = trusted.contains(&peer);
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.trim().as_bytes()),
            http::HeaderValue::from_bytes(value.trim().as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    for (source, own, other) in [
        (ForwardedHeader::None, "", ""),
        (
            ForwardedHeader::XForwardedFor,
            "x-forwarded-for",
            "forwarded",
        ),
        (ForwardedHeader::Forwarded, "forwarded", "x-forwarded-for"),
    ] {
        let got = client_ip::resolve(Some(peer), &headers, source, &trusted);
        let ip: std::net::IpAddr = got.parse().expect("an address");
        if !peer_trusted || source == ForwardedHeader::None {
            assert_eq!(ip, peer, "{source:?}: the peer itself");
            continue;
        }
        let mut without_other = headers.clone();
        without_other.remove(other);
        assert_eq!(
            client_ip::resolve(Some(peer), &without_other, source, &trusted),
            got,
            "{source:?}: the other header changed the answer"
        );
        let client: std::net::IpAddr = "203.0.113.77".parse().expect("ip");
        if !trusted.contains(&client) {
            let appended = match source {
                ForwardedHeader::Forwarded => "for=203.0.113.77",
                _ => "203.0.113.77",
            };
            let mut proxied = headers.clone();
            proxied.append(
                http::HeaderName::from_static(own),
                http::HeaderValue::from_static(appended),
            );
            assert_eq!(
                client_ip::resolve(Some(peer), &proxied, source, &trusted),
                "203.0.113.77",
                "{source:?}: the nearest proxy's line decides"
            );
        }
    }
}
