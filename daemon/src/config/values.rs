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

/// A size in bytes, written `1048576`, `"512KiB"`, `"1MiB"` or `"2MB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => return Ok(ByteSize(n)),
            Raw::Text(t) => t,
        };
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let factor: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            _ => 0,
        };
        match digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
        {
            Some(n) if factor > 0 && n > 0 => Ok(ByteSize(n)),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a size; write e.g. \"1MiB\", \"512KiB\" or a number of bytes"
            ))),
        }
    }
}
