//! Value types that check themselves while parsing, so errors carry a location.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Unix permission bits, written as an octal string (`"0660"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text.strip_prefix("0o").unwrap_or(&text);
        match u32::from_str_radix(digits, 8) {
            Ok(bits) if bits <= 0o777 => Ok(Mode(bits)),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a permission mode; write it as an octal string such as \"0660\""
            ))),
        }
    }
}

/// A duration written like `"15m"`, `"30s"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval(pub Duration);

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let duration = humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({e}); write e.g. \"15m\" or \"30s\""
            ))
        })?;
        if duration < Duration::from_secs(1) {
            return Err(serde::de::Error::custom(format!(
                "`{text}` is too short; the minimum is 1s"
            )));
        }
        Ok(Interval(duration))
    }
}
