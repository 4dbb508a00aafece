//! Go's `time.Time` as it appears in HCS documents.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, written as Go writes `time.Time`: RFC 3339 with as many
/// fractional digits as needed (none for whole seconds) and `Z` for UTC.
/// The default is Go's zero time, `0001-01-01T00:00:00Z`, which Go writes
/// even under `omitempty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<FixedOffset>);

impl Timestamp {
    /// The current time in UTC.
    pub fn now() -> Self {
        Self(Utc::now().fixed_offset())
    }

    /// Go's zero `time.Time`.
    pub fn zero() -> Self {
        let midnight = NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("0001-01-01 is a valid date");
        Self(midnight.and_utc().fixed_offset())
    }

    /// True for Go's zero time.
    pub fn is_zero(&self) -> bool {
        *self == Self::zero()
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Self::zero()
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t.fixed_offset())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nine digits, then drop trailing zeros as Go's RFC3339Nano does.
        let full = self.0.to_rfc3339_opts(SecondsFormat::Nanos, true);
        let (clock, zone) = full.split_at(full.rfind(['Z', '+', '-']).unwrap_or(full.len()));
        let clock = clock.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{clock}{zone}")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(Self)
            .map_err(|e| de::Error::custom(format!("invalid RFC 3339 time {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Timestamp {
        crate::json::from_str(&format!("\"{s}\"")).unwrap()
    }

    #[test]
    fn zero_time_is_written_like_go() {
        assert_eq!(Timestamp::default().to_string(), "0001-01-01T00:00:00Z");
        assert!(Timestamp::default().is_zero());
    }

    #[test]
    fn fraction_loses_trailing_zeros() {
        assert_eq!(
            parse("2017-08-07T11:34:36.500Z").to_string(),
            "2017-08-07T11:34:36.5Z"
        );
        assert_eq!(
            parse("2017-08-07T11:34:36.000Z").to_string(),
            "2017-08-07T11:34:36Z"
        );
        assert_eq!(
            parse("2017-08-07T11:34:36.123456789Z").to_string(),
            "2017-08-07T11:34:36.123456789Z"
        );
    }

    #[test]
    fn offsets_are_kept() {
        assert_eq!(
            parse("2017-08-07T11:34:36.25-07:00").to_string(),
            "2017-08-07T11:34:36.25-07:00"
        );
        assert_eq!(
            parse("2017-08-07T11:34:36+00:00").to_string(),
            "2017-08-07T11:34:36Z"
        );
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(crate::json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
