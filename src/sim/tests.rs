//! End-to-end tests of the simulator over HTTP on 127.0.0.1, with reqwest as the client.

mod auth;
mod content;
mod faults;
mod graph;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::{SimConfig, SimHandle};
use crate::record::ContentType;

pub(super) const PUBLISHER: &str = "11111111-2222-3333-4444-555555555555";

pub(super) async fn start(cfg: SimConfig) -> SimHandle {
    SimHandle::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

pub(super) struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// The `AF…` code of an error envelope.
    pub(super) fn code(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.body)
            .ok()?
            .pointer("/error/code")?
            .as_str()
            .map(str::to_string)
    }
    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// A minimal API client bound to one tenant.
pub(super) struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub tenant: String,
    pub token: String,
}

impl Client {
    pub(super) async fn new(h: &SimHandle, tenant: usize) -> Client {
        Client::with_scope(h, tenant, "https://manage.office.com/.default").await
    }

    /// A client whose token is for `scope` (`https://graph.microsoft.com/.default`).
    pub(super) async fn with_scope(h: &SimHandle, tenant: usize, scope: &str) -> Client {
        let http = reqwest::Client::new();
        let t = &h.config().tenants[tenant];
        let r = http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                h.base_url(),
                t.tenant_id
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        Client {
            http,
            base: h.base_url(),
            tenant: t.tenant_id.clone(),
            token: v["access_token"].as_str().unwrap().to_string(),
        }
    }

    pub(super) fn root(&self) -> String {
        format!("{}/api/v1.0/{}/activity/feed", self.base, self.tenant)
    }

    pub(super) async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.bearer_auth(&self.token).send().await.unwrap();
        Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    pub(super) async fn get(&self, url: &str) -> Resp {
        self.send(self.http.get(url)).await
    }

    pub(super) async fn post(&self, url: &str) -> Resp {
        self.send(self.http.post(url)).await
    }

    pub(super) fn content_url(&self, ct: ContentType, start: &str, end: &str) -> String {
        format!(
            "{}/subscriptions/content?contentType={ct}&startTime={start}&endTime={end}&PublisherIdentifier={PUBLISHER}",
            self.root()
        )
    }

    /// Lists a window, following `NextPageUri`; returns every entry and every page link.
    pub(super) async fn list_all(
        &self,
        ct: ContentType,
        start: &str,
        end: &str,
    ) -> (Vec<Value>, Vec<String>) {
        let mut url = self.content_url(ct, start, end);
        let (mut entries, mut links) = (Vec::new(), Vec::new());
        loop {
            let r = self.get(&url).await;
            assert_eq!(r.status, 200, "{}", r.body);
            entries.extend(r.json().as_array().unwrap().iter().cloned());
            match r.header("NextPageUri") {
                Some(next) => {
                    links.push(next.clone());
                    url = format!("{next}&PublisherIdentifier={PUBLISHER}");
                }
                None => return (entries, links),
            }
            assert!(links.len() < 10_000, "paging does not end");
        }
    }
}

/// A listing window covering the whole backlog of `h` up to now, in 24 h or less.
pub(super) fn whole_window(h: &SimHandle) -> (String, String) {
    let now = h.now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    (
        fmt(now - chrono::Duration::hours(23)),
        fmt(now + chrono::Duration::minutes(1)),
    )
}
