//! Windows GUIDs: 16 bytes whose first three fields are little-endian in
//! memory, written as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.

use std::{fmt, str::FromStr};

use uuid::Uuid;

/// A GUID in Windows layout (`Data1` u32, `Data2` u16, `Data3` u16,
/// `Data4` [u8; 8]).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(C)]
pub struct Guid {
    /// The first 4 bytes, little-endian in memory.
    pub data1: u32,
    /// The next 2 bytes, little-endian in memory.
    pub data2: u16,
    /// The next 2 bytes, little-endian in memory.
    pub data3: u16,
    /// The last 8 bytes, in order.
    pub data4: [u8; 8],
}

impl Guid {
    /// From the 16 bytes of a `GUID` in Windows memory order.
    pub fn from_windows_bytes(b: [u8; 16]) -> Self {
        Self {
            data1: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            data2: u16::from_le_bytes([b[4], b[5]]),
            data3: u16::from_le_bytes([b[6], b[7]]),
            data4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    /// The 16 bytes of this `GUID` in Windows memory order.
    pub fn to_windows_bytes(self) -> [u8; 16] {
        let mut b = [0; 16];
        b[0..4].copy_from_slice(&self.data1.to_le_bytes());
        b[4..6].copy_from_slice(&self.data2.to_le_bytes());
        b[6..8].copy_from_slice(&self.data3.to_le_bytes());
        b[8..].copy_from_slice(&self.data4);
        b
    }

    /// From the 16 bytes of an RFC 4122 UUID (big-endian fields), which is
    /// also the order of the text form.
    pub fn from_rfc4122_bytes(b: [u8; 16]) -> Self {
        Self::from(Uuid::from_bytes(b))
    }

    /// The 16 bytes of this GUID as an RFC 4122 UUID (big-endian fields).
    pub fn to_rfc4122_bytes(self) -> [u8; 16] {
        Uuid::from(self).into_bytes()
    }
}

impl From<Uuid> for Guid {
    fn from(uuid: Uuid) -> Self {
        let (data1, data2, data3, data4) = uuid.as_fields();
        Self {
            data1,
            data2,
            data3,
            data4: *data4,
        }
    }
}

impl From<Guid> for Uuid {
    fn from(guid: Guid) -> Self {
        Uuid::from_fields(guid.data1, guid.data2, guid.data3, &guid.data4)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Uuid::from(*self).hyphenated(), f)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// The text is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid GUID {0:?}: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
pub struct ParseGuidError(pub String);

impl FromStr for Guid {
    type Err = ParseGuidError;

    /// Accepts the text form with or without surrounding braces; not the
    /// other forms `uuid` reads (no hyphens, `urn:uuid:`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(s);
        // 36 characters is only the hyphenated form.
        if text.len() != 36 {
            return Err(ParseGuidError(s.to_owned()));
        }
        Uuid::try_parse(text)
            .map(Self::from)
            .map_err(|_| ParseGuidError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_reorders_the_first_three_fields() {
        // Text prints bytes 3,2,1,0 - 5,4 - 7,6 - 8,9 - 10..15.
        let memory: [u8; 16] = [
            0x65, 0x5d, 0x95, 0x18, 0x5a, 0xd4, 0x7b, 0x55, 0xbf, 0x1c, 0x49, 0xd6, 0xdf, 0xef,
            0xc5, 0x26,
        ];
        let g = Guid::from_windows_bytes(memory);
        assert_eq!(g.to_string(), "18955d65-d45a-557b-bf1c-49d6dfefc526");
        assert_eq!(g.to_windows_bytes(), memory);
    }

    #[test]
    fn parses_its_own_text_and_braces() {
        let text = "bd9c3ef9-f239-59b5-a27e-15c523b1d149";
        let g: Guid = text.parse().unwrap();
        assert_eq!(g.to_string(), text);
        assert_eq!(g.data1, 0xbd9c3ef9);
        assert_eq!(g.data4[0], 0xa2);
        assert_eq!(
            "{BD9C3EF9-F239-59B5-A27E-15C523B1D149}"
                .parse::<Guid>()
                .unwrap(),
            g
        );
        assert_eq!(Guid::from_windows_bytes(g.to_windows_bytes()), g);
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "bd9c3ef9f23959b5a27e15c523b1d149",
            "bd9c3ef9-f239-59b5-a27e-15c523b1d14",
            "bd9c3ef9-f239-59b5-a27e-15c523b1d14g",
            "{bd9c3ef9-f239-59b5-a27e-15c523b1d149",
            "bd9c3ef9-f239-59b5-a27e15-c523b1d149",
            "urn:uuid:bd9c3ef9-f239-59b5-a27e-15c523b1d149",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad:?} parsed");
        }
    }
}
