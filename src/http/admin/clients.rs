//! Console pages for clients: list with search, register, edit, rotate the secret, delete.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{
    Admin, Ask, Errors, Fields, ListQuery, PAGE_SIZE, after_confirmation, confirm, next_page,
    see_other,
};
use crate::http::AppState;
use crate::http::ui::{CsrfForm, PageError, render};
use crate::model::{
    ApplicationType, AuthMethod, Client, GrantType, Resource, Scope, SigningAlg, UnknownValue, User,
};
use crate::service::clients::ClientPatch;

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ListPage<'a> {
    admin: &'a User,
    section: &'static str,
    q: &'a str,
    clients: &'a [Client],
    next: Option<String>,
}

pub async fn list(
    admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (prefix, after) = (q.prefix(), q.after());
    let clients = state.client_page(prefix, after, PAGE_SIZE).await?;
    let next = next_page(prefix, &clients, |c| (&c.name, &c.client_id.0));
    render(
        StatusCode::OK,
        &ListPage {
            admin: &admin.user,
            section: "clients",
            q: prefix.unwrap_or_default(),
            clients: &clients,
            next,
        },
    )
}

/// The registration form's values, as typed (so a refused form comes back as it was).
#[derive(Default)]
pub struct ClientForm {
    pub name: String,
    pub public: bool,
    pub native: bool,
    pub auth_method: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_origins: String,
    pub resources: Vec<String>,
    pub scopes: String,
    pub default_resource: String,
    pub default_scopes: String,
    pub access_token_ttl: String,
    pub id_token_ttl: String,
    pub refresh_idle_ttl: String,
    pub refresh_absolute_ttl: String,
    pub refresh_grace_seconds: String,
    pub default_max_age: String,
    pub id_token_alg: String,
    pub first_party: bool,
    pub offline_preauthorized: bool,
    pub pkce_required: bool,
    pub admin_api: bool,
    pub disabled: bool,
}

fn opt(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

impl ClientForm {
    fn blank() -> Self {
        Self {
            auth_method: AuthMethod::ClientSecretBasic.as_str().to_owned(),
            id_token_alg: SigningAlg::RS256.as_str().to_owned(),
            pkce_required: true,
            grant_types: vec![GrantType::AuthorizationCode.as_str().to_owned()],
            ..Self::default()
        }
    }

    fn of(c: &Client) -> Self {
        let mut scopes: Vec<String> = Vec::new();
        for g in &c.grants {
            scopes.extend(g.scopes.iter().map(str::to_owned));
        }
        Self {
            name: c.name.clone(),
            public: c.public,
            native: c.application_type == ApplicationType::Native,
            auth_method: c.auth_method.as_str().to_owned(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            allowed_origins: c.allowed_origins.join("\n"),
            resources: c.grants.iter().map(|g| g.resource.clone()).collect(),
            scopes: Scope::from_tokens(scopes).to_string(),
            default_resource: c.default_resource.clone().unwrap_or_default(),
            default_scopes: c.default_scopes.to_string(),
            access_token_ttl: opt(c.access_token_ttl),
            id_token_ttl: opt(c.id_token_ttl),
            refresh_idle_ttl: opt(c.refresh_idle_ttl),
            refresh_absolute_ttl: opt(c.refresh_absolute_ttl),
            refresh_grace_seconds: opt(c.refresh_grace_seconds),
            default_max_age: opt(c.default_max_age),
            id_token_alg: c.id_token_alg.as_str().to_owned(),
            first_party: c.first_party,
            offline_preauthorized: c.offline_preauthorized,
            pkce_required: c.pkce_required,
            admin_api: c.admin_api,
            disabled: c.disabled,
        }
    }

    fn from_fields(f: &Fields) -> Self {
        let text = |n: &str| f.get(n).unwrap_or_default().trim().to_owned();
        Self {
            name: text("name"),
            public: f.get("kind") == Some("public"),
            native: f.get("application_type") == Some("native"),
            auth_method: text("auth_method"),
            grant_types: f.all("grant_types"),
            redirect_uris: text("redirect_uris"),
            post_logout_redirect_uris: text("post_logout_redirect_uris"),
            allowed_origins: text("allowed_origins"),
            resources: f.all("resources"),
            scopes: text("scopes"),
            default_resource: text("default_resource"),
            default_scopes: text("default_scopes"),
            access_token_ttl: text("access_token_ttl"),
            id_token_ttl: text("id_token_ttl"),
            refresh_idle_ttl: text("refresh_idle_ttl"),
            refresh_absolute_ttl: text("refresh_absolute_ttl"),
            refresh_grace_seconds: text("refresh_grace_seconds"),
            default_max_age: text("default_max_age"),
            id_token_alg: text("id_token_alg"),
            first_party: f.flag("first_party"),
            offline_preauthorized: f.flag("offline_preauthorized"),
            pkce_required: f.flag("pkce_required"),
            admin_api: f.flag("admin_api"),
            disabled: f.flag("disabled"),
        }
    }

    /// The change the service validates: every setting the form shows. The few checks that
    /// are about the form itself (numbers, known choices) are reported here.
    fn patch(&self, f: &Fields, errors: &mut Errors) -> ClientPatch {
        let auth_method = if self.public {
            Some(AuthMethod::None)
        } else {
            self.auth_method
                .parse()
                .map_err(|e: UnknownValue| errors.add("auth_method", e.to_string()))
                .ok()
        };
        let mut grant_types: Vec<GrantType> = Vec::new();
        for g in &self.grant_types {
            match g.parse() {
                Ok(g) => grant_types.push(g),
                Err(e) => errors.add("grant_types", e.to_string()),
            }
        }
        let id_token_alg = self
            .id_token_alg
            .parse()
            .map_err(|e: UnknownValue| errors.add("id_token_alg", e.to_string()))
            .ok();
        ClientPatch {
            name: Some(self.name.clone()),
            public: Some(self.public),
            application_type: Some(if self.native {
                ApplicationType::Native
            } else {
                ApplicationType::Web
            }),
            auth_method,
            grant_types: Some(grant_types),
            redirect_uris: Some(f.lines("redirect_uris")),
            post_logout_redirect_uris: Some(f.lines("post_logout_redirect_uris")),
            allowed_origins: Some(f.lines("allowed_origins")),
            resources: Some(self.resources.clone()),
            scopes: Some(scope_field(&self.scopes, "scopes", errors)),
            default_resource: Some(Some(self.default_resource.clone()).filter(|d| !d.is_empty())),
            default_scopes: Some(scope_field(&self.default_scopes, "default_scopes", errors)),
            access_token_ttl: Some(f.number("access_token_ttl", errors)),
            id_token_ttl: Some(f.number("id_token_ttl", errors)),
            refresh_idle_ttl: Some(f.number("refresh_idle_ttl", errors)),
            refresh_absolute_ttl: Some(f.number("refresh_absolute_ttl", errors)),
            refresh_grace_seconds: Some(f.number("refresh_grace_seconds", errors)),
            default_max_age: Some(f.number("default_max_age", errors)),
            id_token_alg,
            first_party: Some(self.first_party),
            offline_preauthorized: Some(self.offline_preauthorized),
            pkce_required: Some(self.pkce_required),
            admin_api: Some(self.admin_api),
            disabled: Some(self.disabled),
            // Not on the form: kept as it is.
            resource_server_for: None,
        }
    }

    pub fn has_grant(&self, g: &str) -> bool {
        self.grant_types.iter().any(|x| x == g)
    }

    pub fn has_resource(&self, r: &str) -> bool {
        self.resources.iter().any(|x| x == r)
    }
}

/// Empty means "not set" (all granted scopes; the default resource's scopes).
fn scope_field(raw: &str, field: &'static str, errors: &mut Errors) -> Option<Scope> {
    if raw.trim().is_empty() {
        return None;
    }
    let parsed = Scope::parse(raw.trim());
    if parsed.is_none() {
        errors.add(field, "space-separated scope names (RFC 6749 §3.3)");
    }
    parsed
}

#[derive(Template)]
#[template(path = "admin/client_form.html")]
struct FormPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    /// None while registering.
    client: Option<&'a Client>,
    form: &'a ClientForm,
    errors: &'a Errors,
    resources: &'a [Resource],
    grant_types: [&'static str; 3],
    algs: [&'static str; 3],
}

async fn form_page(
    admin: &Admin,
    state: &AppState,
    client: Option<&Client>,
    form: &ClientForm,
    errors: &Errors,
) -> Result<Response, PageError> {
    let resources = state.resources().await?;
    render(
        errors.status(),
        &FormPage {
            admin: &admin.user,
            section: "clients",
            csrf: &admin.csrf,
            client,
            form,
            errors,
            resources: &resources,
            grant_types: [
                GrantType::AuthorizationCode.as_str(),
                GrantType::ClientCredentials.as_str(),
                GrantType::RefreshToken.as_str(),
            ],
            algs: SigningAlg::ALL.map(SigningAlg::as_str),
        },
    )
}

pub async fn new(admin: Admin, State(state): State<AppState>) -> Result<Response, PageError> {
    form_page(
        &admin,
        &state,
        None,
        &ClientForm::blank(),
        &Errors::default(),
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/client_secret.html")]
struct SecretPage<'a> {
    admin: &'a User,
    section: &'static str,
    client: &'a Client,
    secret: Option<&'a str>,
    rotated: bool,
}

pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let form = ClientForm::from_fields(&f);
    let mut errors = Errors::default();
    let spec = form.patch(&f, &mut errors).into_spec();
    if errors.is_empty() {
        match state.create_client(spec, &admin.actor()).await {
            Ok(reg) => {
                return render(
                    StatusCode::OK,
                    &SecretPage {
                        admin: &admin.user,
                        section: "clients",
                        client: &reg.client,
                        secret: reg.secret.as_deref(),
                        rotated: false,
                    },
                );
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    form_page(&admin, &state, None, &form, &errors).await
}

pub async fn edit(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let c = state.client(&id).await?;
    form_page(
        &admin,
        &state,
        Some(&c),
        &ClientForm::of(&c),
        &Errors::default(),
    )
    .await
}

pub async fn update(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let existing = state.client(&id).await?;
    let mut form = ClientForm::from_fields(&f);
    // The kind is fixed at registration; the form does not offer to change it.
    form.public = existing.public;
    let mut errors = Errors::default();
    let patch = form.patch(&f, &mut errors);
    if errors.is_empty() {
        match state.patch_client(&id, patch, &admin.actor()).await {
            Ok(_) => return Ok(see_other(&format!("/admin/clients/{id}?saved=1"))),
            Err(e) => errors.absorb(e)?,
        }
    }
    form_page(&admin, &state, Some(&existing), &form, &errors).await
}

/// A new secret, shown once; the old one keeps working for the overlap chosen (default none).
pub async fn rotate(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let back = format!("/admin/clients/{id}");
    if !f.confirmed() {
        return confirm(
            &admin,
            &f,
            Ask {
                title: "Rotate the client secret?",
                message: "A new secret is generated and shown once. Without an overlap the current secret stops working at once.",
                action: &format!("/admin/clients/{id}/rotate"),
                button: "Rotate secret",
                cancel: &back,
            },
        );
    }
    let overlap = match f.text("overlap").map(|o| o.parse::<i64>()) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => {
            return Err(
                crate::service::invalid("overlap", "must be a whole number of seconds").into(),
            );
        }
    };
    let secret = state
        .rotate_client_secret(&id, overlap, &admin.actor())
        .await?;
    // The client was just there: not finding it now is our failure, not a 404.
    let client = state.client(&id).await.map_err(PageError::internal)?;
    render(
        StatusCode::OK,
        &SecretPage {
            admin: &admin.user,
            section: "clients",
            client: &client,
            secret: Some(&secret),
            rotated: true,
        },
    )
}

pub async fn delete(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let ask = Ask {
        title: "Delete this client?",
        message: &format!(
            "Client {id} is removed with its grants, codes and refresh tokens. Apps using it stop working. This cannot be undone."
        ),
        action: &format!("/admin/clients/{id}/delete"),
        button: "Delete client",
        cancel: &format!("/admin/clients/{id}"),
    };
    after_confirmation(&admin, &f, ask, "/admin/clients", async || {
        state.delete_client(&id, &admin.actor()).await
    })
    .await
}
