//! `vigilctl`: the Vigil control client.

fn main() {}
