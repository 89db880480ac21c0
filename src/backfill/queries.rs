//! The life of a slice's Graph query: found again (by id, or by display name when a stop
//! came between asking and noting), or made; read until it has run; made again when the
//! service failed it; the slice split when the query found too much.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::plan::QueryRef;
use super::{Active, Backfill, BackfillError, MAX_SLICE_RECORDS};
use crate::api::ApiError;
use crate::api::graph::{QuerySpec, QueryStatus};

/// Consecutive failed status reads of one query before its slice waits for the next run.
const POLL_ERRORS: u32 = 5;
/// Pages of the tenant's query list read when looking for a query made before a stop.
const LIST_PAGES: u32 = 50;

enum Next {
    Keep,
    Remake(String),
    GiveUp(String),
    Split,
}

impl Backfill<'_> {
    /// The slice's query: the one noted in the plan if the service still has it, else a new
    /// one. `None` when the slice waits for the next run (or the run is stopping).
    pub(super) async fn activate(
        &mut self,
        from: DateTime<Utc>,
    ) -> Result<Option<Active>, BackfillError> {
        let Some(s) = self.plan.slice(from).cloned() else {
            return Ok(None);
        };
        match &s.query {
            Some(QueryRef { id: Some(id), .. }) => match self.client.get_query(id).await {
                Ok(Some(q)) => {
                    self.summary.queries_reused += 1;
                    tracing::info!(slice = %s.id(), query = %q.id, status = %q.status(), "Reusing the query made by an earlier run.");
                    return Ok(Some(Active::new(from, q)));
                }
                Ok(None) => {
                    tracing::info!(slice = %s.id(), query = %id, "The service no longer has this slice's query; making a new one.");
                }
                Err(e) => return self.api_error(from, "reading its query", e),
            },
            Some(QueryRef { id: None, name }) => {
                if let Some(id) = self.orphan(name).await? {
                    let got = self.client.get_query(&id).await;
                    if let Ok(Some(q)) = got {
                        self.note_query(from, name.clone(), q.id.clone())?;
                        self.summary.queries_reused += 1;
                        return Ok(Some(Active::new(from, q)));
                    }
                }
            }
            None => {}
        }
        self.create(from).await
    }

    /// Makes the slice's query, noting its name before asking and its id after.
    async fn create(&mut self, from: DateTime<Utc>) -> Result<Option<Active>, BackfillError> {
        let Some(s) = self.plan.slice(from).cloned() else {
            return Ok(None);
        };
        let name = self.plan.query_name(&s);
        if let Some(sl) = self.plan.slice_mut(from) {
            sl.query = Some(QueryRef {
                id: None,
                name: name.clone(),
            });
        }
        self.plan.save(&self.dir)?;
        let spec = QuerySpec::new(name.clone(), s.from, s.to, &self.plan.record_types);
        match self.client.create_query(&spec).await {
            Ok(q) => {
                self.note_query(from, name, q.id.clone())?;
                self.summary.queries_created += 1;
                tracing::info!(slice = %s.id(), query = %q.id, "Audit search query made.");
                Ok(Some(Active::new(from, q)))
            }
            Err(e) => self.api_error(from, "making its query", e),
        }
    }

    fn note_query(
        &mut self,
        from: DateTime<Utc>,
        name: String,
        id: String,
    ) -> Result<(), BackfillError> {
        if let Some(sl) = self.plan.slice_mut(from) {
            sl.query = Some(QueryRef { id: Some(id), name });
        }
        Ok(self.plan.save(&self.dir)?)
    }

    /// The id of a query of the tenant with this display name, if the service has one.
    async fn orphan(&mut self, name: &str) -> Result<Option<String>, BackfillError> {
        if self.orphans.is_none() {
            match self.client.list_queries(LIST_PAGES).await {
                Ok(list) => {
                    let by_name: HashMap<String, String> = list
                        .into_iter()
                        .filter(|q| !q.status().is_lost())
                        .filter_map(|q| Some((q.display_name.clone()?, q.id)))
                        .collect();
                    self.orphans = Some(by_name);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot list the tenant's audit queries; a query made just before the last stop is made again.");
                    self.orphans = Some(HashMap::new());
                }
            }
        }
        Ok(self.orphans.as_ref().and_then(|o| o.get(name).cloned()))
    }

    /// An error of the service: fatal when it refuses the app (401, 403) or the token; the
    /// slice waits for the next run otherwise (the client already retried what is worth it).
    fn api_error(
        &mut self,
        from: DateTime<Utc>,
        doing: &str,
        e: ApiError,
    ) -> Result<Option<Active>, BackfillError> {
        match e {
            ApiError::Cancelled => Ok(None),
            ApiError::Api {
                status,
                code,
                message,
            } if status == 401 || status == 403 => Err(BackfillError::Refused {
                status,
                code,
                message,
            }),
            ApiError::Auth { message, .. } => Err(BackfillError::Auth(message)),
            e => {
                self.give_up(from, &format!("{doing}: {e}"));
                Ok(None)
            }
        }
    }

    /// Reads the status of the queries due for it and acts on what they say.
    pub(super) async fn poll(&mut self, active: &mut Vec<Active>) -> Result<(), BackfillError> {
        let now = Instant::now();
        let mut decisions = Vec::new();
        for (i, a) in active.iter_mut().enumerate() {
            if a.checked || self.stop.is_cancelled() {
                continue;
            }
            // A query found already succeeded (reused after a stop) is looked at as it is.
            if a.status != QueryStatus::Succeeded {
                if a.next_check > now {
                    continue;
                }
                a.next_check = crate::bounds::later(now, self.settings.poll_interval);
            } else {
                decisions.push((i, self.decide(a)));
                continue;
            }
            match self.client.get_query(&a.query).await {
                Ok(Some(q)) => {
                    a.status = q.status();
                    a.info = Some(q);
                    a.poll_errors = 0;
                }
                Ok(None) => {
                    decisions.push((
                        i,
                        Next::Remake("the service no longer has the query".into()),
                    ));
                    continue;
                }
                Err(ApiError::Cancelled) => return Ok(()),
                Err(ApiError::Api {
                    status,
                    code,
                    message,
                }) if status == 401 || status == 403 => {
                    return Err(BackfillError::Refused {
                        status,
                        code,
                        message,
                    });
                }
                Err(ApiError::Auth { message, .. }) => return Err(BackfillError::Auth(message)),
                Err(e) => {
                    a.poll_errors += 1;
                    if a.poll_errors >= POLL_ERRORS {
                        decisions.push((i, Next::GiveUp(format!("cannot read its query: {e}"))));
                    }
                    continue;
                }
            }
            decisions.push((i, self.decide(a)));
        }
        for (i, d) in decisions.into_iter().rev() {
            match d {
                Next::Keep => {
                    let a = &mut active[i];
                    a.checked = a.status == QueryStatus::Succeeded;
                    if a.checked {
                        a.next_check = now;
                    }
                }
                Next::GiveUp(why) => {
                    let a = active.remove(i);
                    self.give_up(a.from, &why);
                }
                Next::Split => {
                    let a = active.remove(i);
                    if self.plan.split(a.from) {
                        self.summary.splits += 1;
                        self.plan.save(&self.dir)?;
                    }
                }
                Next::Remake(why) => {
                    let a = active.remove(i);
                    tracing::warn!(query = %a.query, reason = %why, "Making the slice's query again.");
                    if let Some(new) = self.create(a.from).await? {
                        active.push(new);
                    }
                }
            }
        }
        Ok(())
    }

    fn decide(&mut self, a: &Active) -> Next {
        let Some(q) = &a.info else { return Next::Keep };
        let len = self.plan.slice(a.from).map(|s| s.len());
        let splittable = len.is_some_and(|l| l > super::plan::MIN_SLICE);
        match a.status {
            QueryStatus::Succeeded => {
                let over = q.is_record_count_limit_exceeded == Some(true)
                    || q.approximate_returned_record_count.unwrap_or(0) > MAX_SLICE_RECORDS;
                if over && splittable {
                    tracing::info!(query = %q.id, records = q.approximate_returned_record_count.unwrap_or(0),
                        "The query found more records than one query may hold; splitting its range.");
                    return Next::Split;
                }
                if over {
                    let id = self.plan.slice(a.from).map(|s| s.id()).unwrap_or_default();
                    self.summary.problem(format!(
                        "{id}: the service found more records in this minute than one query returns ({:?} of about {:?}); the rest are missing",
                        q.record_count_limit,
                        q.approximate_returned_record_count
                    ));
                }
                Next::Keep
            }
            ref st if st.is_lost() => {
                self.summary.queries_failed += 1;
                // Counted and forgotten in one save: a stop before the next query is made
                // cannot count this failure twice.
                if let Some(s) = self.plan.slice_mut(a.from) {
                    s.failed_queries += 1;
                    s.query = None;
                }
                if let Err(e) = self.plan.save(&self.dir) {
                    return Next::GiveUp(e.to_string());
                }
                let failed = self.failed_now.entry(a.from).or_default();
                *failed += 1;
                if *failed < self.settings.attempts.max(1) {
                    Next::Remake(format!("the service reported the query {st}"))
                } else {
                    Next::GiveUp(format!(
                        "the service reported its query {st} {failed} times"
                    ))
                }
            }
            ref st if a.since.elapsed() > self.settings.query_timeout => Next::GiveUp(format!(
                "its query is still {st} after {}; run again to continue with it",
                humantime::format_duration(self.settings.query_timeout)
            )),
            _ => Next::Keep,
        }
    }
}
