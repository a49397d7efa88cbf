//! A checked cursor over a borrowed byte slice.
//!
//! Every read checks the remaining length first and fails with
//! [`DecodeError::Truncated`] naming the field and its absolute offset; a
//! failed read never advances the cursor.

use crate::error::{DecodeError, Result};

/// A cursor over `buf`, whose first byte is at absolute offset `base`.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`, which sits at absolute offset `base`.
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Self {
        Cursor { buf, pos: 0, base }
    }

    /// The absolute offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when no byte is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn truncated(&self, what: &'static str, needed: u64) -> DecodeError {
        DecodeError::Truncated {
            what,
            offset: self.offset(),
            needed,
            available: self.remaining() as u64,
        }
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        match self.buf.get(self.pos..).and_then(|r| r.get(..n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.truncated(what, n as u64)),
        }
    }

    /// The next `n` bytes, where `n` comes from the input: checked against the
    /// remaining bytes as a u64 first, so no conversion can wrap.
    pub(crate) fn bytes_u64(&mut self, n: u64, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(self.truncated(what, n));
        }
        self.bytes(n as usize, what)
    }

    /// A fixed-size array.
    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let s = self.bytes(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        s
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<()> {
        self.bytes(n, what).map(|_| ())
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16_le(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32_le(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64_le(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// An unsigned little-endian integer of `n` bytes (1 to 8).
    pub(crate) fn uint_le(&mut self, n: usize, what: &'static str) -> Result<u64> {
        let s = self.bytes(n.min(8), what)?;
        Ok(s.iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// An unsigned big-endian integer of `n` bytes (1 to 8).
    pub(crate) fn uint_be(&mut self, n: usize, what: &'static str) -> Result<u64> {
        let s = self.bytes(n.min(8), what)?;
        Ok(s.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length-encoded integer (the client/server protocol's, used in
    /// binlog bodies). `None` for the NULL marker 0xfb.
    pub(crate) fn lenenc(&mut self, what: &'static str) -> Result<Option<u64>> {
        let save = self.pos;
        let first = self.u8(what)?;
        let r = match first {
            0..=0xfa => Ok(Some(u64::from(first))),
            0xfb => Ok(None),
            0xfc => self.uint_le(2, what).map(Some),
            0xfd => self.uint_le(3, what).map(Some),
            0xfe => self.uint_le(8, what).map(Some),
            0xff => Err(DecodeError::Invalid {
                what,
                offset: self.offset() - 1,
                value: 0xff,
                reason: "0xff is not a valid length-encoded integer prefix",
            }),
        };
        if r.is_err() {
            self.pos = save;
        }
        r
    }

    /// A length-encoded integer that must not be NULL.
    pub(crate) fn lenenc_int(&mut self, what: &'static str) -> Result<u64> {
        let at = self.offset();
        match self.lenenc(what)? {
            Some(v) => Ok(v),
            None => {
                self.pos -= 1;
                Err(DecodeError::Invalid {
                    what,
                    offset: at,
                    value: 0xfb,
                    reason: "a NULL marker where a length is required",
                })
            }
        }
    }

    /// A length-encoded byte string.
    pub(crate) fn lenenc_bytes(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let save = self.pos;
        let n = self.lenenc_int(what)?;
        self.bytes_u64(n, what).inspect_err(|_| self.pos = save)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reads_do_not_advance() {
        let mut c = Cursor::new(&[1, 2, 3], 100);
        assert!(c.u32_le("x").is_err());
        assert_eq!(c.offset(), 100);
        assert_eq!(c.u16_le("x").ok(), Some(0x0201));
        assert_eq!(c.offset(), 102);
        let e = c.u16_le("field").err();
        assert_eq!(
            e,
            Some(DecodeError::Truncated {
                what: "field",
                offset: 102,
                needed: 2,
                available: 1
            })
        );
    }

    #[test]
    fn lenenc_reads_all_widths() {
        let mut c = Cursor::new(&[0xfa, 0xfc, 1, 2, 0xfd, 1, 2, 3, 0xfb], 0);
        assert_eq!(c.lenenc("a").ok(), Some(Some(0xfa)));
        assert_eq!(c.lenenc("a").ok(), Some(Some(0x0201)));
        assert_eq!(c.lenenc("a").ok(), Some(Some(0x030201)));
        assert_eq!(c.lenenc("a").ok(), Some(None));
        let mut c = Cursor::new(&[0xfe, 1, 2], 0);
        assert!(c.lenenc("a").is_err());
        assert_eq!(c.offset(), 0);
    }

    #[test]
    fn huge_lengths_are_rejected_without_allocating() {
        let mut c = Cursor::new(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
        assert!(matches!(
            c.lenenc_bytes("blob"),
            Err(DecodeError::Truncated {
                needed: u64::MAX,
                ..
            })
        ));
    }
}
