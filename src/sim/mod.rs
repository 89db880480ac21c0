//! TEMP STUB
#![allow(dead_code, unused)]
use crate::record::ContentType;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
#[derive(Clone, Debug)]
pub struct SimTenant {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}
#[derive(Clone, Debug, Default)]
pub struct SimConfig {
    pub seed: u64,
    pub tenants: Vec<SimTenant>,
    pub content_types: Vec<ContentType>,
    pub backlog: Duration,
    pub blob_interval: Duration,
    pub records_per_blob: (usize, usize),
    pub live: bool,
    pub page_size: usize,
    pub token_lifetime: Duration,
    pub requests_per_minute: Option<u32>,
    pub throttle_status: u16,
    pub throttle_every: Option<u32>,
    pub retry_after: Option<Duration>,
    pub error_rate: f64,
    pub duplicate_rate: f64,
    pub late_rate: f64,
    pub late_by: Duration,
    pub malformed_rate: f64,
    pub malformed_heal_after: Option<u32>,
    pub hostile_next_page: bool,
    pub hostile_content_uri_rate: f64,
    pub subscriptions_enabled: bool,
    pub content_retention: Duration,
}
impl SimConfig {
    pub fn demo() -> SimConfig {
        todo!()
    }
}
pub struct SimHandle;
#[derive(Clone, Debug)]
pub struct RequestLog {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: String,
    pub tenant: Option<String>,
    pub had_authorization: bool,
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub error_code: Option<String>,
}
impl SimHandle {
    pub async fn start(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
        todo!()
    }
    pub fn base_url(&self) -> String {
        todo!()
    }
    pub fn evil_base_url(&self) -> String {
        todo!()
    }
    pub fn config(&self) -> &SimConfig {
        todo!()
    }
    pub fn expected_ids(&self, t: &str, ct: ContentType) -> BTreeSet<String> {
        todo!()
    }
    pub fn expected_ids_between(
        &self,
        t: &str,
        ct: ContentType,
        f: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BTreeSet<String> {
        todo!()
    }
    pub fn requests(&self) -> Vec<RequestLog> {
        todo!()
    }
    pub fn evil_requests(&self) -> Vec<RequestLog> {
        todo!()
    }
    pub fn unreachable_content_ids(&self, t: &str, ct: ContentType) -> BTreeSet<String> {
        todo!()
    }
    pub fn shutdown(self) {}
}
pub async fn run_standalone(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<()> {
    todo!()
}
