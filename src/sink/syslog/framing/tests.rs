use super::*;

#[test]
fn octet_count_is_the_byte_length_of_the_message_only() {
    let mut out = Vec::new();
    frame(
        Framing::OctetCounting,
        "<134>1 - - - - - - é\n".as_bytes(),
        &mut out,
    );
    // 19 ASCII bytes + 2 for é + 1 LF.
    assert_eq!(out, "22 <134>1 - - - - - - é\n".as_bytes());
    out.clear();
    frame(Framing::Lf, b"<134>1 x", &mut out);
    assert_eq!(out, b"<134>1 x\n");
    out.clear();
    frame(Framing::OctetCounting, b"", &mut out);
    assert_eq!(out, b"0 ");
}
