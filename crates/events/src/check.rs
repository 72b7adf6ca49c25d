//! The result of one preflight check (`watershed check`): what was checked,
//! how it went, and how to fix it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    /// Works, but something needs attention (lag, no primary key, …).
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `sink.path writable` or `binlog_format`.
    pub name: String,
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// How to fix it, for warnings and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(CheckStatus::Ok, name.into(), detail.into(), None)
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(
            CheckStatus::Warn,
            name.into(),
            detail.into(),
            Some(fix.into()),
        )
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(
            CheckStatus::Fail,
            name.into(),
            detail.into(),
            Some(fix.into()),
        )
    }

    fn new(status: CheckStatus, name: String, detail: String, fix: Option<String>) -> Self {
        Self {
            name,
            status,
            detail,
            fix,
        }
    }
}
