//! The forward view: how far the fleet's broker holds this host's chain,
//! as last recorded (the forwarder records its position now and then; a
//! restarted daemon, `vigilctl status` and retention read it from here).

use crate::View;
use serde::{Deserialize, Serialize};
use vigil_store::{Event, Hash, Seal};

/// The last recorded acknowledged position.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardView {
    /// The stream and subject of the last record.
    pub stream: String,
    /// The subject.
    pub subject: String,
    /// Every entry up to this seq was acknowledged (0: none recorded).
    pub acked_seq: u64,
    /// Its link.
    pub acked_link: Hash,
    /// Its time (UTC micros).
    pub acked_time: i64,
    /// Seq of the `Forwarded` entry that recorded it.
    pub record_seq: u64,
}

impl View for ForwardView {
    const NAME: &'static str = "forward";
    const VERSION: u32 = 1;

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        if let Some(Event::Forwarded(f)) = event {
            self.stream.clone_from(&f.stream);
            self.subject.clone_from(&f.subject);
            self.acked_seq = f.acked_seq;
            self.acked_link = f.acked_link;
            self.acked_time = f.acked_time;
            self.record_seq = seal.seq;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_seal;
    use vigil_store::Forwarded;

    #[test]
    fn the_latest_record_wins_and_other_events_change_nothing() {
        let mut view = ForwardView::default();
        let record = |acked_seq| {
            Event::Forwarded(Forwarded {
                stream: "VIGIL".into(),
                subject: "vigil.db1.entries".into(),
                acked_seq,
                acked_link: Hash([acked_seq as u8; 32]),
                acked_time: 7,
            })
        };
        view.apply(&test_seal(10, 0), Some(&record(9)));
        view.apply(&test_seal(11, 0), None);
        assert_eq!((view.acked_seq, view.record_seq), (9, 10));
        view.apply(&test_seal(30, 0), Some(&record(29)));
        assert_eq!((view.acked_seq, view.record_seq), (29, 30));
        assert_eq!(view.acked_link, Hash([29; 32]));
        assert_eq!(view.subject, "vigil.db1.entries");
    }
}
