//! OpenID Connect RP-Initiated Logout 1.0: what a logout request asks for, whether to ask the
//! user first, and ending the session. No HTTP here; the `/logout` page handler shows the
//! answers.

use crate::oauth::Protocol;
use crate::oauth::authorize::decision::SignedIn;
use crate::oauth::params::Params;
use crate::oidc::id_token::IdTokenHint;
use crate::store::{StoreError, refresh_tokens};

/// A valid logout request.
pub struct LogoutRequest {
    hint: Option<IdTokenHint>,
    /// The client named by `client_id` or by the hint's audience.
    pub client_id: Option<String>,
    pub destination: Option<Destination>,
}

/// Where the browser goes afterwards, registered for the client (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub uri: String,
    pub state: Option<String>,
}

/// Why a logout request is refused: shown to the user, never redirected (§3: an unverified
/// post_logout_redirect_uri must not be used).
#[derive(Debug)]
pub enum LogoutError {
    Invalid(&'static str),
    Internal(String),
}

impl From<StoreError> for LogoutError {
    fn from(e: StoreError) -> Self {
        LogoutError::Internal(e.to_string())
    }
}

/// What to do with a valid request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Ask the user first (on a CSRF-protected page).
    Confirm,
    SignOut,
}

/// RP-Initiated Logout §2: the request's parameters, each checked by its own rule.
pub async fn validate(ctx: &Protocol, params: &Params) -> Result<LogoutRequest, LogoutError> {
    let hint = id_token_hint(ctx, params)?;
    let client_id = client_id(params, hint.as_ref())?;
    let destination = destination(ctx, params, client_id.as_deref()).await?;
    Ok(LogoutRequest {
        hint,
        client_id,
        destination,
    })
}

/// §2 id_token_hint: an ID token we issued (our signature and issuer); the OP need not
/// reject an expired one, which still names the user.
fn id_token_hint(ctx: &Protocol, params: &Params) -> Result<Option<IdTokenHint>, LogoutError> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(None);
    };
    IdTokenHint::verify(ctx, hint)
        .map(Some)
        .ok_or(LogoutError::Invalid(
            "The id_token_hint is not a valid ID token of this server.",
        ))
}

/// §2 client_id: when sent with an id_token_hint, it must be the token's audience.
fn client_id(params: &Params, hint: Option<&IdTokenHint>) -> Result<Option<String>, LogoutError> {
    match (params.get("client_id"), hint) {
        (Some(c), Some(h)) if c != h.aud => Err(LogoutError::Invalid(
            "client_id does not match the id_token_hint.",
        )),
        (Some(c), _) => Ok(Some(c.to_owned())),
        (None, Some(h)) => Ok(Some(h.aud.clone())),
        (None, None) => Ok(None),
    }
}

/// §2 post_logout_redirect_uri and §3: it must exactly match one registered for the client
/// (which must therefore be known); `state` is only meaningful with it.
async fn destination(
    ctx: &Protocol,
    params: &Params,
    client_id: Option<&str>,
) -> Result<Option<Destination>, LogoutError> {
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    let client = match client_id {
        Some(id) => ctx.cached_client(id).await?,
        None => None,
    };
    if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)) {
        return Err(LogoutError::Invalid(
            "The post_logout_redirect_uri is not registered for this application.",
        ));
    }
    Ok(Some(Destination {
        uri: uri.to_owned(),
        state: params.get("state").map(str::to_owned),
    }))
}

impl LogoutRequest {
    /// §2: the OP should confirm with the user unless the hint proves the request is about
    /// the signed-in user (or nobody is signed in); a hint about someone else proves nothing.
    /// `confirmed` is the user's answer on the confirmation page.
    pub fn decide(&self, signed_in: Option<&SignedIn>, confirmed: bool) -> Decision {
        let hint_matches = match (&self.hint, signed_in) {
            (Some(h), Some(s)) => h.sub == s.sub,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if hint_matches || confirmed {
            Decision::SignOut
        } else {
            Decision::Confirm
        }
    }
}

impl Destination {
    /// §3: the registered URI with `state` added to its query, as sent.
    pub fn url(&self) -> String {
        let Some(state) = &self.state else {
            return self.uri.clone();
        };
        let sep = if self.uri.contains('?') { '&' } else { '?' };
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", state)
            .finish();
        format!("{}{sep}{query}", self.uri)
    }
}

/// Ends the signed-in session's grants: the refresh tokens bound to it (not offline ones) stop
/// working. The caller forgets the browser session itself.
pub async fn end_session(ctx: &Protocol, signed_in: &SignedIn) -> Result<(), StoreError> {
    refresh_tokens::revoke_session(&ctx.db, &signed_in.sid, ctx.now()).await?;
    tracing::info!("signed out");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(hint_sub: Option<&str>) -> LogoutRequest {
        LogoutRequest {
            hint: hint_sub.map(|sub| IdTokenHint {
                sub: sub.to_owned(),
                aud: "c_1".to_owned(),
            }),
            client_id: None,
            destination: None,
        }
    }

    fn user(sub: &str) -> SignedIn {
        SignedIn {
            sub: sub.to_owned(),
            auth_time: 0,
            sid: "s".to_owned(),
        }
    }

    #[test]
    fn only_a_hint_about_the_signed_in_user_skips_the_question() {
        let alice = user("alice");
        assert_eq!(
            request(Some("alice")).decide(Some(&alice), false),
            Decision::SignOut
        );
        assert_eq!(
            request(Some("alice")).decide(None, false),
            Decision::SignOut
        );
        assert_eq!(
            request(Some("bob")).decide(Some(&alice), false),
            Decision::Confirm
        );
        assert_eq!(request(None).decide(Some(&alice), false), Decision::Confirm);
        assert_eq!(request(None).decide(Some(&alice), true), Decision::SignOut);
    }

    #[test]
    fn state_is_added_to_the_registered_uri() {
        let d = |uri: &str, state: Option<&str>| Destination {
            uri: uri.to_owned(),
            state: state.map(str::to_owned),
        };
        assert_eq!(
            d("https://a.example/out", None).url(),
            "https://a.example/out"
        );
        assert_eq!(
            d("https://a.example/out", Some("x y")).url(),
            "https://a.example/out?state=x+y"
        );
        assert_eq!(
            d("https://a.example/out?k=1", Some("s")).url(),
            "https://a.example/out?k=1&state=s"
        );
    }
}
