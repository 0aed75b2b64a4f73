//! Console pages for users: list with search, create, edit profile claims and role, set a
//! password, disable, and see and revoke sessions, consents and refresh-token grants.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{
    Admin, Ask, Errors, Fields, ListQuery, PAGE_SIZE, after_confirmation, confirm, next_page,
    see_other,
};
use crate::http::AppState;
use crate::http::ui::{CsrfForm, PageError, render};
use crate::model::{Address, User, UserClaims};
use crate::service::ServiceError;
use crate::service::users::{UserGrants, UserSpec};

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage<'a> {
    admin: &'a User,
    section: &'static str,
    q: &'a str,
    users: &'a [User],
    next: Option<String>,
}

pub async fn list(
    admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (prefix, after) = (q.prefix(), q.after());
    let users = state.user_page(prefix, after, PAGE_SIZE).await?;
    let next = next_page(prefix, &users, |u| (&u.username, &u.sub));
    render(
        StatusCode::OK,
        &ListPage {
            admin: &admin.user,
            section: "users",
            q: prefix.unwrap_or_default(),
            users: &users,
            next,
        },
    )
}

/// The new-user form as typed.
#[derive(Default)]
pub struct NewUserForm {
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub admin: bool,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    form: &'a NewUserForm,
    errors: &'a Errors,
    min_length: u32,
}

fn new_page(
    admin: &Admin,
    state: &AppState,
    form: &NewUserForm,
    errors: &Errors,
) -> Result<Response, PageError> {
    render(
        errors.status(),
        &NewPage {
            admin: &admin.user,
            section: "users",
            csrf: &admin.csrf,
            form,
            errors,
            min_length: state.config.passwords.min_length,
        },
    )
}

pub async fn new(admin: Admin, State(state): State<AppState>) -> Result<Response, PageError> {
    new_page(&admin, &state, &NewUserForm::default(), &Errors::default())
}

pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let form = NewUserForm {
        username: f.get("username").unwrap_or_default().trim().to_owned(),
        email: f.get("email").unwrap_or_default().trim().to_owned(),
        email_verified: f.flag("email_verified"),
        name: f.get("name").unwrap_or_default().trim().to_owned(),
        admin: f.flag("admin"),
    };
    let spec = UserSpec {
        username: form.username.clone(),
        email: f.text("email"),
        email_verified: form.email_verified,
        name: f.text("name"),
        admin: form.admin,
        claims: Default::default(),
    };
    let mut errors = Errors::default();
    let password = f.get("password").unwrap_or_default();
    match state.create_user(spec, password, &admin.actor()).await {
        Ok(u) => return Ok(see_other(&format!("/admin/users/{}", u.sub))),
        Err(ServiceError::Conflict(m)) => errors.add("username", m),
        Err(e) => errors.absorb(e)?,
    }
    new_page(&admin, &state, &form, &errors)
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    user: &'a User,
    /// The profile fields as typed when a change was refused.
    email: &'a str,
    email_verified: bool,
    name: &'a str,
    is_admin: bool,
    grants: &'a UserGrants,
    /// The standard claims, as stored or as typed when a change was refused.
    claims: Vec<ClaimField>,
    phone_number_verified: bool,
    errors: &'a Errors,
    notice: Option<&'a str>,
    min_length: u32,
}

/// One text field of the standard-claims form (OIDC Core §5.1); the form field is the claim's
/// name, `address.PART` for the address.
struct ClaimField {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: String,
}

/// The claims form's fields in display order, with their labels and hints.
const CLAIM_FIELDS: [(&str, &str, &str); 18] = [
    ("given_name", "Given name", ""),
    ("family_name", "Family name", ""),
    ("middle_name", "Middle name", ""),
    ("nickname", "Nickname", ""),
    ("profile", "Profile page", "http or https URL"),
    ("picture", "Picture", "http or https URL"),
    ("website", "Website", "http or https URL"),
    ("gender", "Gender", ""),
    ("birthdate", "Birthdate", "YYYY-MM-DD, 0000-MM-DD or YYYY"),
    ("zoneinfo", "Time zone", "e.g. Europe/Paris"),
    ("locale", "Locale", "e.g. en-US"),
    ("phone_number", "Phone number", "e.g. +1 (425) 555-1212"),
    ("address.formatted", "Address (formatted)", ""),
    ("address.street_address", "Street address", ""),
    ("address.locality", "City", ""),
    ("address.region", "Region", ""),
    ("address.postal_code", "Postal code", ""),
    ("address.country", "Country", ""),
];

fn claim_value(c: &UserClaims, name: &str) -> Option<String> {
    let a = c.address.as_ref();
    let part = |f: fn(&Address) -> &Option<String>| a.and_then(|a| f(a).clone());
    match name {
        "given_name" => c.given_name.clone(),
        "family_name" => c.family_name.clone(),
        "middle_name" => c.middle_name.clone(),
        "nickname" => c.nickname.clone(),
        "profile" => c.profile.clone(),
        "picture" => c.picture.clone(),
        "website" => c.website.clone(),
        "gender" => c.gender.clone(),
        "birthdate" => c.birthdate.clone(),
        "zoneinfo" => c.zoneinfo.clone(),
        "locale" => c.locale.clone(),
        "phone_number" => c.phone_number.clone(),
        "address.formatted" => part(|a| &a.formatted),
        "address.street_address" => part(|a| &a.street_address),
        "address.locality" => part(|a| &a.locality),
        "address.region" => part(|a| &a.region),
        "address.postal_code" => part(|a| &a.postal_code),
        "address.country" => part(|a| &a.country),
        _ => None,
    }
}

/// The claims as posted (validated by the service).
fn claims_from(f: &Fields) -> UserClaims {
    UserClaims {
        given_name: f.text("given_name"),
        family_name: f.text("family_name"),
        middle_name: f.text("middle_name"),
        nickname: f.text("nickname"),
        profile: f.text("profile"),
        picture: f.text("picture"),
        website: f.text("website"),
        gender: f.text("gender"),
        birthdate: f.text("birthdate"),
        zoneinfo: f.text("zoneinfo"),
        locale: f.text("locale"),
        phone_number: f.text("phone_number"),
        phone_number_verified: f.flag("phone_number_verified"),
        address: Some(Address {
            formatted: f.text("address.formatted"),
            street_address: f.text("address.street_address"),
            locality: f.text("address.locality"),
            region: f.text("address.region"),
            postal_code: f.text("address.postal_code"),
            country: f.text("address.country"),
        }),
    }
}

fn claim_fields(c: &UserClaims) -> Vec<ClaimField> {
    CLAIM_FIELDS
        .iter()
        .map(|&(name, label, hint)| ClaimField {
            name,
            label,
            hint,
            value: claim_value(c, name).unwrap_or_default(),
        })
        .collect()
}

async fn user_page(
    admin: &Admin,
    state: &AppState,
    user: &User,
    typed: Option<&Fields>,
    errors: &Errors,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let grants = state.user_grants(&user.sub).await?;
    let claims = match typed {
        Some(f) if f.get("claims").is_some() => claims_from(f),
        _ => user.claims.clone(),
    };
    let (email, email_verified, name, is_admin) = match typed {
        Some(f) => (
            f.get("email").unwrap_or_default(),
            f.flag("email_verified"),
            f.get("name").unwrap_or_default(),
            f.flag("admin"),
        ),
        None => (
            user.email.as_deref().unwrap_or_default(),
            user.email_verified,
            user.name.as_deref().unwrap_or_default(),
            user.admin,
        ),
    };
    render(
        errors.status(),
        &UserPage {
            admin: &admin.user,
            section: "users",
            csrf: &admin.csrf,
            user,
            email,
            email_verified,
            name,
            is_admin,
            grants: &grants,
            claims: claim_fields(&claims),
            phone_number_verified: claims.phone_number_verified,
            errors,
            notice,
            min_length: state.config.passwords.min_length,
        },
    )
}

async fn load(state: &AppState, sub: &str) -> Result<User, PageError> {
    state
        .user_by_sub(sub)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("user {sub}")).into())
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

/// Short confirmations after a redirect, by key (never free text from the query string).
fn notice_text(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "saved" => Some("Saved."),
        "password" => Some("The password was changed."),
        "disabled" => Some("The user is disabled and their sessions ended."),
        "enabled" => Some("The user is enabled."),
        "revoked" => Some("Revoked."),
        _ => None,
    }
}

pub async fn show(
    admin: Admin,
    State(state): State<AppState>,
    Path(sub): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, PageError> {
    let user = load(&state, &sub).await?;
    let notice = notice_text(n.done.as_deref());
    user_page(&admin, &state, &user, None, &Errors::default(), notice).await
}

pub async fn update(
    admin: Admin,
    State(state): State<AppState>,
    Path(sub): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let user = load(&state, &sub).await?;
    let mut errors = Errors::default();
    let admin_role = f.flag("admin");
    if !admin_role && user.sub == admin.user.sub {
        errors.add("admin", "you cannot remove your own admin role");
    } else {
        let updated = state
            .update_user_profile(
                &sub,
                f.text("email"),
                f.flag("email_verified"),
                f.text("name"),
                admin_role,
                &admin.actor(),
            )
            .await;
        match updated {
            Ok(_) => return Ok(see_other(&format!("/admin/users/{sub}?done=saved"))),
            Err(e) => errors.absorb(e)?,
        }
    }
    user_page(&admin, &state, &user, Some(&f), &errors, None).await
}

/// The standard claims form (OIDC Core §5.1), replacing them all.
pub async fn set_claims(
    admin: Admin,
    State(state): State<AppState>,
    Path(sub): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let user = load(&state, &sub).await?;
    let mut errors = Errors::default();
    match state
        .update_user_claims(&sub, claims_from(&f), &admin.actor())
        .await
    {
        Ok(_) => return Ok(see_other(&format!("/admin/users/{sub}?done=saved"))),
        Err(e) => errors.absorb(e)?,
    }
    user_page(&admin, &state, &user, Some(&f), &errors, None).await
}

pub async fn set_password(
    admin: Admin,
    State(state): State<AppState>,
    Path(sub): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let user = load(&state, &sub).await?;
    let password = f.get("password").unwrap_or_default();
    let mut errors = Errors::default();
    match state
        .set_user_password(&user.username, password, &admin.actor())
        .await
    {
        Ok(()) => return Ok(see_other(&format!("/admin/users/{sub}?done=password"))),
        Err(e) => errors.absorb(e)?,
    }
    user_page(&admin, &state, &user, None, &errors, None).await
}

/// Disable (after confirmation: it ends every session) or enable.
pub async fn set_disabled(
    admin: Admin,
    State(state): State<AppState>,
    Path(sub): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let user = load(&state, &sub).await?;
    let disable = f.get("disabled") == Some("true");
    if disable && user.sub == admin.user.sub {
        return Err(ServiceError::Conflict("You cannot disable your own account.".into()).into());
    }
    if disable && !f.confirmed() {
        return confirm(
            &admin,
            &f,
            Ask {
                title: "Disable this user?",
                message: &format!(
                    "{} can no longer sign in; their sessions end now, their refresh tokens stop working and their access tokens become inactive at introspection.",
                    user.username
                ),
                action: &format!("/admin/users/{sub}/disabled"),
                button: "Disable user",
                cancel: &format!("/admin/users/{sub}"),
            },
        );
    }
    state
        .set_user_disabled(&user.username, disable, &admin.actor())
        .await?;
    let done = if disable { "disabled" } else { "enabled" };
    Ok(see_other(&format!("/admin/users/{sub}?done={done}")))
}

/// Ends a session, withdraws a consent or revokes a refresh-token family, after confirmation.
pub async fn revoke(
    admin: Admin,
    State(state): State<AppState>,
    Path(sub): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let user = load(&state, &sub).await?;
    let what = f.get("what").unwrap_or_default();
    let id = f.get("id").unwrap_or_default();
    let (title, message) = match what {
        "session" => (
            "End this session?",
            "The browser is signed out and the refresh tokens bound to the session stop working.",
        ),
        "consent" => (
            "Withdraw this consent?",
            "The next sign-in to this application asks the user again.",
        ),
        "family" => (
            "Revoke this grant?",
            "The refresh token and the access tokens issued with it stop working.",
        ),
        "everywhere" => (
            "Sign this user out everywhere?",
            "Every browser session ends and every refresh token (offline ones too) stops working, with the access tokens issued with them.",
        ),
        _ => {
            return Err(crate::service::invalid(
                "what",
                "must be session, consent, family or everywhere",
            )
            .into());
        }
    };
    let ask = Ask {
        title,
        message,
        action: &format!("/admin/users/{sub}/revoke"),
        button: "Revoke",
        cancel: &format!("/admin/users/{sub}"),
    };
    let done = format!("/admin/users/{sub}?done=revoked");
    after_confirmation(&admin, &f, ask, &done, async || {
        let actor = admin.actor();
        match what {
            "session" => state.end_user_session(&user, id, &actor).await,
            "consent" => state.revoke_user_consent(&user, id, &actor).await,
            "everywhere" => state.sign_out_everywhere(&user.sub, &actor).await,
            _ => state.revoke_user_family(&user, id, &actor).await,
        }
    })
    .await
}
