//! RFC 6587 framing for stream transports.

use super::Framing;

/// Appends `msg` to `out` framed: `LEN SP MSG` (octet counting) or `MSG LF`. The formatter
/// has already replaced line feeds inside the message when framing is LF.
pub fn frame(framing: Framing, msg: &[u8], out: &mut Vec<u8>) {
    match framing {
        Framing::OctetCounting => {
            out.extend_from_slice(msg.len().to_string().as_bytes());
            out.push(b' ');
            out.extend_from_slice(msg);
        }
        Framing::Lf => {
            out.extend_from_slice(msg);
            out.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests;
