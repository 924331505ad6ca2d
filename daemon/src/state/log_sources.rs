//! Log collection's sources as the configuration and the logs view say
//! together: every file and journal the view holds, and every configured
//! one it holds nothing for yet, by set and path, each with where it
//! stands. The configuration says what should be followed, the view what
//! was: a source comes from either, so a path never read and one no
//! longer configured both show. `vigilctl logs list` lists them, status
//! counts them, doctor names the failing ones.

use crate::config::CollectConfig;
use std::collections::BTreeMap;
use std::ops::Bound;
use vigil_ingest::files::Glob;
use vigil_proto::{LogChange, LogListing, LogPlace, LogSourceState, LogsHeader, LogsStatus};
use vigil_store::LogPosition;
use vigil_views::logs::FollowedLog;

/// The path the journal's sources are recorded under.
pub const JOURNAL: &str = "journal";

/// What a configured set follows.
#[derive(Debug, Clone)]
enum Follows {
    /// One file.
    File(String),
    /// The files a glob names in one directory.
    Glob(Glob),
    /// The journal.
    Journal,
}

/// A configured set.
#[derive(Debug, Clone)]
pub struct ConfiguredSet {
    name: String,
    follows: Follows,
}

impl ConfiguredSet {
    /// Whether this set follows `path`.
    fn covers(&self, path: &str) -> bool {
        match &self.follows {
            Follows::File(file) => file == path,
            Follows::Glob(glob) => glob.matches(path),
            Follows::Journal => path == JOURNAL,
        }
    }

    /// The path a listing shows for it before anything was recorded.
    fn placeholder(&self) -> String {
        match &self.follows {
            Follows::File(file) => file.clone(),
            Follows::Glob(glob) => glob.as_str().to_string(),
            Follows::Journal => JOURNAL.to_string(),
        }
    }

    /// Whether it is a journal.
    fn is_journal(&self) -> bool {
        matches!(self.follows, Follows::Journal)
    }
}

/// The configured sets, in configuration order.
pub fn configured(collect: &CollectConfig) -> Vec<ConfiguredSet> {
    let logs = collect.logs.iter().map(|set| {
        let set = set.get_ref();
        let follows = match set.glob() {
            Some((_, glob)) => Follows::Glob(glob),
            None => Follows::File(set.path.get_ref().clone()),
        };
        ConfiguredSet {
            name: set.name().to_string(),
            follows,
        }
    });
    let journal = collect.journal.iter().map(|set| ConfiguredSet {
        name: set.get_ref().name.clone(),
        follows: Follows::Journal,
    });
    logs.chain(journal).collect()
}

/// The sources recorded, set name → path → state (the logs view's).
pub type Recorded = BTreeMap<String, BTreeMap<String, FollowedLog>>;

/// A source's place in a listing: set, then path.
pub type Key = (String, String);

/// The sources to list: the recorded ones and the configured ones never
/// recorded, of one set or all.
pub struct Sources<'a> {
    recorded: &'a Recorded,
    sets: &'a [ConfiguredSet],
    only: Option<&'a str>,
}

impl<'a> Sources<'a> {
    /// The sources of `only` (all when none).
    pub fn new(recorded: &'a Recorded, sets: &'a [ConfiguredSet], only: Option<&'a str>) -> Self {
        Sources {
            recorded,
            sets,
            only,
        }
    }

    /// Whether `only` names a set there is something to list of.
    pub fn known(&self) -> bool {
        self.only.is_none_or(|set| {
            self.recorded.contains_key(set) || self.sets.iter().any(|s| s.name == set)
        })
    }

    fn wanted(&self, set: &str) -> bool {
        self.only.is_none_or(|only| only == set)
    }

    /// The configured set named `set` that follows `path`, if any.
    fn covering(&self, set: &str, path: &str) -> Option<&ConfiguredSet> {
        self.sets.iter().find(|s| s.name == set && s.covers(path))
    }

    /// The configured sets nothing is recorded for yet, as listings.
    fn never_read(&self) -> impl Iterator<Item = LogListing> + '_ {
        self.sets
            .iter()
            .filter(|s| self.wanted(&s.name))
            .filter(|s| {
                !self
                    .recorded
                    .get(&s.name)
                    .is_some_and(|paths| paths.keys().any(|p| s.covers(p)))
            })
            .map(|s| not_read(&s.name, s.placeholder()))
    }

    /// The recorded sources after `after`, in order.
    fn recorded_after<'s>(
        &'s self,
        after: Option<&'s Key>,
    ) -> impl Iterator<Item = (&'a String, &'a String, &'a FollowedLog)> + 's {
        let from = match after {
            Some((set, _)) => Bound::Included(set.as_str()),
            None => Bound::Unbounded,
        };
        self.recorded
            .range::<str, _>((from, Bound::Unbounded))
            .filter(|(set, _)| self.wanted(set))
            .flat_map(move |(set, paths)| {
                let from = match after {
                    Some((s, path)) if s == set => Bound::Excluded(path.as_str()),
                    _ => Bound::Unbounded,
                };
                paths
                    .range::<str, _>((from, Bound::Unbounded))
                    .map(move |(path, followed)| (set, path, followed))
            })
    }

    /// A recorded source as listed.
    fn listing(&self, set: &str, path: &str, followed: &FollowedLog) -> LogListing {
        let state = if self.covering(set, path).is_none() {
            LogSourceState::Unconfigured
        } else if followed.error.is_some() {
            LogSourceState::Failing
        } else {
            LogSourceState::Following
        };
        LogListing {
            set: set.to_string(),
            path: path.to_string(),
            state,
            position: followed.position.as_ref().map(place),
            lines: followed.lines,
            bytes: followed.bytes,
            matched: followed.matched,
            alerts: followed.alerts,
            truncated: followed.truncated,
            last_read: followed.last_read,
            last_change: followed
                .last_change
                .map(|(kind, at)| LogChange { kind, at }),
            error: followed.error.clone(),
        }
    }

    /// The first `max` sources after `after`, by set and path.
    pub fn page(&self, after: Option<&Key>, max: usize) -> Vec<LogListing> {
        let mut page: Vec<LogListing> = self
            .recorded_after(after)
            .take(max)
            .map(|(set, path, followed)| self.listing(set, path, followed))
            .collect();
        page.extend(
            self.never_read()
                .filter(|l| after.is_none_or(|a| (&l.set, &l.path) > (&a.0, &a.1))),
        );
        page.sort_by(|a, b| (&a.set, &a.path).cmp(&(&b.set, &b.path)));
        page.truncate(max);
        page
    }

    /// What the listing's header says.
    pub fn header(&self) -> LogsHeader {
        let mut header = LogsHeader {
            sets: self.sets.iter().filter(|s| self.wanted(&s.name)).count() as u64,
            ..LogsHeader::default()
        };
        let listed = self
            .recorded_after(None)
            .map(|(set, path, followed)| self.listing(set, path, followed).state)
            .chain(self.never_read().map(|l| l.state));
        for state in listed {
            header.sources += 1;
            header.failing += u64::from(state == LogSourceState::Failing);
            header.not_read += u64::from(state == LogSourceState::NotRead);
        }
        header
    }

    /// Log collection in the status report: none when nothing is
    /// configured or recorded.
    pub fn status(&self) -> Option<LogsStatus> {
        if self.sets.is_empty() && self.recorded.is_empty() {
            return None;
        }
        let mut status = LogsStatus {
            sets: self.sets.len() as u64,
            ..LogsStatus::default()
        };
        for (set, path, followed) in self.recorded_after(None) {
            let Some(configured) = self.covering(set, path) else {
                continue;
            };
            if configured.is_journal() {
                status.journals += 1;
            } else {
                status.files += 1;
            }
            status.failing += u64::from(followed.error.is_some());
        }
        Some(status)
    }

    /// The recorded sources of configured sets that cannot be read now
    /// (their error is set): set, path, state.
    pub fn failing(&self) -> impl Iterator<Item = (&'a str, &'a str, &'a FollowedLog)> + '_ {
        self.recorded_after(None)
            .filter(|(set, path, followed)| {
                followed.error.is_some() && self.covering(set, path).is_some()
            })
            .map(|(set, path, followed)| (set.as_str(), path.as_str(), followed))
    }
}

fn not_read(set: &str, path: String) -> LogListing {
    LogListing {
        set: set.to_string(),
        path,
        state: LogSourceState::NotRead,
        position: None,
        lines: 0,
        bytes: 0,
        matched: 0,
        alerts: 0,
        truncated: 0,
        last_read: None,
        last_change: None,
        error: None,
    }
}

/// Where reading resumes, without the hashes that check it: what an
/// operator compares with `stat` and `journalctl --cursor`.
fn place(position: &LogPosition) -> LogPlace {
    match position {
        LogPosition::File(f) => LogPlace::File {
            dev: f.dev,
            inode: f.inode,
            offset: f.offset,
        },
        LogPosition::Journal { cursor } => LogPlace::Journal {
            cursor: cursor.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use vigil_store::{FilePosition, Hash, LogChangeKind};

    fn collect() -> CollectConfig {
        Config::parse(
            "t.toml",
            "[collect]\nallowed_roots = [\"/var/log\"]\n\n\
             [[collect.logs]]\nname = \"auth\"\npath = \"/var/log/auth.log\"\n\n\
             [[collect.logs]]\nname = \"web\"\npath = \"/var/log/nginx/*.log\"\n\n\
             [[collect.logs]]\npath = \"/var/log/new.log\"\n\n\
             [[collect.journal]]\nname = \"sys\"\n",
        )
        .unwrap()
        .collect
    }

    fn followed(offset: u64, error: Option<&str>) -> FollowedLog {
        FollowedLog {
            position: Some(LogPosition::File(FilePosition {
                dev: 8,
                inode: 77,
                offset,
                head: Hash([0; 32]),
                head_len: 0,
                tail: Hash([0; 32]),
                tail_len: 0,
            })),
            lines: 3,
            bytes: offset,
            error: error.map(String::from),
            last_change: error.map(|_| (LogChangeKind::Gone, 5)),
            ..FollowedLog::default()
        }
    }

    fn recorded() -> Recorded {
        let mut r = Recorded::new();
        r.entry("auth".into())
            .or_default()
            .insert("/var/log/auth.log".into(), followed(100, None));
        let web = r.entry("web".into()).or_default();
        web.insert("/var/log/nginx/a.log".into(), followed(1, None));
        web.insert(
            "/var/log/nginx/b.log".into(),
            followed(2, Some("No such file")),
        );
        r.entry("old".into())
            .or_default()
            .insert("/var/log/old.log".into(), followed(9, None));
        r
    }

    fn keys(page: &[LogListing]) -> Vec<(String, String, LogSourceState)> {
        page.iter()
            .map(|l| (l.set.clone(), l.path.clone(), l.state))
            .collect()
    }

    #[test]
    fn recorded_and_configured_sources_are_listed_once_each_with_their_state() {
        let (recorded, sets) = (recorded(), configured(&collect()));
        let all = Sources::new(&recorded, &sets, None).page(None, 100);
        use LogSourceState::*;
        let s = |set: &str, path: &str, state| (set.to_string(), path.to_string(), state);
        assert_eq!(
            keys(&all),
            [
                s("/var/log/new.log", "/var/log/new.log", NotRead),
                s("auth", "/var/log/auth.log", Following),
                s("old", "/var/log/old.log", Unconfigured),
                s("sys", "journal", NotRead),
                s("web", "/var/log/nginx/a.log", Following),
                s("web", "/var/log/nginx/b.log", Failing),
            ]
        );
        let auth = &all[1];
        assert_eq!(
            auth.position,
            Some(LogPlace::File {
                dev: 8,
                inode: 77,
                offset: 100
            })
        );
        let b = &all[5];
        assert_eq!(b.error.as_deref(), Some("No such file"));
        assert_eq!(b.last_change.map(|c| c.kind), Some(LogChangeKind::Gone));
    }

    #[test]
    fn pages_list_every_source_once_in_order_whatever_their_size() {
        let (recorded, sets) = (recorded(), configured(&collect()));
        let sources = Sources::new(&recorded, &sets, None);
        let all = sources.page(None, 100);
        for max in 1..=7 {
            let mut listed: Vec<LogListing> = Vec::new();
            loop {
                let after = listed.last().map(|l| (l.set.clone(), l.path.clone()));
                let page = sources.page(after.as_ref(), max);
                let n = page.len();
                listed.extend(page);
                if n < max {
                    break;
                }
            }
            assert_eq!(keys(&listed), keys(&all), "pages of {max}");
        }
    }

    #[test]
    fn one_set_is_listed_alone_and_an_unknown_one_is_not_known() {
        let (recorded, sets) = (recorded(), configured(&collect()));
        let web = Sources::new(&recorded, &sets, Some("web"));
        assert!(web.known());
        assert_eq!(web.page(None, 100).len(), 2);
        let header = web.header();
        assert_eq!((header.sets, header.sources, header.failing), (1, 2, 1));
        assert!(
            Sources::new(&recorded, &sets, Some("old")).known(),
            "recorded"
        );
        assert!(
            Sources::new(&recorded, &sets, Some("sys")).known(),
            "configured"
        );
        assert!(!Sources::new(&recorded, &sets, Some("nope")).known());
        let all = Sources::new(&recorded, &sets, None).header();
        assert_eq!(
            (all.sets, all.sources, all.failing, all.not_read),
            (4, 6, 1, 2)
        );
    }

    #[test]
    fn status_counts_configured_sources_only() {
        let (recorded, sets) = (recorded(), configured(&collect()));
        let status = Sources::new(&recorded, &sets, None).status().unwrap();
        assert_eq!(
            status,
            LogsStatus {
                sets: 4,
                files: 3,
                journals: 0,
                failing: 1
            }
        );
        let failing: Vec<_> = Sources::new(&recorded, &sets, None)
            .failing()
            .map(|(set, path, f)| (set, path, f.error.as_deref()))
            .collect();
        assert_eq!(
            failing,
            [("web", "/var/log/nginx/b.log", Some("No such file"))]
        );
        let nothing = Recorded::new();
        assert_eq!(Sources::new(&nothing, &[], None).status(), None);
    }
}
