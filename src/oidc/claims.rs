//! Which claims about a user each scope releases (OIDC Core §5.4), in one place.

use serde_json::{Map, Value, json};

use crate::model::User;

/// OIDC Core §5.4: the claims of the standard scopes.
pub const PROFILE_CLAIMS: [&str; 14] = [
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
pub const EMAIL_CLAIMS: [&str; 2] = ["email", "email_verified"];
pub const ADDRESS_CLAIMS: [&str; 1] = ["address"];
pub const PHONE_CLAIMS: [&str; 2] = ["phone_number", "phone_number_verified"];

/// OIDC Core §5.3.2 and §5.4: `sub`, and for each granted scope the claims of it the user has
/// (absent ones are omitted, never null: §5.3.2).
pub fn for_scopes(user: &User, has: impl Fn(&str) -> bool) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.sub));
    let mut put = |key: &str, value: Option<&String>| {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    };
    let c = &user.claims;
    if has("profile") {
        put("name", user.name.as_ref());
        put("family_name", c.family_name.as_ref());
        put("given_name", c.given_name.as_ref());
        put("middle_name", c.middle_name.as_ref());
        put("nickname", c.nickname.as_ref());
        put("preferred_username", Some(&user.username));
        put("profile", c.profile.as_ref());
        put("picture", c.picture.as_ref());
        put("website", c.website.as_ref());
        put("gender", c.gender.as_ref());
        put("birthdate", c.birthdate.as_ref());
        put("zoneinfo", c.zoneinfo.as_ref());
        put("locale", c.locale.as_ref());
    }
    if has("email") {
        put("email", user.email.as_ref());
    }
    if has("phone") {
        put("phone_number", c.phone_number.as_ref());
    }
    if has("profile") {
        out.insert("updated_at".into(), json!(user.updated_at));
    }
    if has("email") && user.email.is_some() {
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    if has("phone") && c.phone_number.is_some() {
        out.insert(
            "phone_number_verified".into(),
            json!(c.phone_number_verified),
        );
    }
    if has("address")
        && let Some(address) = &c.address
    {
        out.insert("address".into(), json!(address));
    }
    Value::Object(out)
}
