//! UTF-16 strings of the C ABI: NUL-terminated, passed by pointer.

/// A string that cannot cross the ABI: it holds a NUL, which the other side
/// would read as its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the text holds a NUL character (UTF-16 unit {position}), which would end it early")]
pub struct InteriorNul {
    /// Where the NUL is, in UTF-16 units.
    pub position: usize,
}

/// A string that is not valid UTF-16 (an unpaired surrogate).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the text is not valid UTF-16: unpaired surrogate {unit:#06x} at unit {position}")]
pub struct InvalidUtf16 {
    /// The surrogate.
    pub unit: u16,
    /// Where it is, in UTF-16 units.
    pub position: usize,
}

/// `s` as NUL-terminated UTF-16. Characters outside the Basic Multilingual
/// Plane become surrogate pairs.
pub fn to_wide(s: &str) -> Result<Vec<u16>, InteriorNul> {
    let mut units: Vec<u16> = s.encode_utf16().collect();
    if let Some(position) = units.iter().position(|&u| u == 0) {
        return Err(InteriorNul { position });
    }
    units.push(0);
    Ok(units)
}

/// The text of `units` (without a terminating NUL), unpaired surrogates
/// replaced by U+FFFD, as Windows' own conversions do.
pub fn from_wide_lossy(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}

/// The text of `units` (without a terminating NUL), refusing unpaired
/// surrogates.
pub fn from_wide(units: &[u16]) -> Result<String, InvalidUtf16> {
    let mut out = String::with_capacity(units.len());
    let mut position = 0;
    for decoded in char::decode_utf16(units.iter().copied()) {
        match decoded {
            Ok(c) => {
                out.push(c);
                position += c.len_utf16();
            }
            Err(e) => {
                return Err(InvalidUtf16 {
                    unit: e.unpaired_surrogate(),
                    position,
                })
            }
        }
    }
    Ok(out)
}

/// The units of the NUL-terminated string at `ptr`, without the NUL.
///
/// # Safety
/// `ptr` is NULL or points to readable UTF-16 units ending with a NUL, which
/// stay valid and unchanged for the returned lifetime.
pub unsafe fn units<'a>(ptr: *const u16) -> Option<&'a [u16]> {
    if ptr.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: the caller promises a NUL ends the string, so every unit up to
    // and including it is readable.
    while unsafe { *ptr.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the NUL were just read.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The text of the NUL-terminated string at `ptr` (`None` for NULL), lossy
/// as [`from_wide_lossy`].
///
/// # Safety
/// As for [`units`].
pub unsafe fn from_ptr_lossy(ptr: *const u16) -> Option<String> {
    // SAFETY: passed on from the caller.
    unsafe { units(ptr) }.map(from_wide_lossy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) {
        let wide = to_wide(s).unwrap();
        assert_eq!(wide.last(), Some(&0), "NUL-terminated");
        // SAFETY: `wide` is NUL-terminated and lives through the call.
        let back = unsafe { from_ptr_lossy(wide.as_ptr()) }.unwrap();
        assert_eq!(back, s);
        assert_eq!(from_wide(&wide[..wide.len() - 1]).unwrap(), s);
    }

    #[test]
    fn round_trips() {
        for s in [
            "",
            "c1",
            "C:\\layers\\4",
            "{\"Name\":\"ünïcödé\"}",
            "日本語のコンテナ",
            // Outside the BMP: surrogate pairs.
            "🐳 whale 𝄞 clef 𐐷",
            "tab\tnew\nline\r\u{7f}\u{ffff}\u{10ffff}",
            "\u{2028}\u{2029}<>&",
        ] {
            round_trip(s);
        }
    }

    #[test]
    fn non_bmp_characters_become_surrogate_pairs() {
        assert_eq!(to_wide("🐳").unwrap(), [0xD83D, 0xDC33, 0]);
        assert_eq!(to_wide("a𝄞").unwrap(), [0x61, 0xD834, 0xDD1E, 0]);
    }

    #[test]
    fn an_interior_nul_is_refused() {
        assert_eq!(to_wide("a\0b"), Err(InteriorNul { position: 1 }));
        assert_eq!(to_wide("🐳\0"), Err(InteriorNul { position: 2 }));
        assert!(to_wide("\0").is_err());
    }

    #[test]
    fn unpaired_surrogates() {
        // A lone high surrogate, a lone low surrogate, and a reversed pair.
        let odd = [0x61, 0xD800, 0x62, 0xDC00, 0xDC33, 0xD83D];
        assert_eq!(from_wide_lossy(&odd), "a\u{fffd}b\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(
            from_wide(&odd),
            Err(InvalidUtf16 {
                unit: 0xD800,
                position: 1
            })
        );
        let late = [0xD83D, 0xDC33, 0xDC00];
        assert_eq!(
            from_wide(&late),
            Err(InvalidUtf16 {
                unit: 0xDC00,
                position: 2
            })
        );
    }

    #[test]
    fn reading_stops_at_the_first_nul_and_null_is_none() {
        let buf = [0x68, 0x69, 0, 0x78, 0];
        // SAFETY: `buf` holds a NUL.
        assert_eq!(unsafe { from_ptr_lossy(buf.as_ptr()) }.unwrap(), "hi");
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { from_ptr_lossy(std::ptr::null()) }, None);
    }
}
