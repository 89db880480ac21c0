//! One record through the syslog formatter (RFC 5424 and 3164, CEF and JSON payloads, small
//! and default size limits) and its framing: never longer than the limit, framing intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, Record};
use o365fwd::sink::syslog::{Formatter, SyslogConfig, Transport, frame};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(rec) = Record::from_json(text, "fuzz#0") else {
        return;
    };
    let origin = Origin {
        tenant: "con\"toso]",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ContentType::Exchange,
    };
    let transport = if sel & 1 == 0 { Transport::Tcp } else { Transport::Udp };
    let mut cfg = SyslogConfig::new("127.0.0.1:514", transport);
    cfg.hostname = Some("fuzz-host".into());
    cfg.procid = Some("1".into());
    if sel & 2 != 0 {
        cfg.max_message_size = 480;
    }
    if sel & 4 != 0 {
        cfg.rfc = o365fwd::sink::syslog::Rfc::Rfc3164;
    }
    let format = if sel & 8 == 0 { Format::Cef } else { Format::Ecs };
    let f = Formatter::new(&cfg, Encoder::new(format, FormatOptions::default()));
    let (mut payload, mut msg, mut framed) = (Vec::new(), Vec::new(), Vec::new());
    f.format(&rec, &origin, &mut payload, &mut msg);
    assert!(
        msg.len() <= f.max_message_size(),
        "{} > {}",
        msg.len(),
        f.max_message_size()
    );
    frame(cfg.framing, &msg, &mut framed);
    assert!(framed.len() >= msg.len());
});
