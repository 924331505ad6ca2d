//! What Vigil's fuzz targets share: the input format of a webhook delivery,
//! the checks every driver must pass, and the checks of a decoded event.
//!
//! Every check is a property the code under test promises in its own
//! documentation; a failed check panics, which libFuzzer reports as a crash.

pub mod delivery;
pub mod drivers;
pub mod events;

/// Whether `text` is free of control characters.
pub fn no_control(text: &str) -> bool {
    !text.chars().any(char::is_control)
}
