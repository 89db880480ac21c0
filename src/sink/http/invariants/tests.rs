/// The fuzz target's check on every tenth blob `format`'s robustness test mutates
/// (each goes through 38 envelopes; the fuzz target explores the rest).
#[test]
fn every_envelope_of_mutated_records_is_json() {
    for body in crate::format::robustness::mutated_blobs()
        .iter()
        .step_by(10)
    {
        super::check(body);
    }
}

/// A record that is a JSON value but not an object (found by the fuzz target): raw keeps it
/// as it came (a webhook line, a bulk document), HEC still wraps it in an event object.
#[test]
fn a_record_that_is_not_an_object_passes_through_raw() {
    super::check(b"[\r 6]");
    super::check(b"[\"x\", null, [1]]");
}
