//! The `generic` webhook driver: signature headers and body (see
//! `vigil_fuzz::drivers` for what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_ingest::drivers::DriverKind;

fuzz_target!(|data: &[u8]| vigil_fuzz::drivers::run(DriverKind::Generic, data));
