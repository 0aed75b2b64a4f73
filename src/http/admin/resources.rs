//! Console pages for resource servers (APIs): list, register, edit, delete. A resource is named
//! by its identifier, a URI, so it travels in the query string rather than the path.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Admin, Ask, Errors, Fields, after_confirmation, see_other};
use crate::http::AppState;
use crate::http::ui::{CsrfForm, PageError, render};
use crate::model::{Resource, ScopeDef, SigningAlg, User};
use crate::oauth::defaults::DEFAULT_TOKEN_TTL;
use crate::service::resources::ResourceSpec;

#[derive(Template)]
#[template(path = "admin/resources.html")]
struct ListPage<'a> {
    admin: &'a User,
    section: &'static str,
    resources: &'a [Resource],
    builtin: &'a str,
}

pub async fn list(admin: Admin, State(state): State<AppState>) -> Result<Response, PageError> {
    let resources = state.resources().await?;
    render(
        StatusCode::OK,
        &ListPage {
            admin: &admin.user,
            section: "resources",
            resources: &resources,
            builtin: &state.admin_api_identifier(),
        },
    )
}

/// The form as typed.
pub struct ResourceForm {
    pub identifier: String,
    pub name: String,
    /// One `name: description` per line.
    pub scopes: String,
    pub signing_alg: String,
    pub access_token_ttl: String,
}

impl ResourceForm {
    fn of(r: &Resource) -> Self {
        Self {
            identifier: r.identifier.clone(),
            name: r.name.clone(),
            scopes: r
                .scopes
                .iter()
                .map(|s| format!("{}: {}", s.name, s.description))
                .collect::<Vec<_>>()
                .join("\n"),
            signing_alg: r.signing_alg.as_str().to_owned(),
            access_token_ttl: r.access_token_ttl.to_string(),
        }
    }

    fn from_fields(f: &Fields) -> Self {
        let text = |n: &str| f.get(n).unwrap_or_default().trim().to_owned();
        Self {
            identifier: text("identifier"),
            name: text("name"),
            scopes: text("scopes"),
            signing_alg: text("signing_alg"),
            access_token_ttl: text("access_token_ttl"),
        }
    }

    fn spec(&self, f: &Fields, errors: &mut Errors) -> ResourceSpec {
        let mut spec = ResourceSpec::new(self.identifier.clone());
        if !self.name.is_empty() {
            spec.name = self.name.clone();
        }
        spec.scopes = f
            .lines("scopes")
            .into_iter()
            .map(|line| match line.split_once(": ") {
                Some((name, description)) => ScopeDef {
                    name: name.trim().to_owned(),
                    description: description.trim().to_owned(),
                },
                None => ScopeDef {
                    name: line,
                    description: String::new(),
                },
            })
            .collect();
        match self.signing_alg.parse::<SigningAlg>() {
            Ok(alg) => spec.signing_alg = alg,
            Err(e) => errors.add("signing_alg", e.to_string()),
        }
        if let Some(ttl) = f.number("access_token_ttl", errors) {
            spec.access_token_ttl = ttl;
        }
        spec
    }
}

#[derive(Template)]
#[template(path = "admin/resource_form.html")]
struct FormPage<'a> {
    admin: &'a User,
    section: &'static str,
    csrf: &'a str,
    editing: bool,
    form: &'a ResourceForm,
    errors: &'a Errors,
    algs: [&'static str; 3],
}

fn form_page(
    admin: &Admin,
    editing: bool,
    form: &ResourceForm,
    errors: &Errors,
) -> Result<Response, PageError> {
    render(
        errors.status(),
        &FormPage {
            admin: &admin.user,
            section: "resources",
            csrf: &admin.csrf,
            editing,
            form,
            errors,
            algs: SigningAlg::ALL.map(SigningAlg::as_str),
        },
    )
}

pub async fn new(admin: Admin) -> Result<Response, PageError> {
    let form = ResourceForm {
        identifier: String::new(),
        name: String::new(),
        scopes: String::new(),
        signing_alg: SigningAlg::ES256.as_str().to_owned(),
        access_token_ttl: DEFAULT_TOKEN_TTL.to_string(),
    };
    form_page(&admin, false, &form, &Errors::default())
}

pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    save(admin, state, f, false).await
}

/// Register (`editing` false) or update: the same form, checks and refusals.
async fn save(
    admin: Admin,
    state: AppState,
    f: Fields,
    editing: bool,
) -> Result<Response, PageError> {
    let form = ResourceForm::from_fields(&f);
    let mut errors = Errors::default();
    let spec = form.spec(&f, &mut errors);
    if errors.is_empty() {
        let saved = if editing {
            state.update_resource(spec, &admin.actor()).await
        } else {
            state.create_resource(spec, &admin.actor()).await
        };
        match saved {
            Ok(_) => return Ok(see_other("/admin/resources")),
            Err(e) => errors.absorb(e)?,
        }
    }
    form_page(&admin, editing, &form, &errors)
}

#[derive(Deserialize)]
pub struct Which {
    identifier: String,
}

pub async fn edit(
    admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<Which>,
) -> Result<Response, PageError> {
    let resource = state.resource(&q.identifier).await?;
    form_page(
        &admin,
        true,
        &ResourceForm::of(&resource),
        &Errors::default(),
    )
}

pub async fn update(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    save(admin, state, f, true).await
}

pub async fn delete(
    admin: Admin,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<Fields>,
) -> Result<Response, PageError> {
    let identifier = f.get("identifier").unwrap_or_default().to_owned();
    let ask = Ask {
        title: "Delete this API?",
        message: &format!(
            "{identifier} is removed and no client can get tokens for it any more. Tokens already issued stay valid until they expire."
        ),
        action: "/admin/resources/delete",
        button: "Delete API",
        cancel: "/admin/resources",
    };
    after_confirmation(&admin, &f, ask, "/admin/resources", async || {
        state.delete_resource(&identifier, &admin.actor()).await
    })
    .await
}
