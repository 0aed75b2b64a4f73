//! Validation of the standard claims of OIDC Core §5.1 an admin sets on a user: lengths,
//! URLs, dates, time zone and language-tag shapes, a loose phone number. Blank values become
//! absent.

use super::{ServiceError, invalid};
use crate::model::{Address, UserClaims};

/// Names, nicknames, gender, address parts.
const MAX_TEXT: usize = 200;
/// `formatted` and `street_address` may span lines.
const MAX_MULTILINE: usize = 1000;
const MAX_URL: usize = 2000;
const MAX_ZONEINFO: usize = 64;
/// RFC 5646 §4.4.1: 35 characters hold every tag that matters.
const MAX_LOCALE: usize = 35;
const MAX_PHONE: usize = 32;

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn text(
    field: &'static str,
    value: Option<String>,
    max: usize,
    lines: bool,
) -> Result<Option<String>, ServiceError> {
    let Some(v) = trimmed(value) else {
        return Ok(None);
    };
    let bad_char = |c: char| c.is_control() && !(lines && matches!(c, '\n' | '\r'));
    if v.chars().count() > max || v.chars().any(bad_char) {
        return Err(invalid(
            field,
            format!("must be at most {max} characters, without control characters"),
        ));
    }
    Ok(Some(v))
}

/// An absolute http or https URL.
fn url(field: &'static str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(v) = trimmed(value) else {
        return Ok(None);
    };
    let ok = v.len() <= MAX_URL
        && url::Url::parse(&v)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !ok {
        return Err(invalid(
            field,
            format!("must be an http or https URL of at most {MAX_URL} characters"),
        ));
    }
    Ok(Some(v))
}

/// OIDC Core §5.1 `birthdate`: `YYYY-MM-DD`, `0000-MM-DD` when the year is withheld, or `YYYY`.
fn birthdate(value: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(v) = trimmed(value) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = match v.len() {
        4 => digits(&v),
        10 if v.starts_with("0000-") => {
            time::Date::parse(&format!("2000{}", &v[4..]), format).is_ok()
        }
        10 => digits(&v[..4]) && time::Date::parse(&v, format).is_ok(),
        _ => false,
    };
    if !ok {
        return Err(invalid(
            "birthdate",
            "must be a date YYYY-MM-DD, 0000-MM-DD (year withheld) or a year YYYY",
        ));
    }
    Ok(Some(v))
}

/// The shape of an IANA time zone name (`Europe/Paris`, `America/Argentina/Buenos_Aires`, `UTC`).
fn zoneinfo(value: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(v) = trimmed(value) else {
        return Ok(None);
    };
    let part = |p: &str| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
    };
    if v.len() > MAX_ZONEINFO || !v.split('/').all(part) {
        return Err(invalid(
            "zoneinfo",
            "must be an IANA time zone name such as Europe/Paris",
        ));
    }
    Ok(Some(v))
}

/// The shape of a BCP 47 language tag (`en`, `en-US`, `zh-Hant-TW`); OIDC Core §5.1 notes that
/// some use `_` for `-`, which is accepted too.
fn locale(value: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(v) = trimmed(value) else {
        return Ok(None);
    };
    let mut parts = v.split(['-', '_']);
    let language = parts
        .next()
        .is_some_and(|l| (2..=8).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    let rest =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if v.len() > MAX_LOCALE || !language || !rest {
        return Err(invalid(
            "locale",
            "must be a language tag such as en or en-US",
        ));
    }
    Ok(Some(v))
}

/// Loose on purpose (numbers are written many ways): an optional leading `+`, then digits,
/// spaces and `-().`, at least 3 digits, optionally `;ext=` and digits (RFC 3966).
fn phone(value: Option<String>) -> Result<Option<String>, ServiceError> {
    let Some(v) = trimmed(value) else {
        return Ok(None);
    };
    let (number, ext) = match v.split_once(";ext=") {
        Some((n, e)) => (n, Some(e)),
        None => (v.as_str(), None),
    };
    let body = number.strip_prefix('+').unwrap_or(number);
    let ok = v.len() <= MAX_PHONE
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
        && body.chars().filter(char::is_ascii_digit).count() >= 3
        && ext.is_none_or(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()));
    if !ok {
        return Err(invalid(
            "phone_number",
            format!(
                "must be a phone number such as +1 (425) 555-1212: digits, spaces and -().+, at \
                 most {MAX_PHONE} characters"
            ),
        ));
    }
    Ok(Some(v))
}

fn address(value: Option<Address>) -> Result<Option<Address>, ServiceError> {
    let Some(a) = value else {
        return Ok(None);
    };
    let a = Address {
        formatted: text("address.formatted", a.formatted, MAX_MULTILINE, true)?,
        street_address: text(
            "address.street_address",
            a.street_address,
            MAX_MULTILINE,
            true,
        )?,
        locality: text("address.locality", a.locality, MAX_TEXT, false)?,
        region: text("address.region", a.region, MAX_TEXT, false)?,
        postal_code: text("address.postal_code", a.postal_code, MAX_TEXT, false)?,
        country: text("address.country", a.country, MAX_TEXT, false)?,
    };
    Ok(Some(a).filter(|a| *a != Address::default()))
}

/// The claims as they will be stored, or the first field refused.
pub fn validate(c: UserClaims) -> Result<UserClaims, ServiceError> {
    let claims = UserClaims {
        given_name: text("given_name", c.given_name, MAX_TEXT, false)?,
        family_name: text("family_name", c.family_name, MAX_TEXT, false)?,
        middle_name: text("middle_name", c.middle_name, MAX_TEXT, false)?,
        nickname: text("nickname", c.nickname, MAX_TEXT, false)?,
        profile: url("profile", c.profile)?,
        picture: url("picture", c.picture)?,
        website: url("website", c.website)?,
        gender: text("gender", c.gender, MAX_TEXT, false)?,
        birthdate: birthdate(c.birthdate)?,
        zoneinfo: zoneinfo(c.zoneinfo)?,
        locale: locale(c.locale)?,
        phone_number: phone(c.phone_number)?,
        phone_number_verified: c.phone_number_verified,
        address: address(c.address)?,
    };
    if claims.phone_number_verified && claims.phone_number.is_none() {
        return Err(invalid("phone_number_verified", "needs a phone number"));
    }
    Ok(claims)
}

/// `NAME=VALUE` settings (as the CLI's `--claim` takes them) applied to `base`: `address.PART`
/// names a part of the address, an empty value removes the claim, `phone_number_verified` is
/// `true` or `false`. Unknown names are refused; the result is not yet validated.
pub fn apply_settings(base: UserClaims, settings: &[String]) -> Result<UserClaims, ServiceError> {
    let refused = |m: String| invalid("claim", m);
    let mut claims = serde_json::to_value(base).map_err(|e| refused(e.to_string()))?;
    for setting in settings {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| refused(format!("{setting:?} is not NAME=VALUE")))?;
        let value = match name {
            "phone_number_verified" => {
                serde_json::Value::Bool(value.parse().map_err(|_| {
                    refused("phone_number_verified must be true or false".to_owned())
                })?)
            }
            _ => serde_json::Value::String(value.to_owned()),
        };
        let (object, key) = match name.split_once('.') {
            Some(("address", part)) => {
                let address = claims
                    .as_object_mut()
                    .map(|o| o.entry("address").or_insert_with(|| serde_json::json!({})));
                (address.and_then(|a| a.as_object_mut()), part)
            }
            _ => (claims.as_object_mut(), name),
        };
        let object = object.ok_or_else(|| refused(format!("cannot set {name}")))?;
        if value == "" {
            object.remove(key);
        } else {
            object.insert(key.to_owned(), value);
        }
    }
    serde_json::from_value(claims).map_err(|e| {
        refused(format!(
            "{e}; the names are those of OpenID Connect Core §5.1, address parts as address.PART"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(c: UserClaims) -> String {
        validate(c).expect_err("refused").to_string()
    }

    #[test]
    fn accepts_the_spec_examples_and_blanks() {
        let c = validate(UserClaims {
            given_name: Some(" Ada ".into()),
            nickname: Some("  ".into()),
            website: Some("https://example.com/ada".into()),
            birthdate: Some("0000-12-10".into()),
            zoneinfo: Some("America/Argentina/Buenos_Aires".into()),
            locale: Some("en-US".into()),
            phone_number: Some("+1 (425) 555-1212;ext=5678".into()),
            phone_number_verified: true,
            address: Some(Address {
                formatted: Some("1 Main St\nSpringfield".into()),
                ..Address::default()
            }),
            ..UserClaims::default()
        })
        .expect("valid");
        assert_eq!(c.given_name.as_deref(), Some("Ada"));
        assert_eq!(c.nickname, None);
        for good in ["1815", "1815-12-10"] {
            assert!(birthdate(Some(good.into())).is_ok(), "{good}");
        }
        assert_eq!(address(Some(Address::default())).expect("empty"), None);
    }

    #[test]
    fn settings() {
        let base = UserClaims {
            nickname: Some("ada".into()),
            ..UserClaims::default()
        };
        let settings = [
            "given_name=Ada".to_owned(),
            "nickname=".to_owned(),
            "address.country=UK".to_owned(),
            "phone_number_verified=false".to_owned(),
        ];
        let c = apply_settings(base, &settings).expect("applied");
        assert_eq!(c.given_name.as_deref(), Some("Ada"));
        assert_eq!(c.nickname, None);
        assert_eq!(c.address.and_then(|a| a.country).as_deref(), Some("UK"));
        for bad in ["shoe_size=42", "given_name", "address.planet=Mars"] {
            let err = apply_settings(UserClaims::default(), &[bad.to_owned()]).expect_err(bad);
            assert!(err.to_string().starts_with("claim: "), "{err}");
        }
    }

    #[test]
    fn refuses_malformed_values_naming_the_field() {
        let cases = [
            (
                UserClaims {
                    website: Some("javascript:alert(1)".into()),
                    ..Default::default()
                },
                "website",
            ),
            (
                UserClaims {
                    picture: Some("/relative.png".into()),
                    ..Default::default()
                },
                "picture",
            ),
            (
                UserClaims {
                    birthdate: Some("1815-13-10".into()),
                    ..Default::default()
                },
                "birthdate",
            ),
            (
                UserClaims {
                    birthdate: Some("10/12/1815".into()),
                    ..Default::default()
                },
                "birthdate",
            ),
            (
                UserClaims {
                    zoneinfo: Some("Europe/../etc".into()),
                    ..Default::default()
                },
                "zoneinfo",
            ),
            (
                UserClaims {
                    locale: Some("english please".into()),
                    ..Default::default()
                },
                "locale",
            ),
            (
                UserClaims {
                    phone_number: Some("call me".into()),
                    ..Default::default()
                },
                "phone_number",
            ),
            (
                UserClaims {
                    phone_number_verified: true,
                    ..Default::default()
                },
                "phone_number_verified",
            ),
            (
                UserClaims {
                    family_name: Some("x".repeat(201)),
                    ..Default::default()
                },
                "family_name",
            ),
            (
                UserClaims {
                    gender: Some("a\nb".into()),
                    ..Default::default()
                },
                "gender",
            ),
        ];
        for (claims, field) in cases {
            let err = refused(claims);
            assert!(err.starts_with(&format!("{field}: ")), "{err}");
        }
    }
}
