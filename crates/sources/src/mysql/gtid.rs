//! MariaDB GTID state: the last `domain-server-seq` of each replication
//! domain, as `@@gtid_binlog_pos` and `@slave_connect_state` spell it.

use std::collections::BTreeMap;
use std::fmt;

/// The last GTID per domain. Resuming at it yields exactly the
/// transactions after those GTIDs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GtidSet(BTreeMap<u32, (u32, u64)>);

impl GtidSet {
    /// Parses `0-1-30,1-2-5` (also empty); `None` when malformed, which
    /// also keeps anything but digits, dashes and commas out of the SQL the
    /// set is written into.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut set = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut fields = part.split('-');
            let domain = fields.next()?.parse().ok()?;
            let server = fields.next()?.parse().ok()?;
            let seq = fields.next()?.parse().ok()?;
            if fields.next().is_some() {
                return None;
            }
            set.insert(domain, (server, seq));
        }
        Some(Self(set))
    }

    /// Records a transaction's GTID.
    pub(crate) fn update(&mut self, domain: u32, server: u32, seq: u64) {
        self.0.insert(domain, (server, seq));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (domain, (server, seq))) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{domain}-{server}-{seq}")?;
        }
        Ok(())
    }
}

/// A MariaDB GTID event (type 162): sequence number, domain and flags; the
/// server id comes from the event header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MariaGtid {
    pub domain: u32,
    pub seq: u64,
    /// `FL_STANDALONE`: a single statement (DDL) without BEGIN/COMMIT.
    pub standalone: bool,
}

impl MariaGtid {
    pub(crate) fn parse(data: &[u8]) -> Option<Self> {
        let seq = u64::from_le_bytes(data.get(0..8)?.try_into().ok()?);
        let domain = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
        let flags = *data.get(12)?;
        Some(Self {
            domain,
            seq,
            standalone: flags & 1 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_sets_parse_update_and_print() {
        let mut set = GtidSet::parse("1-2-5, 0-1-30").unwrap();
        assert_eq!(set.to_string(), "0-1-30,1-2-5");
        set.update(0, 1, 31);
        set.update(7, 3, 1);
        assert_eq!(set.to_string(), "0-1-31,1-2-5,7-3-1");
        assert!(GtidSet::parse("").unwrap().is_empty());
        for bad in ["0-1", "0-1-2-3", "a-1-2", "0-1-2'; DROP"] {
            assert!(GtidSet::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn gtid_events_parse() {
        let mut data = 30u64.to_le_bytes().to_vec();
        data.extend_from_slice(&2u32.to_le_bytes());
        data.push(1);
        let gtid = MariaGtid::parse(&data).unwrap();
        assert_eq!((gtid.domain, gtid.seq, gtid.standalone), (2, 30, true));
        assert!(MariaGtid::parse(&data[..10]).is_none());
    }
}
