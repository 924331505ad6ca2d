//! Source drivers: verify, then normalize a delivery to alerts.
