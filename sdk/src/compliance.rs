//! Compliance checks: the typed extension point `backoffice:compliance@0.1.0`.
//!
//! A plugin contributes checks by implementing [`Checks`] and registering it with
//! [`export_compliance_checks!`](crate::export_compliance_checks) next to
//! [`export_plugin!`](crate::export_plugin), and by naming its checks in its
//! manifest:
//!
//! ```toml
//! [[provides]]
//! interface = "backoffice:compliance/checks@0.1.0"
//! keys = ["vendor-bank-details"]
//! ```
//!
//! The `compliance` plugin finds the checks with [`contributed`] and runs them with
//! [`evaluate`]; a check runs read-only in the compliance plugin's transaction.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::Result;

/// The WIT interface name a check plugin exports and declares under `[[provides]]`.
pub const CHECKS_INTERFACE: &str = "backoffice:compliance/checks@0.1.0";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Should be fixed soon.
    Medium,
    /// Must be fixed.
    High,
    /// Must be fixed now.
    Critical,
}

/// A check a plugin contributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CheckInfo {
    /// Unique name; listed under `keys` in the manifest.
    pub name: String,
    /// What the check looks for.
    pub description: String,
    /// Severity of its findings unless a finding says otherwise.
    pub severity: Severity,
}

/// What a check is asked to look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Subject {
    /// `scan` for a full scan, otherwise the event topic that triggered it.
    pub trigger: String,
    /// The event's payload; an empty object for a scan.
    pub payload: serde_json::Value,
    /// Today's business date in the tenant's time zone, `YYYY-MM-DD`.
    pub today: String,
}

/// A problem found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Finding {
    /// Identifies the problem, so the same problem seen again is the same finding.
    pub key: String,
    /// One line for people.
    pub summary: String,
    /// Overrides the check's severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Ids, amounts, who and when.
    pub evidence: serde_json::Value,
}

/// A check and the plugin contributing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Contributed {
    /// The contributing plugin.
    pub plugin: String,
    /// The check.
    pub check: CheckInfo,
}

/// What a check-contributing plugin implements.
pub trait Checks {
    /// The checks contributed.
    fn list_checks() -> Vec<CheckInfo>;

    /// Every problem `check` currently sees in `subject`.
    fn evaluate(check: &str, subject: &Subject) -> Result<Vec<Finding>>;
}

/// Every check contributed by plugins enabled for this tenant. Requires the
/// `plugins` capability.
pub fn contributed() -> Result<Vec<Contributed>> {
    glue::contributed()
}

/// Evaluate `check` of `plugin` on `subject`. Requires the `plugins` capability.
pub fn evaluate(plugin: &str, check: &str, subject: &Subject) -> Result<Vec<Finding>> {
    glue::evaluate(plugin, check, subject)
}

/// Implements the generated `checks` export for a [`Checks`] type.
pub struct ChecksAdapter<C>(PhantomData<C>);

mod glue {
    use super::{CheckInfo, Checks, ChecksAdapter, Contributed, Finding, Severity, Subject};
    use crate::__private::compliance_bindings::backoffice::compliance::{registry, types as c};
    use crate::__private::compliance_checks_bindings::backoffice::compliance::types as p;
    use crate::__private::compliance_checks_bindings::exports::backoffice::compliance::checks;
    use crate::Error;

    macro_rules! conversions {
        ($m:ident) => {
            impl From<Severity> for $m::Severity {
                fn from(s: Severity) -> Self {
                    match s {
                        Severity::Low => $m::Severity::Low,
                        Severity::Medium => $m::Severity::Medium,
                        Severity::High => $m::Severity::High,
                        Severity::Critical => $m::Severity::Critical,
                    }
                }
            }

            impl From<$m::Severity> for Severity {
                fn from(s: $m::Severity) -> Self {
                    match s {
                        $m::Severity::Low => Severity::Low,
                        $m::Severity::Medium => Severity::Medium,
                        $m::Severity::High => Severity::High,
                        $m::Severity::Critical => Severity::Critical,
                    }
                }
            }

            impl From<CheckInfo> for $m::CheckInfo {
                fn from(c: CheckInfo) -> Self {
                    $m::CheckInfo {
                        name: c.name,
                        description: c.description,
                        severity: c.severity.into(),
                    }
                }
            }

            impl From<$m::CheckInfo> for CheckInfo {
                fn from(c: $m::CheckInfo) -> Self {
                    CheckInfo {
                        name: c.name,
                        description: c.description,
                        severity: c.severity.into(),
                    }
                }
            }

            impl From<&Subject> for $m::Subject {
                fn from(s: &Subject) -> Self {
                    $m::Subject {
                        trigger: s.trigger.clone(),
                        payload: s.payload.to_string(),
                        today: s.today.clone(),
                    }
                }
            }

            impl From<$m::Subject> for Subject {
                fn from(s: $m::Subject) -> Self {
                    Subject {
                        trigger: s.trigger,
                        payload: serde_json::from_str(&s.payload)
                            .unwrap_or(serde_json::Value::Null),
                        today: s.today,
                    }
                }
            }

            impl From<Finding> for $m::Finding {
                fn from(f: Finding) -> Self {
                    $m::Finding {
                        key: f.key,
                        summary: f.summary,
                        severity: f.severity.map(Into::into),
                        evidence: f.evidence.to_string(),
                    }
                }
            }

            impl From<$m::Finding> for Finding {
                fn from(f: $m::Finding) -> Self {
                    Finding {
                        key: f.key,
                        summary: f.summary,
                        severity: f.severity.map(Into::into),
                        evidence: serde_json::from_str(&f.evidence)
                            .unwrap_or(serde_json::Value::String(f.evidence)),
                    }
                }
            }
        };
    }

    conversions!(c);
    conversions!(p);

    impl<C: Checks> checks::Guest for ChecksAdapter<C> {
        fn list_checks() -> Vec<p::CheckInfo> {
            C::list_checks().into_iter().map(Into::into).collect()
        }

        fn evaluate(check: String, subject: p::Subject) -> Result<Vec<p::Finding>, p::Error> {
            let subject = Subject::from(subject);
            Ok(C::evaluate(&check, &subject)?
                .into_iter()
                .map(Into::into)
                .collect())
        }
    }

    pub(super) fn contributed() -> Result<Vec<Contributed>, Error> {
        Ok(registry::checks()?
            .into_iter()
            .map(|c| Contributed {
                plugin: c.plugin,
                check: c.check.into(),
            })
            .collect())
    }

    pub(super) fn evaluate(
        plugin: &str,
        check: &str,
        subject: &Subject,
    ) -> Result<Vec<Finding>, Error> {
        Ok(registry::evaluate(plugin, check, &subject.into())?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
