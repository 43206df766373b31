//! Length-delimited, versioned frames between nodes: `length (u32 BE) ‖ version (u8) ‖
//! payload`, where the payload is a postcard-encoded `Packet`.

use bytes::{Buf, BufMut, BytesMut};

pub const VERSION: u8 = 1;
/// Largest frame accepted: a full snapshot travels in one frame.
pub const MAX_FRAME: usize = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("frame version {0} is not supported (this node speaks {VERSION})")]
    Version(u8),
}

pub fn encode(payload: &[u8], out: &mut BytesMut) {
    out.reserve(5 + payload.len());
    out.put_u32(u32::try_from(payload.len() + 1).expect("frames under 4 GiB"));
    out.put_u8(VERSION);
    out.put_slice(payload);
}

/// Takes one complete frame's payload off the front of `buf`, if there is one.
pub fn decode(buf: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    if len == 0 {
        return Err(FrameError::Version(0));
    }
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    let mut frame = buf.split_to(len);
    let version = frame.get_u8();
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_across_partial_reads() {
        let mut wire = BytesMut::new();
        encode(b"hello", &mut wire);
        encode(b"", &mut wire);
        encode(&[7; 300], &mut wire);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire.iter() {
            buf.put_u8(*byte);
            while let Some(f) = decode(&mut buf).unwrap() {
                got.push(f.to_vec());
            }
        }
        assert_eq!(got, vec![b"hello".to_vec(), vec![], vec![7; 300]]);
    }

    #[test]
    fn bad_frames_are_refused() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 1][..]);
        assert!(matches!(decode(&mut buf), Err(FrameError::TooLarge(_))));
        let mut buf = BytesMut::from(&[0, 0, 0, 2, 9, 0][..]);
        assert_eq!(decode(&mut buf), Err(FrameError::Version(9)));
    }
}
