//! Cost of a sink filter per record: no filter, a 10-condition filter on the fields parsed
//! with the record, and a 10-condition filter that also reads raw fields (`UserType`,
//! `UserId`, `EntityName`, the Dynamics message). ECS encoding is measured alongside as
//! the yardstick of what a sink spends per record anyway.
//!
//! `cargo bench --bench filter` (results: BENCHMARKS.md, "Sink filters").

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use o365fwd::config::Config;
use o365fwd::filter::Filter;
use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, Record};

/// Counts allocations, to check that matching allocates nothing.
struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TENANT: &str = "[tenants.contoso]\ntenant_id = \"41463f53-8812-40f4-890f-865bf6e35190\"\n\
client_id = \"a6099727-6b7b-482c-b509-1df309acc563\"\nclient_secret = \"x\"\n";

/// Ten conditions on the fields parsed with the record (workload, operation, record type)
/// and the feed (tenant, content type).
const PARSED_10: &str = r#"
[[sinks.s.filter.include]]
workload = ["CRM", "PowerBI"]
operation = ["Retrieve*", "Update", "Create", "Delete", "ExportToExcel", "View*"]
record_type = ["CRM", "PowerBIAudit"]
tenant = ["contoso", "4146*"]
content_type = ["Audit.General"]
[[sinks.s.filter.include]]
workload = ["AzureActiveDirectory", "Exchange", "SharePoint", "OneDrive"]
content_type = ["Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint"]
[sinks.s.filter.exclude]
operation = ["WhoAmI", "Retrieve*Metadata*", "*Settings*"]
workload = ["Yammer"]
record_type = [99]
"#;

/// Ten conditions of which four read the raw JSON.
const RAW_10: &str = r#"
[[sinks.s.filter.include]]
workload = ["CRM", "PowerBI", "AzureActiveDirectory", "Exchange", "SharePoint"]
operation = ["*"]
tenant = ["contoso"]
[[sinks.s.filter.include]]
content_type = ["Audit.General"]
record_type = [21]
[sinks.s.filter.exclude]
operation = ["WhoAmI", "Retrieve*Metadata*"]
user_type = ["System", "ServicePrincipal"]
user_id = ["svc-*@*", "*$"]
entity_name = ["systemuser", "*metadata*"]
crm_access = ["Other"]
"#;

fn filter(rules: &str) -> Filter {
    let text = format!("{TENANT}[sinks.s]\ntype = \"stdout\"\n{rules}");
    let cfg = Config::parse(&text, Path::new("bench.toml")).expect("bench config is valid");
    let f = cfg.sinks["s"].filter.as_deref().expect("a filter").clone();
    let n = f.include.iter().map(|r| r.conditions.len()).sum::<usize>() + f.exclude.len();
    assert_eq!(n, 10, "ten conditions");
    f
}

fn records() -> Vec<(Record, ContentType)> {
    let cfg = o365fwd::sim::SimConfig::default();
    o365fwd::sim::sample(&cfg, 400)
        .into_iter()
        .map(|s| (Record::from_json(&s.json, "bench").unwrap(), s.content_type))
        .collect()
}

fn bench(c: &mut Criterion) {
    let recs = records();
    let origin = |ct| Origin {
        tenant: "contoso",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ct,
    };
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(recs.len() as u64));
    // No filter: the pipeline does nothing per record; this is the loop's own cost.
    g.bench_function("none", |b| {
        b.iter(|| {
            recs.iter()
                .filter(|(r, _)| black_box(r).record_type.is_some())
                .count()
        })
    });
    for (name, rules) in [("parsed_fields_10", PARSED_10), ("raw_fields_10", RAW_10)] {
        let f = filter(rules);
        let admitted = recs
            .iter()
            .filter(|(r, ct)| f.check(r, &origin(*ct)).is_ok())
            .count();
        assert!(admitted > 0 && admitted < recs.len(), "{name}: {admitted}");
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for (r, ct) in &recs {
            black_box(f.check(r, &origin(*ct)).is_ok());
        }
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        println!(
            "filter/{name}: {} records, {admitted} admitted, {allocations} allocations while matching",
            recs.len()
        );
        assert_eq!(allocations, 0, "matching must not allocate");
        g.bench_function(name, |b| {
            b.iter(|| {
                recs.iter()
                    .filter(|(r, ct)| black_box(&f).check(black_box(r), &origin(*ct)).is_ok())
                    .count()
            })
        });
    }
    let enc = Encoder::new(Format::Ecs, FormatOptions::default());
    let mut buf = Vec::with_capacity(1 << 20);
    g.bench_function("encode_ecs_yardstick", |b| {
        b.iter(|| {
            buf.clear();
            for (r, ct) in &recs {
                enc.encode(r, &origin(*ct), &mut buf);
            }
            buf.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
