//! The node's replication figures in `/metrics`, next to the API's request metrics.
//!
//! Sampled once a second from the node's status rather than updated on every event, so
//! that the driver's hot path never touches the registry.

use std::time::Duration;

use cairn_net::api::Metrics;
use cairn_net::runtime::NodeRuntime;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    node: String,
}

#[derive(Clone, Default)]
struct Gauges {
    term: Gauge,
    commit: Gauge,
    applied: Gauge,
    persisted: Gauge,
    is_leader: Gauge,
    leader: Gauge,
    fsync_micros: Gauge,
    lag_entries: Family<PeerLabels, Gauge>,
    lag_millis: Family<PeerLabels, Gauge>,
    remote_lag_entries: Gauge,
    remote_lag_millis: Gauge,
}

/// Registers the gauges in `metrics` and keeps them up to date while the runtime lives.
pub fn register(metrics: &Metrics, runtime: NodeRuntime) {
    let g = Gauges::default();
    {
        let mut r = metrics.registry();
        r.register("raft_term", "Current term", g.term.clone());
        r.register(
            "raft_commit_index",
            "Highest committed log index known",
            g.commit.clone(),
        );
        r.register(
            "raft_applied_index",
            "Highest applied log index",
            g.applied.clone(),
        );
        r.register(
            "raft_persisted_index",
            "Highest log index on this node's disk",
            g.persisted.clone(),
        );
        r.register("raft_is_leader", "1 on the leader", g.is_leader.clone());
        r.register(
            "raft_leader",
            "Id of the leader this node follows (-1: none known)",
            g.leader.clone(),
        );
        r.register(
            "disk_fsync_micros",
            "Duration of the most recent fsync",
            g.fsync_micros.clone(),
        );
        r.register(
            "replication_lag_entries",
            "On the leader: entries each node has not confirmed on disk",
            g.lag_entries.clone(),
        );
        r.register(
            "replication_lag_milliseconds",
            "On the leader: age of the oldest entry each node has not confirmed",
            g.lag_millis.clone(),
        );
        r.register(
            "remote_replica_lag_entries",
            "On the leader: entries the remote replica lacks",
            g.remote_lag_entries.clone(),
        );
        r.register(
            "remote_replica_lag_milliseconds",
            "On the leader: age of the oldest entry the remote replica lacks",
            g.remote_lag_millis.clone(),
        );
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            sample(&g, &runtime);
        }
    });
}

fn sample(g: &Gauges, runtime: &NodeRuntime) {
    let s = runtime.status();
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    g.term.set(i(s.term));
    g.commit.set(i(s.commit));
    g.applied.set(i(s.applied));
    g.persisted.set(i(s.persisted));
    g.is_leader.set(i64::from(s.leader == Some(s.id)));
    g.leader.set(s.leader.map_or(-1, |l| i64::from(l.0)));
    g.fsync_micros
        .set(i(runtime.last_fsync().as_micros() as u64));
    runtime.inspect(|node| {
        for id in node.progress().keys() {
            if let Some(lag) = node.lag_of(*id) {
                let labels = PeerLabels {
                    node: id.to_string(),
                };
                g.lag_entries.get_or_create(&labels).set(i(lag.entries));
                g.lag_millis.get_or_create(&labels).set(i(lag.millis));
            }
        }
        if let Some(worst) = node.remote_lags().into_iter().max_by_key(|l| l.millis) {
            g.remote_lag_entries.set(i(worst.entries));
            g.remote_lag_millis.set(i(worst.millis));
        }
    });
}
