//! The committed fixture pins the encoding of every event variant: bodies
//! written by earlier builds must decode to the same values forever.

use super::examples::every_variant as samples;
use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/events-v1.hex");

#[test]
fn every_fixture_body_decodes_to_its_sample_and_encodes_identically() {
    let samples = samples();
    let mut seen = 0;
    for line in FIXTURE
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, hex_body) = line.split_once(' ').expect("`name hex` per line");
        let body = hex::decode(hex_body).expect("hex");
        let (_, sample) = samples
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no sample {name}"));
        assert_eq!(
            &Event::decode(&body).unwrap(),
            sample,
            "fixture {name} no longer decodes to its value"
        );
        assert_eq!(sample.encode(), body, "encoding of {name} changed");
        seen += 1;
    }
    assert_eq!(
        seen,
        samples.len(),
        "every variant must have a fixture line (append new ones)"
    );
}

#[test]
fn every_variant_has_a_distinct_kind_mapping_and_round_trips() {
    for (name, event) in samples() {
        let body = event.encode();
        assert_eq!(body[0], BODY_FORMAT);
        assert_eq!(Event::decode(&body).unwrap(), event, "{name}");
        assert_eq!(
            EventKind::from_code(event.kind().code()),
            Some(event.kind())
        );
        assert_eq!(
            event.kind().name().parse::<EventKind>().unwrap(),
            event.kind()
        );
    }
}

#[test]
fn seq_ranges_collapse_runs() {
    let r = |first, last| SeqRange { first, last };
    assert_eq!(SeqRange::collapse(&[]), vec![]);
    assert_eq!(
        SeqRange::collapse(&[1, 2, 3, 7, 9, 10, u64::MAX]),
        vec![r(1, 3), r(7, 7), r(9, 10), r(u64::MAX, u64::MAX)]
    );
    assert_eq!(r(9, 10).count(), 2);
    assert!(r(9, 10).contains(10) && !r(9, 10).contains(11));
}

#[test]
fn bad_bodies_are_errors() {
    let good = samples()[0].1.encode();
    assert!(Event::decode(&[]).is_err());
    assert!(
        Event::decode(&[2, 0])
            .unwrap_err()
            .to_string()
            .contains("body format 2")
    );
    assert!(Event::decode(&good[..good.len() - 1]).is_err());
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(
        Event::decode(&trailing)
            .unwrap_err()
            .to_string()
            .contains("trailing")
    );
    assert!(Event::decode(&[1, 200]).is_err(), "unknown variant index");
}

#[test]
fn kind_names_parse_and_unknown_ones_list_the_choices() {
    assert_eq!("auth".parse::<EventKind>().unwrap(), EventKind::Auth);
    let err = "bogus".parse::<EventKind>().unwrap_err();
    assert!(err.contains("bogus") && err.contains("custom"));
}
