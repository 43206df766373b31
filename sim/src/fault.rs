//! Faults: what can be done to a running region, scheduled at a simulated time with
//! [`Sim::schedule`] or applied at once with [`Sim::apply`].
//!
//! Every fault is recorded (time, fault, whether it had an effect) in [`Sim::fault_log`] and
//! counted by kind in [`Stats::faults`](crate::Stats::faults).

use std::time::Duration;

use cairn_core::replication::NodeId;

use crate::backup::StoreFault;
use crate::clock::Micros;
use crate::disk::HardSlot;
use crate::event::Event;
use crate::network::LinkFaults;
use crate::sim::Sim;

/// Which nodes a fault concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Node(NodeId),
    /// Every node of a zone (`a`, `b`, `r`).
    Zone(String),
    /// Every node of a region.
    Region(String),
    All,
}

impl Target {
    pub fn zone(zone: &str) -> Target {
        Target::Zone(zone.into())
    }

    pub fn region(region: &str) -> Target {
        Target::Region(region.into())
    }
}

impl From<NodeId> for Target {
    fn from(id: NodeId) -> Self {
        Target::Node(id)
    }
}

/// Something that happens to the region.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The nodes crash: memory and unsynced writes are lost; the write in progress is torn
    /// with probability [`DiskConfig::torn_on_crash`](crate::DiskConfig::torn_on_crash).
    /// Clients waiting on them get `NodeDown`.
    Crash(Target),
    /// A crash that always tears the write in progress (if any is pending).
    CrashTorn(Target),
    /// Crashed nodes start again from their disks.
    Restart(Target),
    /// A crash followed by a restart after `down_for`.
    CrashRestart {
        target: Target,
        down_for: Duration,
    },
    /// The machines are gone with their disks, for good.
    Lose(Target),
    /// A new machine with an empty disk takes the node's id (crashing and discarding the
    /// old one if still there); it catches up from the others. It starts as a node whose log
    /// was damaged (it abstains from elections until caught up), since the host it replaces
    /// may have voted or acknowledged entries its empty disk does not remember.
    ///
    /// With core as of this writing a replacement does not catch up from the leader (the
    /// leader never resends below what it believes the node has), and an abstaining voter
    /// whose vote every quorum needs leaves the region leaderless: see the crate docs.
    Replace(NodeId),
    /// Cuts every link between the target and the rest, both ways.
    Isolate(Target),
    /// Cuts one direction only: `from` can no longer reach `to`.
    Cut {
        from: NodeId,
        to: NodeId,
    },
    HealLink {
        from: NodeId,
        to: NodeId,
    },
    /// Removes every partition (link faults stay).
    Heal,
    /// The same link faults on every link.
    Network(LinkFaults),
    /// Link faults on one directed link.
    Link {
        from: NodeId,
        to: NodeId,
        faults: LinkFaults,
    },
    /// Flips a bit in the CRC or payload of a synced log record (not the last: a bad last
    /// record reads as a torn write); the next restart finds it, cuts the log there, and
    /// tells the node (`log_damaged`). The same core caveats as [`Fault::Replace`] apply.
    CorruptLog(NodeId),
    /// Flips a bit in a written hard-state slot.
    CorruptHardState(NodeId, HardSlot),
    /// Sets the fsync latency of the target's disks (`None`: back to the configured one). A
    /// slow disk in one zone is what makes a commit that skips that zone visible at the
    /// acknowledgement.
    DiskLatency {
        target: Target,
        fsync: Option<(Duration, Duration)>,
    },
    /// Sets a node's clock skew.
    ClockSkew {
        node: NodeId,
        skew_ms: i64,
    },
    /// Clients stop issuing new operations (outstanding ones still complete).
    StopWorkload,
    ResumeWorkload,
    /// Something happens to a backup region's object store (`backup-x`, `backup-y`).
    Store {
        region: String,
        fault: StoreFault,
    },
    /// A recovery rebuilt the region elsewhere under `generation`, and a node of it (`from`,
    /// outside the simulated cluster's own generation) reaches the target's nodes: each
    /// running one gets a message of that generation (the new region's nodes themselves are
    /// not simulated). The links must be up for it to arrive.
    NewGeneration {
        from: NodeId,
        generation: u64,
        target: Target,
    },
}

impl Fault {
    /// A short name, for counters and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::CrashTorn(_) => "crash_torn",
            Fault::Restart(_) => "restart",
            Fault::CrashRestart { .. } => "crash_restart",
            Fault::Lose(_) => "lose",
            Fault::Replace(_) => "replace",
            Fault::Isolate(_) => "isolate",
            Fault::Cut { .. } => "cut",
            Fault::HealLink { .. } => "heal_link",
            Fault::Heal => "heal",
            Fault::Network(_) => "network_faults",
            Fault::Link { .. } => "link_faults",
            Fault::CorruptLog(_) => "corrupt_log",
            Fault::CorruptHardState(..) => "corrupt_hard_state",
            Fault::DiskLatency { .. } => "disk_latency",
            Fault::ClockSkew { .. } => "clock_skew",
            Fault::StopWorkload => "stop_workload",
            Fault::ResumeWorkload => "resume_workload",
            Fault::NewGeneration { .. } => "new_generation",
            Fault::Store { fault, .. } => match fault {
                StoreFault::Outage { down: true } => "store_down",
                StoreFault::Outage { down: false } => "store_up",
                StoreFault::UploadLatency(_) => "store_latency",
                StoreFault::Corrupt(_) => "store_corrupt",
                StoreFault::Remove(_) => "store_remove",
            },
        }
    }
}

/// A fault as applied.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRecord {
    pub at_us: Micros,
    pub fault: Fault,
    /// Whether it changed anything (crashing a node that is down does not).
    pub effective: bool,
}

impl Sim {
    /// Schedules `fault` at global time `at` (or now, if `at` is past).
    pub fn schedule(&mut self, at: cairn_core::Timestamp, fault: Fault) {
        let at = crate::clock::micros_of(at).max(self.now);
        self.queue.push(at, Event::Fault(Box::new(fault)));
    }

    /// Schedules `fault` after `delay` from now.
    pub fn schedule_in(&mut self, delay: Duration, fault: Fault) {
        let at = self.now + crate::rng::micros(delay);
        self.queue.push(at, Event::Fault(Box::new(fault)));
    }

    /// Applies `fault` now.
    pub fn apply(&mut self, fault: Fault) {
        let effective = self.apply_inner(&fault);
        *self.stats.faults.entry(fault.kind()).or_insert(0) += 1;
        if !effective {
            self.stats.faults_without_effect += 1;
        }
        self.fault_log.push(FaultRecord {
            at_us: self.now,
            fault,
            effective,
        });
    }

    /// The hosts a target names, by index.
    pub(crate) fn resolve(&self, target: &Target) -> Vec<usize> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| match target {
                Target::Node(id) => h.info.id == *id,
                Target::Zone(z) => h.info.zone == *z,
                Target::Region(r) => h.info.region == *r,
                Target::All => true,
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn apply_inner(&mut self, fault: &Fault) -> bool {
        let each = |sim: &mut Sim, target: &Target, f: &mut dyn FnMut(&mut Sim, usize) -> bool| {
            let mut any = false;
            for i in sim.resolve(target) {
                any |= f(sim, i);
            }
            any
        };
        match fault {
            Fault::Crash(t) => each(self, t, &mut |s, i| s.crash(i, None)),
            Fault::CrashTorn(t) => each(self, t, &mut |s, i| s.crash(i, Some(true))),
            Fault::Restart(t) => each(self, t, &mut |s, i| s.restart(i)),
            Fault::CrashRestart { target, down_for } => {
                let crashed = each(self, target, &mut |s, i| s.crash(i, None));
                if crashed {
                    self.schedule_in(*down_for, Fault::Restart(target.clone()));
                }
                crashed
            }
            Fault::Lose(t) => each(self, t, &mut |s, i| s.lose(i)),
            Fault::Replace(id) => {
                self.replace(usize::from(id.0));
                true
            }
            Fault::Isolate(t) => {
                let inside = self.resolve(t);
                self.net.isolate(|id| inside.contains(&usize::from(id.0)));
                !inside.is_empty()
            }
            Fault::Cut { from, to } => {
                self.net.cut(*from, *to);
                true
            }
            Fault::HealLink { from, to } => {
                self.net.heal_link(*from, *to);
                true
            }
            Fault::Heal => {
                self.net.heal();
                true
            }
            Fault::Network(faults) => {
                self.net.set_all_faults(*faults);
                true
            }
            Fault::Link { from, to, faults } => {
                self.net.set_link_faults(*from, *to, *faults);
                true
            }
            Fault::CorruptLog(id) => {
                let i = usize::from(id.0);
                self.hosts[i].disk.corrupt_log(&mut self.rng).is_some()
            }
            Fault::CorruptHardState(id, slot) => {
                let i = usize::from(id.0);
                self.hosts[i]
                    .disk
                    .corrupt_hard_state(*slot, &mut self.rng)
                    .is_some()
            }
            Fault::DiskLatency { target, fsync } => each(self, target, &mut |s, i| {
                s.hosts[i].fsync = *fsync;
                true
            }),
            Fault::ClockSkew { node, skew_ms } => {
                let i = usize::from(node.0);
                let host = &mut self.hosts[i];
                host.clock.set_skew(*skew_ms);
                // The live wakeup was computed with the old skew.
                host.timer = None;
                host.timer_generation += 1;
                self.arm_timer(i);
                true
            }
            Fault::StopWorkload => {
                self.workload.set_stopped(true);
                true
            }
            Fault::ResumeWorkload => {
                self.workload.set_stopped(false);
                for c in 0..self.workload.clients.len() {
                    if self.workload.clients[c].outstanding.is_none() {
                        self.schedule_client(c);
                    }
                }
                true
            }
            Fault::Store { region, fault } => self.apply_store_fault(region, fault),
            Fault::NewGeneration {
                from,
                generation,
                target,
            } => {
                let packet = cairn_core::replication::Packet {
                    generation: *generation,
                    term: 0,
                    msg: cairn_core::replication::Message::PreVoteReply { granted: false },
                };
                let bytes = std::sync::Arc::new(packet.encode());
                let mut any = false;
                for i in self.resolve(target) {
                    let to = self.hosts[i].info.id;
                    if self.hosts[i].is_up() && !self.net.is_cut(*from, to) {
                        self.queue.push(
                            self.now,
                            Event::Deliver {
                                from: *from,
                                to,
                                bytes: std::sync::Arc::clone(&bytes),
                            },
                        );
                        any = true;
                    }
                }
                any
            }
        }
    }
}
