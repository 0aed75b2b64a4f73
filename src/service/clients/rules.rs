//! The rules a client's settings must meet, one function each, with the RFC or OIDC rule it
//! enforces where there is one. `Core::build_client` applies them in order; the first refusal
//! names its field.

use super::ClientSpec;
use crate::model::{ApplicationType, AuthMethod, ClientGrant, GrantType, Resource, Scope};
use crate::oauth::defaults::ADMIN_SCOPE;
use crate::oauth::defaults::MAX_TOKEN_TTL;
use crate::oauth::defaults::{DEFAULT_REFRESH_ABSOLUTE_TTL, DEFAULT_REFRESH_IDLE_TTL};
use crate::service::{ServiceError, invalid};

/// The longest refresh-token absolute lifetime a client may set: five years.
const MAX_REFRESH_ABSOLUTE_TTL: i64 = 5 * 365 * 86_400;

/// The longest `default_max_age` a client may set: a year.
const MAX_DEFAULT_MAX_AGE: i64 = 365 * 86_400;

/// The name people see on the consent page: 1 to 200 characters, trimmed.
pub fn name(raw: &str) -> Result<String, ServiceError> {
    if raw.trim().is_empty() || raw.len() > 200 {
        return Err(invalid("name", "must be 1 to 200 characters"));
    }
    Ok(raw.trim().to_owned())
}

/// RFC 7591 §2 `token_endpoint_auth_method`: a public client has no secret and uses `none`
/// (RFC 6749 §2.1); a confidential client authenticates with its secret (RFC 6749 §2.3.1).
/// Unset picks `client_secret_basic` or `none`.
pub fn auth_method(public: bool, chosen: Option<AuthMethod>) -> Result<AuthMethod, ServiceError> {
    let method = chosen.unwrap_or(if public {
        AuthMethod::None
    } else {
        AuthMethod::ClientSecretBasic
    });
    match (public, method) {
        (true, AuthMethod::None)
        | (false, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost) => Ok(method),
        (true, _) => Err(invalid(
            "auth_method",
            "a public client has no secret: use none",
        )),
        (false, _) => Err(invalid(
            "auth_method",
            "a confidential client must authenticate",
        )),
    }
}

/// RFC 6749 §4: the grants a client may use; unset picks authorization_code (public) or
/// client_credentials (confidential). The code grant needs a registered redirect URI (RFC 6749
/// §3.1.2.2); the client credentials grant is for confidential clients only (RFC 6749 §4.4).
pub fn grant_types(spec: &ClientSpec) -> Result<Vec<GrantType>, ServiceError> {
    let mut grant_types = spec.grant_types.clone();
    if grant_types.is_empty() {
        grant_types.push(if spec.public {
            GrantType::AuthorizationCode
        } else {
            GrantType::ClientCredentials
        });
    }
    grant_types.dedup();
    if grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return Err(invalid(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if spec.public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(invalid(
            "grant_types",
            "client_credentials needs a confidential client",
        ));
    }
    Ok(grant_types)
}

/// Redirect URIs and post-logout redirect URIs (OIDC RP-Initiated Logout §3) follow the same
/// rules: [`validate_redirect_uri`].
pub fn redirect_uris(spec: &ClientSpec) -> Result<(), ServiceError> {
    spec.redirect_uris
        .iter()
        .chain(&spec.post_logout_redirect_uris)
        .try_for_each(|uri| validate_redirect_uri(uri, spec.application_type))
}

/// RFC 6749 §3.1.2: absolute, no fragment; the scheme per [`scheme_allowed`].
pub fn validate_redirect_uri(uri: &str, app: ApplicationType) -> Result<(), ServiceError> {
    let bad = |why: &str| invalid("redirect_uris", format!("{uri:?} {why}"));
    let url = url::Url::parse(uri).map_err(|_| bad("is not an absolute URI"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    // The URL parser drops tabs and newlines and trims spaces and controls, but the raw string is
    // what is matched and sent in the Location header (RFC 3986 §2: a URI has none of them).
    if !uri.bytes().all(|b| b > b' ' && b != 0x7f) {
        return Err(bad("must not contain spaces or control characters"));
    }
    scheme_allowed(&url, app).map_err(bad)
}

/// Web clients (RFC 9700 §2.6): https, or http on a loopback host for development. Native
/// clients (RFC 8252 §7): http on a loopback IP, a private-use scheme in reverse-domain form,
/// or https.
fn scheme_allowed(url: &url::Url, app: ApplicationType) -> Result<(), &'static str> {
    let loopback_ip = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    let localhost = matches!(url.host(), Some(url::Host::Domain(d)) if d == "localhost");
    match (app, url.scheme()) {
        (_, "https") => Ok(()),
        (ApplicationType::Web, "http") if loopback_ip || localhost => Ok(()),
        (ApplicationType::Web, _) => Err("must use https (http only on a loopback host)"),
        (ApplicationType::Native, "http") if loopback_ip => Ok(()),
        (ApplicationType::Native, "http") => {
            Err("must use a loopback IP literal (127.0.0.1 or [::1]), RFC 8252 §7.3")
        }
        (ApplicationType::Native, scheme) if scheme.contains('.') => Ok(()),
        (ApplicationType::Native, _) => Err(
            "must use a reverse-domain private-use scheme such as com.example.app:/cb (RFC 8252 §7.1)",
        ),
    }
}

/// Explicit CORS origins are serialized origins (RFC 6454 §6.1), exactly as a browser sends
/// them in `Origin`: scheme, host and port, no path.
pub fn allowed_origins(origins: &[String]) -> Result<(), ServiceError> {
    for origin in origins {
        let exact = url::Url::parse(origin)
            .ok()
            .is_some_and(|u| u.origin().ascii_serialization() == *origin);
        if !exact {
            return Err(invalid(
                "allowed_origins",
                format!("{origin:?} is not an origin such as https://app.example.com"),
            ));
        }
    }
    Ok(())
}

/// The admin API is never granted by accident: only to clients an admin marked so, and its
/// scope is never a default (see `service::admin`).
pub fn admin_api_grant(admin_api: bool, resources: &[Resource]) -> Result<(), ServiceError> {
    let grants_admin = resources
        .iter()
        .any(|r| r.scopes.iter().any(|s| s.name == ADMIN_SCOPE));
    if grants_admin && !admin_api {
        return Err(invalid(
            "resources",
            "the admin API can only be granted to a client marked admin_api",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3: a client is granted, on each of its resources, the wanted scopes that
/// resource defines (all of them when `wanted` is unset); a wanted scope that no granted
/// resource defines is refused.
pub fn grants(
    wanted: Option<&Scope>,
    resources: &[Resource],
) -> Result<Vec<ClientGrant>, ServiceError> {
    let grants: Vec<ClientGrant> = resources
        .iter()
        .map(|r| ClientGrant {
            resource: r.identifier.clone(),
            scopes: Scope::from_tokens(
                r.scopes
                    .iter()
                    .filter(|s| wanted.is_none_or(|want| want.contains(&s.name)))
                    .map(|s| s.name.clone())
                    .collect(),
            ),
        })
        .collect();
    if let Some(unknown) = wanted.and_then(|w| {
        w.iter()
            .find(|s| !grants.iter().any(|g| g.scopes.contains(s)))
    }) {
        return Err(invalid(
            "scopes",
            format!("{unknown:?} is not defined by any granted resource"),
        ));
    }
    Ok(grants)
}

/// RFC 8707 §2: the resource a request without `resource` gets. It must be granted; a client
/// with exactly one resource defaults to it.
pub fn default_resource(
    chosen: Option<String>,
    grants: &[ClientGrant],
) -> Result<Option<String>, ServiceError> {
    match chosen {
        Some(d) if grants.iter().any(|g| g.resource == d) => Ok(Some(d)),
        Some(d) => Err(invalid(
            "default_resource",
            format!("{d} is not granted to the client"),
        )),
        None if grants.len() == 1 => Ok(Some(grants[0].resource.clone())),
        None => Ok(None),
    }
}

/// RFC 6749 §3.3: the scope used when a request names none: among the scopes granted on the
/// default resource (all but tessera:admin when unset), and never tessera:admin.
pub fn default_scopes(
    chosen: Option<Scope>,
    default_resource: Option<&str>,
    grants: &[ClientGrant],
) -> Result<Scope, ServiceError> {
    let granted = default_resource
        .and_then(|d| grants.iter().find(|g| g.resource == d))
        .map(|g| g.scopes.clone())
        .unwrap_or_default();
    let scopes = chosen.unwrap_or_else(|| all_but_admin(&granted));
    if scopes.contains(ADMIN_SCOPE) {
        return Err(invalid(
            "default_scopes",
            "tessera:admin is never a default scope: request it explicitly",
        ));
    }
    if !scopes.is_subset_of(&granted) {
        return Err(invalid(
            "default_scopes",
            "must be among the scopes granted on the default resource",
        ));
    }
    Ok(scopes)
}

/// The rules on a client's durations, each its own function below.
pub fn durations(spec: &ClientSpec) -> Result<(), ServiceError> {
    token_lifetimes(spec)?;
    refresh_lifetimes(spec)?;
    default_max_age(spec.default_max_age)
}

fn all_but_admin(granted: &Scope) -> Scope {
    let tokens = granted.iter().filter(|s| *s != ADMIN_SCOPE);
    Scope::from_tokens(tokens.map(str::to_owned).collect())
}

/// Access- and ID-token lifetimes a client overrides are bounded like a resource's.
fn token_lifetimes(spec: &ClientSpec) -> Result<(), ServiceError> {
    let fields = [
        ("access_token_ttl", spec.access_token_ttl),
        ("id_token_ttl", spec.id_token_ttl),
    ];
    for (field, ttl) in fields {
        if ttl.is_some_and(|t| !(1..=MAX_TOKEN_TTL).contains(&t)) {
            return Err(invalid(
                field,
                format!("must be between 1 and {MAX_TOKEN_TTL} seconds"),
            ));
        }
    }
    Ok(())
}

/// RFC 9700 §4.14.2: refresh tokens expire, after an idle and an absolute lifetime; the grace
/// in which a just-rotated token still yields the same successor stays short.
fn refresh_lifetimes(spec: &ClientSpec) -> Result<(), ServiceError> {
    if spec
        .refresh_grace_seconds
        .is_some_and(|s| !(0..=60).contains(&s))
    {
        return Err(invalid(
            "refresh_grace_seconds",
            "must be between 0 (off) and 60 seconds",
        ));
    }
    let idle = spec.refresh_idle_ttl.unwrap_or(DEFAULT_REFRESH_IDLE_TTL);
    let absolute = spec
        .refresh_absolute_ttl
        .unwrap_or(DEFAULT_REFRESH_ABSOLUTE_TTL);
    if idle < 60 || absolute < idle || absolute > MAX_REFRESH_ABSOLUTE_TTL {
        return Err(invalid(
            "refresh_ttl",
            "idle lifetime must be at least 60 s and at most the absolute lifetime (at most 5 years)",
        ));
    }
    Ok(())
}

/// OIDC Registration §2 `default_max_age`: seconds, a non-negative integer like `max_age` (OIDC
/// Core §3.1.2.1); 0 asks for the password at every request. At most a year: a longer one would
/// outlive every session anyway.
fn default_max_age(max_age: Option<i64>) -> Result<(), ServiceError> {
    if max_age.is_some_and(|m| !(0..=MAX_DEFAULT_MAX_AGE).contains(&m)) {
        return Err(invalid(
            "default_max_age",
            format!("must be between 0 and {MAX_DEFAULT_MAX_AGE} seconds"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_method_follows_the_kind_of_client() {
        assert_eq!(auth_method(true, None).ok(), Some(AuthMethod::None));
        assert_eq!(
            auth_method(false, None).ok(),
            Some(AuthMethod::ClientSecretBasic)
        );
        assert!(auth_method(true, Some(AuthMethod::ClientSecretPost)).is_err());
        assert!(auth_method(false, Some(AuthMethod::None)).is_err());
    }

    #[test]
    fn default_max_age_is_a_bounded_number_of_seconds() {
        for ok in [None, Some(0), Some(300), Some(MAX_DEFAULT_MAX_AGE)] {
            assert!(default_max_age(ok).is_ok(), "{ok:?}");
        }
        for bad in [Some(-1), Some(MAX_DEFAULT_MAX_AGE + 1)] {
            let refused = default_max_age(bad).expect_err("refused");
            assert!(matches!(
                refused,
                ServiceError::Invalid {
                    field: "default_max_age",
                    ..
                }
            ));
        }
    }

    #[test]
    fn redirect_uris_follow_the_application_type() {
        let web = ApplicationType::Web;
        let native = ApplicationType::Native;
        assert!(validate_redirect_uri("https://app.example.com/cb", web).is_ok());
        assert!(validate_redirect_uri("http://localhost:8080/cb", web).is_ok());
        assert!(validate_redirect_uri("http://app.example.com/cb", web).is_err());
        assert!(validate_redirect_uri("https://app.example.com/cb#x", web).is_err());
        assert!(validate_redirect_uri("http://127.0.0.1/cb", native).is_ok());
        assert!(validate_redirect_uri("http://localhost/cb", native).is_err());
        assert!(validate_redirect_uri("com.example.app:/cb", native).is_ok());
        assert!(validate_redirect_uri("myapp:/cb", native).is_err());
    }
}
