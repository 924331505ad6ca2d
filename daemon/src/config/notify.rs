//! `[notify]`: what outbound notifications may reach.

use serde::Deserialize;

/// `[notify]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The only way to reach internal destinations (and plain `http`):
    /// IP addresses, CIDR ranges, host names, `*.domain` wildcards. Checked
    /// by the SSRF guard (`vigil_notify::ssrf`).
    pub allow: Vec<String>,
}

impl NotifyConfig {
    /// The outbound policy these settings describe.
    pub fn policy(&self) -> Result<vigil_notify::ssrf::Policy, vigil_notify::ssrf::PolicyError> {
        vigil_notify::ssrf::Policy::new(&self.allow)
    }
}
