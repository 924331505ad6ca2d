//! Redaction of secrets from everything stored.
