//! `backoffice jobs ...`: scheduled jobs, their history, run now, retry.

use std::time::Duration;

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::clock::rfc3339_ms;
use backoffice_host::error::HostError;
use backoffice_host::scheduler::WorkConfig;
use backoffice_host::store::JobFilter;

/// Leases and retries of jobs and event deliveries.
#[derive(Debug, clap::Args)]
pub struct WorkArgs {
    /// How long a running job or delivery is leased to its worker before another
    /// worker may take it over (a worker that died), in milliseconds.
    #[arg(
        long,
        env = "BACKOFFICE_LEASE_MS",
        default_value_t = 120_000,
        global = true
    )]
    lease_ms: u64,
    /// Attempts of a job run or delivery before it is dead-lettered.
    #[arg(
        long,
        env = "BACKOFFICE_MAX_ATTEMPTS",
        default_value_t = 5,
        global = true
    )]
    max_attempts: u32,
    /// First retry delay in milliseconds; doubles per attempt, at most 5 minutes.
    #[arg(
        long,
        env = "BACKOFFICE_BACKOFF_MS",
        default_value_t = 1000,
        global = true
    )]
    backoff_ms: u64,
    /// How often `serve` looks for due work, in milliseconds.
    #[arg(long, env = "BACKOFFICE_POLL_MS", default_value_t = 500, global = true)]
    poll_ms: u64,
}

impl WorkArgs {
    pub fn config(&self) -> WorkConfig {
        WorkConfig {
            lease: Duration::from_millis(self.lease_ms.max(1)),
            max_attempts: self.max_attempts.max(1),
            backoff: Duration::from_millis(self.backoff_ms),
            poll: Duration::from_millis(self.poll_ms.max(1)),
            ..WorkConfig::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List scheduled jobs and one-off runs with their state.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show run history (outcome, duration, error), newest first.
    History {
        /// Only runs of this job id.
        #[arg(long)]
        job: Option<i64>,
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a declared job of a plugin for a tenant now, in this process (with
    /// `--queue`, leave it to the running `serve`).
    Run {
        /// Plugin id.
        plugin: String,
        /// Job name.
        job: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// JSON payload passed to the job.
        #[arg(long, default_value = "null")]
        payload: String,
        /// Only queue the run for `serve` instead of running it here.
        #[arg(long)]
        queue: bool,
    },
    /// Revive a failed (dead-lettered) job so it runs again.
    Retry {
        /// Job id from `jobs list`.
        id: i64,
    },
}

pub fn run(host: &Host, cmd: &JobsCommand) -> Result<(), HostError> {
    match cmd {
        JobsCommand::List { tenant, json } => {
            let jobs = host.jobs(&JobFilter {
                tenant: tenant.clone(),
                plugin: None,
            })?;
            let header = format!(
                "{:<6} {:<12} {:<16} {:<20} {:<14} {:<10} {:<24} {:<8} LAST ERROR",
                "ID", "TENANT", "PLUGIN", "JOB", "CRON", "STATE", "NEXT RUN", "ATTEMPTS"
            );
            super::print_list(&jobs, *json, Some("no jobs"), &header, |j| {
                format!(
                    "{:<6} {:<12} {:<16} {:<20} {:<14} {:<10} {:<24} {:<8} {}",
                    j.id,
                    j.tenant,
                    j.plugin,
                    j.job,
                    j.cron.as_deref().unwrap_or("once"),
                    j.state,
                    rfc3339_ms(j.next_run_ms),
                    j.attempts,
                    j.last_error.as_deref().unwrap_or("")
                )
            })
        }
        JobsCommand::History { job, limit, json } => {
            let runs = host.job_history(*job, *limit)?;
            let header = format!(
                "{:<6} {:<6} {:<12} {:<16} {:<20} {:<8} {:<24} {:<10} {:<10} ERROR",
                "RUN",
                "JOB",
                "TENANT",
                "PLUGIN",
                "NAME",
                "ATTEMPT",
                "STARTED",
                "DURATION",
                "OUTCOME"
            );
            super::print_list(&runs, *json, Some("no job runs yet"), &header, |r| {
                format!(
                    "{:<6} {:<6} {:<12} {:<16} {:<20} {:<8} {:<24} {:<10} {:<10} {}",
                    r.id,
                    r.job_id,
                    r.tenant,
                    r.plugin,
                    r.job,
                    r.attempt,
                    rfc3339_ms(r.started_ms),
                    r.duration_ms.map(|d| format!("{d}ms")).unwrap_or_default(),
                    r.outcome,
                    r.error.as_deref().unwrap_or("")
                )
            })
        }
        JobsCommand::Run {
            plugin,
            job,
            tenant,
            payload,
            queue,
        } => {
            let id = host.run_job_now(tenant, plugin, job, payload)?;
            if !*queue {
                host.run_due()?;
                let runs = host.job_history(Some(id), 1)?;
                return super::print_json(&runs);
            }
            println!("scheduled job {id} ({plugin} {job} for {tenant}) to run now");
            Ok(())
        }
        JobsCommand::Retry { id } => {
            let j = host.retry_job(*id)?;
            println!(
                "job {} ({} {} for {}) will run again now",
                j.id, j.plugin, j.job, j.tenant
            );
            Ok(())
        }
    }
}
