//! The authorization request's OpenID Connect parameters (OIDC Core §3.1.2.1), checked after
//! the OAuth ones (`oauth::authorize::check_request`) and in the same way: once the client and
//! its redirect URI are trusted, a refusal goes back to the client.

use super::id_token::IdTokenHint;
use crate::model::Client;
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeError, Target};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, Protocol};

/// The whole authorization request: the OAuth checks, then `prompt`, `max_age` and
/// `id_token_hint`; `nonce` and `login_hint` are kept as sent.
pub fn check_request(
    ctx: &Protocol,
    client: &Client,
    redirect_uri: String,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let mut request = authorize::check_request(client, redirect_uri, params)?;
    let prompt = prompt(params, &request.target)?;
    request.prompt_login = prompt.login;
    request.prompt_consent = prompt.consent;
    request.prompt_none = prompt.none;
    request.max_age = max_age(params, &request.target)?;
    request.hint_sub = id_token_hint(ctx, params, &request.target)?;
    request.nonce = params.get("nonce").map(str::to_owned);
    request.login_hint = params.get("login_hint").map(str::to_owned);
    Ok(request)
}

/// The prompt values a request asked for (OIDC Core §3.1.2.1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    /// `login` (and `select_account`, which with one account per browser means the same).
    pub login: bool,
    pub consent: bool,
    pub none: bool,
}

/// OIDC Core §3.1.2.1: prompt is a space-delimited list of `none`, `login`, `consent`,
/// `select_account`; `none` with any other value is an error.
pub fn prompt(params: &Params, target: &Target) -> Result<Prompt, AuthorizeError> {
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(bad) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "login" | "consent" | "select_account"))
    {
        return Err(target.error(
            ErrorCode::InvalidRequest,
            format!("unsupported prompt value {bad}"),
        ));
    }
    let none = prompts.contains(&"none");
    if none && prompts.len() > 1 {
        return Err(target.error(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(Prompt {
        login: prompts.contains(&"login") || prompts.contains(&"select_account"),
        consent: prompts.contains(&"consent"),
        none,
    })
}

/// OIDC Core §3.1.2.1: max_age is a number of seconds, zero or more.
pub fn max_age(params: &Params, target: &Target) -> Result<Option<i64>, AuthorizeError> {
    let Some(v) = params.get("max_age") else {
        return Ok(None);
    };
    v.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(|| {
            target.error(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })
}

/// OIDC Core §3.1.2.1: an id_token_hint must be an ID token this OP issued (its signature and
/// issuer; an expired one still names the user); its subject is the user the client expects.
pub fn id_token_hint(
    ctx: &Protocol,
    params: &Params,
    target: &Target,
) -> Result<Option<String>, AuthorizeError> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(None);
    };
    IdTokenHint::verify(ctx, hint)
        .map(|h| Some(h.sub))
        .ok_or_else(|| {
            target.error(
                ErrorCode::InvalidRequest,
                "id_token_hint is not a valid ID token of this issuer",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::authorize::checks::tests::{code, params, target};

    #[test]
    fn prompt_values() {
        let t = target();
        let p = prompt(&params("prompt=select_account+consent"), &t).expect("prompt");
        assert_eq!(
            p,
            Prompt {
                login: true,
                consent: true,
                none: false
            }
        );
        assert_eq!(
            code(prompt(&params("prompt=none+login"), &t)),
            "invalid_request"
        );
        assert_eq!(
            code(prompt(&params("prompt=create"), &t)),
            "invalid_request"
        );
        assert_eq!(
            prompt(&params(""), &t).expect("none asked"),
            Prompt::default()
        );
    }

    #[test]
    fn max_age_is_a_non_negative_number() {
        let t = target();
        assert_eq!(max_age(&params("max_age=0"), &t).expect("zero"), Some(0));
        assert_eq!(max_age(&params(""), &t).expect("absent"), None);
        for bad in ["max_age=-1", "max_age=soon"] {
            assert_eq!(code(max_age(&params(bad), &t)), "invalid_request", "{bad}");
        }
    }
}
