//! `vigild`: the Vigil daemon.

fn main() {}
