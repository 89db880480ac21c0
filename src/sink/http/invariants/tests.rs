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
