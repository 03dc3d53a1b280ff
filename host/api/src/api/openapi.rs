//! `GET /openapi.json`: an OpenAPI 3.1 document built from the installed plugins'
//! manifests, so clients can be generated for exactly what this host serves.
//!
//! Each plugin operation becomes `POST /v1/tenants/{tenant}/plugins/<id>/<op>` with
//! the operation's input schema as request body and its output schema as the 200
//! response; OpenAPI 3.1 schemas are JSON Schema 2020-12, so manifest schemas are
//! used as they are. The permission each operation needs is in `x-permission`.
//!
//! Which plugins a host runs, and for whom, is not public: an anonymous request gets
//! the host's own routes only, a tenant's token the operations of the plugins enabled
//! for that tenant, a system administrator's every installed plugin.

use serde_json::{Map, Value, json};

use backoffice_host::Host;
use backoffice_host::error::HostResult;
use backoffice_host::manifest::Manifest;

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// The error responses every authenticated route can give.
fn error_responses(extra: &[(&str, &str)]) -> Map<String, Value> {
    let mut responses = Map::new();
    for (status, description) in [
        ("401", "Missing, malformed, expired or revoked token"),
        ("403", "The caller may not do this, or not in this tenant"),
    ]
    .iter()
    .chain(extra)
    {
        responses.insert((*status).to_string(), problem_response(description));
    }
    responses
}

/// The responses of an operation: `status` with `description` and the JSON `schema`
/// of its body if it has one, and the error responses (`extra` besides 401 and 403).
fn responses(
    status: &str,
    description: &str,
    schema: Option<Value>,
    extra: &[(&str, &str)],
) -> Value {
    let mut responses = error_responses(extra);
    let mut ok = json!({ "description": description });
    if let Some(schema) = schema {
        ok["content"] = json!({ "application/json": { "schema": schema } });
    }
    responses.insert(status.to_string(), ok);
    Value::Object(responses)
}

/// Routes of a tenant that one permission guards, under one tag.
struct Guarded {
    tag: &'static str,
    permission: &'static str,
    /// The operations' description, saying which permission they need.
    description: &'static str,
}

impl Guarded {
    /// The operation `id` with its `summary` and the rest of its `object` (parameters,
    /// request body, responses).
    fn operation(&self, id: &str, summary: &str, mut object: Value) -> Value {
        object["operationId"] = json!(id);
        object["tags"] = json!([self.tag]);
        object["x-permission"] = json!(self.permission);
        object["summary"] = json!(summary);
        object["description"] = json!(self.description);
        object
    }
}

fn tenant_parameter() -> Value {
    json!({
        "name": "tenant", "in": "path", "required": true,
        "description": "Tenant (company) id",
        "schema": { "type": "string", "pattern": "^[a-z][a-z0-9-]*$" }
    })
}

fn dry_run_parameter() -> Value {
    json!({
        "name": "dry-run", "in": "query", "required": false,
        "description": "Run the operation and roll it back: the answer is a `DryRun` report with the output and what the call would have done; nothing is kept but an audit entry `dry-run`.",
        "schema": { "type": "boolean", "default": false }
    })
}

/// The report of a dry run (`backoffice_host::dry_run::DryRun`).
fn dry_run_schema() -> Value {
    let list = |items: Value| json!({ "type": "array", "items": items });
    let text = json!({ "type": "string" });
    json!({
        "type": "object",
        "required": ["dry_run", "version", "output", "effects"],
        "properties": {
            "dry_run": { "const": true },
            "version": text,
            "output": {},
            "effects": {
                "type": "object",
                "required": ["calls", "events", "runs", "cancelled_runs", "writes"],
                "properties": {
                    "calls": list(json!({ "type": "object",
                        "required": ["depth", "caller", "plugin", "operation", "input"],
                        "properties": { "depth": { "type": "integer", "minimum": 1 },
                            "caller": text, "plugin": text, "operation": text,
                            "input": {}, "output": {}, "error": text } })),
                    "events": list(json!({ "type": "object",
                        "required": ["plugin", "topic", "payload"],
                        "properties": { "plugin": text, "topic": text, "payload": {} } })),
                    "runs": list(json!({ "type": "object",
                        "required": ["plugin", "job", "at", "payload"],
                        "properties": { "plugin": text, "job": text,
                            "at": { "type": "string", "format": "date-time" }, "payload": {} } })),
                    "cancelled_runs": list(json!({ "type": "object",
                        "required": ["plugin", "run", "cancelled"],
                        "properties": { "plugin": text, "run": text, "cancelled": { "type": "boolean" } } })),
                    "writes": list(json!({ "type": "object",
                        "required": ["plugin", "puts", "deletes", "keys"],
                        "properties": { "plugin": text,
                            "puts": { "type": "integer", "minimum": 0 },
                            "deletes": { "type": "integer", "minimum": 0 },
                            "keys": list(text.clone()) } })),
                    "http_requests": list(json!({ "type": "object",
                        "required": ["plugin", "method", "url"],
                        "properties": { "plugin": text, "method": text, "url": text } }))
                }
            }
        }
    })
}

fn operation_path(manifest: &Manifest, op: &backoffice_host::manifest::Operation) -> Value {
    let mut responses = error_responses(&[
        (
            "400",
            "The input does not match the schema, or the plugin refused it",
        ),
        (
            "404",
            "Unknown tenant, or the plugin did not find what was named",
        ),
        ("409", "The request conflicts with the current state"),
        ("413", "The request body is too large"),
        ("500", "The plugin trapped or exceeded a limit"),
        ("503", "The host is at capacity"),
        ("504", "The plugin did not finish before its deadline"),
    ]);
    responses.insert(
        "200".into(),
        json!({
            "description": "The operation's output; with `dry-run=true`, a dry run's report (`DryRun`) holding it",
            "content": { "application/json": { "schema": {
                "anyOf": [op.output, { "$ref": "#/components/schemas/DryRun" }]
            } } }
        }),
    );
    let description = if op.description.is_empty() {
        format!("Needs the permission `{}`.", op.permission)
    } else {
        format!(
            "{}\n\nNeeds the permission `{}`.",
            op.description, op.permission
        )
    };
    json!({
        "post": {
            "operationId": format!("{}.{}", manifest.id, op.name),
            "tags": [manifest.id],
            "summary": if op.description.is_empty() { op.name.clone() } else { op.description.clone() },
            "description": description,
            "x-permission": op.permission,
            "parameters": [tenant_parameter(), dry_run_parameter()],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": op.input } }
            },
            "responses": responses
        }
    })
}

fn host_paths() -> Map<String, Value> {
    let json_ok = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "type": "object" } } } });
    let mut paths = Map::new();
    paths.insert(
        "/v1/login".into(),
        json!({ "post": {
            "operationId": "login", "tags": ["host"], "security": [],
            "summary": "Sign in with a password and get a session token",
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "required": ["username", "password"], "additionalProperties": false,
                "properties": {
                    "tenant": { "type": "string", "description": "Omit for system administrators" },
                    "username": { "type": "string" }, "password": { "type": "string" }
                }
            } } } },
            "responses": {
                "200": { "description": "A session token", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["token", "token_id", "expires_at"],
                    "properties": { "token": { "type": "string" }, "token_id": { "type": "string" },
                        "expires_at": { "type": "string", "format": "date-time" } } } } } },
                "400": problem_response("Malformed request"),
                "401": problem_response("Wrong user name or password"),
                "429": problem_response("Too many failed attempts; see Retry-After"),
                "503": problem_response("Busy checking other passwords; see Retry-After")
            }
        } }),
    );
    paths.insert(
        "/v1/logout".into(),
        json!({ "post": { "operationId": "logout", "tags": ["host"], "summary": "Revoke the token of this request",
            "responses": { "204": { "description": "Revoked" }, "401": problem_response("Not signed in") } } }),
    );
    paths.insert(
        "/v1/me".into(),
        json!({ "get": { "operationId": "me", "tags": ["host"], "summary": "Who the token stands for",
            "responses": { "200": json_ok("The principal"), "401": problem_response("Not signed in") } } }),
    );
    let mut listing = error_responses(&[("404", "Unknown tenant")]);
    listing.insert("200".into(), json_ok("The plugins enabled for the tenant"));
    paths.insert(
        "/v1/tenants/{tenant}/plugins".into(),
        json!({ "get": { "operationId": "tenant-plugins", "tags": ["host"],
            "summary": "Plugins enabled for the tenant, with versions and operations",
            "parameters": [tenant_parameter()], "responses": listing } }),
    );
    let name_param = |name: &str, description: &str| {
        json!({ "name": name, "in": "path", "required": true, "description": description,
            "schema": { "type": "string", "pattern": "^[a-z][a-z0-9-]*$" } })
    };
    let plugin_param = name_param("plugin", "Plugin id");
    let key_param = name_param("key", "The setting's key, as the plugin declares it");
    let settings_errors = |extra: &[(&str, &str)]| {
        let mut r = error_responses(&[
            ("404", "Unknown tenant, plugin or setting"),
            ("409", "The plugin is not enabled for the tenant"),
        ]);
        for (status, description) in extra {
            r.insert((*status).to_string(), problem_response(description));
        }
        r
    };
    let mut listing = settings_errors(&[]);
    listing.insert(
        "200".into(),
        json_ok("The plugin's declared settings with the tenant's values and the defaults"),
    );
    paths.insert(
        "/v1/tenants/{tenant}/settings/{plugin}".into(),
        json!({ "get": { "operationId": "tenant-settings", "tags": ["host"],
            "summary": "A plugin's settings for the tenant (needs settings.manage)",
            "parameters": [tenant_parameter(), plugin_param], "responses": listing } }),
    );
    let mut changed = settings_errors(&[
        (
            "400",
            "The value is not JSON or does not pass the setting's schema",
        ),
        ("413", "The request body is too large"),
    ]);
    changed.insert("200".into(), json_ok("The setting with its new value"));
    let mut cleared = settings_errors(&[]);
    cleared.insert("200".into(), json_ok("The setting, back on its default"));
    paths.insert(
        "/v1/tenants/{tenant}/settings/{plugin}/{key}".into(),
        json!({
            "parameters": [tenant_parameter(), plugin_param, key_param],
            "put": { "operationId": "tenant-setting-set", "tags": ["host"],
                "summary": "Set the tenant's value of a plugin setting (needs settings.manage)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {} } } },
                "responses": changed },
            "delete": { "operationId": "tenant-setting-unset", "tags": ["host"],
                "summary": "Clear the tenant's value: the default applies (needs settings.manage)",
                "responses": cleared }
        }),
    );
    webhook_paths(&mut paths);
    outbound_paths(&mut paths);
    for (path, id, summary) in [
        ("/v1/admin/tenants", "admin-tenants", "Every tenant"),
        (
            "/v1/admin/plugins",
            "admin-plugins",
            "Every installed plugin",
        ),
        (
            "/v1/admin/audit",
            "admin-audit",
            "Audit links, oldest first",
        ),
        (
            "/v1/admin/audit/verify",
            "admin-audit-verify",
            "Verify every audit chain",
        ),
    ] {
        let mut responses = error_responses(&[]);
        responses.insert("200".into(), json_ok(summary));
        paths.insert(
            path.into(),
            json!({ "get": { "operationId": id, "tags": ["admin"], "summary": summary, "responses": responses } }),
        );
    }
    paths
}

fn webhook_id_parameter() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "Webhook endpoint id (`wh_...`)",
        "schema": { "type": "string" }
    })
}

/// The tenant's webhooks (`webhooks.manage`): `api.rs` routes, `webhooks/mod.rs`.
fn webhook_paths(paths: &mut Map<String, Value>) {
    let endpoint = json!({
        "type": "object", "required": ["id", "tenant", "url", "topics", "created_ms"],
        "properties": {
            "id": { "type": "string" }, "tenant": { "type": "string" },
            "url": { "type": "string" },
            "topics": { "type": "array", "items": { "type": "string" } },
            "created_ms": { "type": "integer" },
            "previous_secret_until_ms": { "type": ["integer", "null"],
                "description": "Until when (ms since the epoch) the previous secret still signs, after a rotation" }
        }
    });
    let mut added = endpoint.clone();
    added["required"] = json!(["id", "tenant", "url", "topics", "created_ms", "secret"]);
    added["properties"]["secret"] =
        json!({ "type": "string", "description": "`whsec_...`, shown only this once" });
    let delivery = json!({
        "type": "object",
        "required": ["id", "tenant", "endpoint_id", "event_id", "msg_id", "topic", "state", "attempts", "next_attempt_ms", "created_ms"],
        "properties": {
            "id": { "type": "integer" }, "tenant": { "type": "string" },
            "endpoint_id": { "type": "string" }, "event_id": { "type": "integer" },
            "msg_id": { "type": "string", "description": "The `webhook-id` header, the same for every attempt" },
            "topic": { "type": "string" },
            "state": { "type": "string", "enum": ["pending", "delivered", "dead"] },
            "attempts": { "type": "integer" }, "next_attempt_ms": { "type": "integer" },
            "last_status": { "type": ["integer", "null"] }, "last_error": { "type": ["string", "null"] },
            "created_ms": { "type": "integer" }, "done_ms": { "type": ["integer", "null"] }
        }
    });
    let webhooks = Guarded {
        tag: "webhooks",
        permission: "webhooks.manage",
        description: "Needs the permission `webhooks.manage` in the tenant.",
    };
    paths.insert(
        "/v1/tenants/{tenant}/webhooks".into(),
        json!({
            "get": webhooks.operation("webhooks-list", "The tenant's webhook endpoints (never their secrets)", json!({
                "parameters": [tenant_parameter()],
                "responses": responses("200", "The endpoints", Some(json!({
                    "type": "object", "required": ["webhooks"],
                    "properties": { "webhooks": { "type": "array", "items": endpoint } } })),
                    &[("404", "Unknown tenant")])
            })),
            "post": webhooks.operation("webhooks-add", "Subscribe an HTTPS endpoint to event topics; the answer carries its secret, shown once", json!({
                "parameters": [tenant_parameter()],
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["url", "topics"], "additionalProperties": false,
                    "properties": {
                        "url": { "type": "string", "description": "https://... ; private and loopback destinations are refused" },
                        "topics": { "type": "array", "items": { "type": "string" },
                            "description": "Topics (`ledger.entry-posted`), prefixes (`ledger.*`) or `*`" }
                    } } } } },
                "responses": responses("201", "The endpoint and its secret", Some(added),
                    &[("400", "Bad URL (scheme, private address, unresolvable) or topic"), ("404", "Unknown tenant")])
            }))
        }),
    );
    paths.insert(
        "/v1/tenants/{tenant}/webhooks/{id}".into(),
        json!({ "delete": webhooks.operation("webhooks-remove", "Remove an endpoint; its pending deliveries are marked dead", json!({
            "parameters": [tenant_parameter(), webhook_id_parameter()],
            "responses": responses("204", "Removed", None, &[("404", "Unknown tenant or webhook")])
        })) }),
    );
    paths.insert(
        "/v1/tenants/{tenant}/webhooks/{id}/rotate".into(),
        json!({ "post": webhooks.operation("webhooks-rotate", "Give an endpoint a new secret (shown once); the old one also signs during the overlap", json!({
            "parameters": [tenant_parameter(), webhook_id_parameter()],
            "requestBody": { "required": false, "content": { "application/json": { "schema": {
                "type": "object", "additionalProperties": false,
                "properties": { "overlap_secs": { "type": "integer", "minimum": 0, "maximum": 2_592_000,
                    "description": "How long the old secret keeps signing beside the new one; 86400 when absent, 0 drops it at once" } }
            } } } },
            "responses": responses("200", "The new secret", Some(json!({
                "type": "object", "required": ["id", "secret"],
                "properties": { "id": { "type": "string" },
                    "secret": { "type": "string", "description": "`whsec_...`, shown only this once" },
                    "previous_secret_until_ms": { "type": ["integer", "null"] } } })),
                &[("400", "Overlap too long or malformed body"), ("404", "Unknown tenant or webhook"),
                  ("409", "Rotated too often")])
        })) }),
    );
    paths.insert(
        "/v1/tenants/{tenant}/webhooks/deliveries".into(),
        json!({ "get": webhooks.operation("webhooks-deliveries", "The delivery log, newest first", json!({
            "parameters": [
                tenant_parameter(),
                { "name": "endpoint", "in": "query", "required": false, "schema": { "type": "string" },
                  "description": "Only this endpoint's deliveries (`wh_...`)" },
                { "name": "status", "in": "query", "required": false,
                  "schema": { "type": "string", "enum": ["pending", "delivered", "dead"] },
                  "description": "Only deliveries in this state" },
                { "name": "limit", "in": "query", "required": false,
                  "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
            ],
            "responses": responses("200", "The deliveries", Some(json!({
                "type": "object", "required": ["deliveries"],
                "properties": { "deliveries": { "type": "array", "items": delivery } } })),
                &[("400", "Unknown state or malformed query"), ("404", "Unknown tenant")])
        })) }),
    );
    paths.insert(
        "/v1/tenants/{tenant}/webhooks/deliveries/{id}/replay".into(),
        json!({ "post": webhooks.operation("webhooks-replay", "Send a dead or delivered delivery again, with the same webhook-id", json!({
            "parameters": [tenant_parameter(),
                { "name": "id", "in": "path", "required": true, "description": "Delivery id",
                  "schema": { "type": "integer" } }],
            "responses": responses("202", "Pending again; the worker sends it shortly", None,
                &[("400", "Not a delivery id"), ("404", "Unknown tenant or delivery"),
                  ("409", "The delivery is pending, or its endpoint was removed")])
        })) }),
    );
}

/// The plugins' outbound HTTP requests and email notifications (`outbound.manage`):
/// `api.rs` routes, `outbound/mod.rs`, `notify/mod.rs`.
fn outbound_paths(paths: &mut Map<String, Value>) {
    let int = json!({ "type": "integer" });
    let opt_int = json!({ "type": ["integer", "null"] });
    let opt_text = json!({ "type": ["string", "null"] });
    // An outbound message, an HTTP request or an email: `own` (its required list and
    // the properties of its kind) with the properties the worker keeps of every kind.
    let message = |mut own: Value| {
        let common = json!({
            "id": int, "tenant": { "type": "string" }, "plugin": { "type": "string" },
            "attempts": int, "next_attempt_ms": int, "last_error": opt_text,
            "created_ms": int, "done_ms": opt_int
        });
        if let (Some(properties), Value::Object(common)) =
            (own["properties"].as_object_mut(), common)
        {
            properties.extend(common);
        }
        own["type"] = json!("object");
        own
    };
    let request = message(json!({
        "required": ["id", "tenant", "plugin", "method", "url", "body_bytes", "timeout_ms", "state",
            "attempts", "next_attempt_ms", "created_ms", "header_names", "attempts_log"],
        "properties": {
            "method": { "type": "string" }, "url": { "type": "string" },
            "body_bytes": int, "timeout_ms": int,
            "state": { "type": "string", "enum": ["pending", "answered", "dead"] },
            "status": opt_int,
            "held": { "type": ["string", "null"],
                "description": "Why a pending request is not being sent (its plugin is disabled for the tenant)" },
            "header_names": { "type": "array", "items": { "type": "string" },
                "description": "The names of its headers; values are never shown" },
            "attempts_log": { "type": "array", "items": { "type": "object",
                "required": ["attempt", "at_ms", "took_ms"],
                "properties": { "attempt": int, "at_ms": int, "took_ms": int,
                    "status": opt_int, "error": opt_text } } }
        }
    }));
    let notification = message(json!({
        "required": ["id", "tenant", "plugin", "recipient", "address", "subject", "body", "message_id",
            "state", "attempts", "next_attempt_ms", "created_ms", "attempts_log"],
        "properties": {
            "recipient": { "type": "string" }, "address": { "type": "string" },
            "subject": { "type": "string" }, "body": { "type": "string" },
            "message_id": { "type": "string" },
            "state": { "type": "string", "enum": ["pending", "sent", "dead"] },
            "attempts_log": { "type": "array", "items": { "type": "object",
                "required": ["attempt", "at_ms"],
                "properties": { "attempt": int, "at_ms": int, "code": opt_int, "error": opt_text } } }
        }
    }));
    let outbound = Guarded {
        tag: "outbound",
        permission: "outbound.manage",
        description: "Needs the permission `outbound.manage` in the tenant (the `admin` role holds it).",
    };
    let limit = json!({ "name": "limit", "in": "query", "required": false,
        "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } });
    for (route, key, op, summary, states, item, what, retry_summary) in [
        (
            "http-requests",
            "requests",
            "http-requests",
            "The plugins' outbound HTTP requests, newest first (header values and bodies are never shown)",
            ["pending", "answered", "dead"],
            request,
            "HTTP request",
            "Send a dead request again with a fresh count of attempts",
        ),
        (
            "notifications",
            "notifications",
            "notifications",
            "The email notifications plugins queued, newest first",
            ["pending", "sent", "dead"],
            notification,
            "notification",
            "Send a dead notification again, with the same Message-ID",
        ),
    ] {
        paths.insert(
            format!("/v1/tenants/{{tenant}}/{route}"),
            json!({ "get": outbound.operation(&format!("{op}-list"), summary, json!({
                "parameters": [
                    tenant_parameter(),
                    { "name": "state", "in": "query", "required": false,
                      "schema": { "type": "string", "enum": states },
                      "description": "Only those in this state" },
                    limit
                ],
                "responses": responses("200", "The list", Some(json!({
                    "type": "object", "required": [key],
                    "properties": { key: { "type": "array", "items": item } } })),
                    &[("400", "Unknown state or malformed query"), ("404", "Unknown tenant")])
            })) }),
        );
        paths.insert(
            format!("/v1/tenants/{{tenant}}/{route}/{{id}}/retry"),
            json!({ "post": outbound.operation(&format!("{op}-retry"), retry_summary, json!({
                "parameters": [tenant_parameter(),
                    { "name": "id", "in": "path", "required": true, "description": format!("The {what}'s id"),
                      "schema": { "type": "integer" } }],
                "responses": responses("202", "Pending again; the worker sends it shortly", None,
                    &[("400", "Not an id"), ("404", "Unknown tenant or id"),
                      ("409", "It is not dead (pending, or already answered or sent)")])
            })) }),
        );
    }
}

/// Who asks for the document.
pub(super) enum Audience {
    /// No token: the host's own routes only.
    Anonymous,
    /// A principal of this tenant: the plugins enabled for it.
    Tenant(String),
    /// A host-wide principal (system administrator): every installed plugin.
    Host,
}

/// The document for `audience`, from the plugins installed now.
pub(super) fn document(host: &Host, audience: &Audience) -> HostResult<Value> {
    let mut paths = host_paths();
    let manifests = match audience {
        Audience::Anonymous => Vec::new(),
        Audience::Host => host.manifests()?,
        Audience::Tenant(tenant) => {
            let enabled: std::collections::HashSet<String> = host
                .storage()
                .begin_read()?
                .enablement_for_tenant(tenant)?
                .into_iter()
                .filter(|e| e.enabled)
                .map(|e| e.plugin)
                .collect();
            host.manifests()?
                .into_iter()
                .filter(|m| enabled.contains(&m.id))
                .collect()
        }
    };
    let mut tags = vec![
        json!({ "name": "host", "description": "Sign-in and the tenant's modules" }),
        json!({ "name": "admin", "description": "Host administration (system administrators)" }),
        json!({ "name": "webhooks", "description": "The tenant's outbound webhooks (Standard Webhooks signatures)" }),
        json!({ "name": "outbound", "description": "The plugins' outbound HTTP requests and email notifications" }),
    ];
    for m in &manifests {
        tags.push(json!({
            "name": m.id,
            "description": format!("{} {} by {}. {}", m.name, m.version, m.vendor, m.description).trim().to_string()
        }));
        for op in &m.operations {
            paths.insert(
                format!("/v1/tenants/{{tenant}}/plugins/{}/{}", m.id, op.name),
                operation_path(m, op),
            );
        }
    }
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "backoffice",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A company's back office as sandboxed WebAssembly plugins. Plugin routes are generated from the manifests of the plugins the caller's tenant has enabled; without a token only the host's own routes are listed."
        },
        "servers": [{ "url": "/" }],
        "tags": tags,
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer",
                    "description": "A session token from /v1/login or an API token from `backoffice token create`" }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details",
                    "required": ["type", "title", "status", "code", "detail"],
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "code": { "type": "string", "description": "Stable machine-readable code" },
                        "detail": { "type": "string" }
                    }
                },
                "DryRun": dry_run_schema()
            }
        }
    }))
}
