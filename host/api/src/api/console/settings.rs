//! A plugin's tenant settings as a form generated from the schemas it declares under
//! `[[settings]]` (`/console/t/{tenant}/settings/{plugin}`), for users holding
//! `settings.manage`.
//!
//! A filled field sets the company's value, an emptied one clears it (the declared
//! default applies again). Every value is checked against its schema before anything
//! is stored; the changes are then saved together in one transaction, each audited
//! as done by the signed-in user (`TenantAdmin::set_settings`).

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::pages::{Tenant, enabled_manifest};
use super::{ConsoleError, Page, TenantForm, TenantSession, forms, html, ser};
use backoffice_host::settings::SettingView;

/// One object schema holding every setting, each with its description and default.
fn form_schema(settings: &[SettingView]) -> Value {
    let mut props = Map::new();
    for s in settings {
        let mut schema = s.schema.clone();
        if let Some(obj) = schema.as_object_mut() {
            let default = match &s.default {
                Some(d) => format!(" Empty: the default, {d}."),
                None => " Empty: not set.".to_string(),
            };
            obj.insert(
                "description".into(),
                json!(format!("{}{default}", s.description)),
            );
            obj.remove("default");
        }
        props.insert(s.key.clone(), schema);
    }
    json!({ "type": "object", "properties": props })
}

/// The company's values as form values (unset settings stay empty).
fn stored_values(settings: &[SettingView]) -> forms::Values {
    settings
        .iter()
        .filter_map(|s| {
            let text = match s.value.as_ref()? {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            Some((s.key.clone(), text))
        })
        .collect()
}

/// What the form shows besides the settings: the values typed or stored, errors,
/// whether it was just saved.
struct FormState {
    values: forms::Values,
    errors: HashMap<String, String>,
    error: Option<String>,
    saved: bool,
    status: StatusCode,
}

impl FormState {
    /// The company's values, as stored.
    fn stored(settings: &[SettingView], saved: bool) -> FormState {
        FormState {
            values: stored_values(settings),
            errors: HashMap::new(),
            error: None,
            saved,
            status: StatusCode::OK,
        }
    }
}

fn render(t: &super::pages::Tenant, plugin: &str, settings: &[SettingView], f: FormState) -> Page {
    let m = enabled_manifest(t, plugin)?;
    let fields = forms::fields(&form_schema(settings), &f.values, &f.errors);
    Ok(html(
        f.status,
        "settings.html",
        minijinja::context! {
            title => format!("{} · settings", m.name),
            base => ser(&t.base),
            plugin => m.id.clone(),
            plugin_name => m.name.clone(),
            fields => ser(&fields),
            error => f.error,
            field_errors => f.errors.len(),
            saved => f.saved,
        },
    ))
}

/// The tenant page's data and the plugin's settings as stored, for a plugin enabled
/// there.
async fn stored(
    cx: &TenantSession,
    plugin: &str,
) -> Result<(Tenant, Vec<SettingView>), ConsoleError> {
    let t = cx.page().await?;
    enabled_manifest(&t, plugin)?;
    let p = plugin.to_string();
    let settings = cx.admin(move |admin| admin.settings(&p)).await?;
    Ok((t, settings))
}

pub(crate) async fn settings_get(
    cx: TenantSession,
    Path((_, plugin)): Path<(String, String)>,
) -> Page {
    let (t, settings) = stored(&cx, &plugin).await?;
    let state = FormState::stored(&settings, false);
    render(&t, &plugin, &settings, state)
}

pub(crate) async fn settings_post(form: TenantForm<(String, String)>) -> Page {
    let TenantForm {
        cx,
        path: (_, plugin),
        fields,
    } = form;
    let (t, settings) = stored(&cx, &plugin).await?;
    let values: forms::Values = fields
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .collect();
    let schema = form_schema(&settings);
    let (parsed, mut errors) = forms::parse(&schema, &values);
    if errors.is_empty() {
        errors = forms::schema_errors(&schema, &parsed);
    }
    if !errors.is_empty() {
        let error = errors.get("").cloned();
        let errors = errors.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        let state = FormState {
            values,
            errors,
            error,
            saved: false,
            status: StatusCode::BAD_REQUEST,
        };
        return render(&t, &plugin, &settings, state);
    }
    // Only what changed: a new value, or a value emptied (back to the default).
    let changes: Vec<(String, Option<Value>)> = settings
        .iter()
        .filter_map(|s| {
            let new = parsed.get(&s.key).cloned();
            (new != s.value).then(|| (s.key.clone(), new))
        })
        .collect();
    let p = plugin.clone();
    let saved = cx
        .admin(move |admin| {
            admin.set_settings(&p, &changes)?;
            admin.settings(&p)
        })
        .await;
    match saved {
        Ok(settings) => {
            let state = FormState::stored(&settings, true);
            render(&t, &plugin, &settings, state)
        }
        Err(ConsoleError(e))
            if e.http_status() < 500
                && !matches!(e, backoffice_host::error::HostError::Unauthenticated(_)) =>
        {
            let state = FormState {
                values,
                errors: HashMap::new(),
                error: Some(e.to_string()),
                saved: false,
                status: StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            };
            render(&t, &plugin, &settings, state)
        }
        Err(e) => Err(e),
    }
}
