//! `scanwatch demo`: the whole product against the simulated network.
//!
//! The simulated world (the engine and the `Simulated` prober) runs on a thread of its own, on a
//! current-thread runtime whose clock is paused and driven forward here: at `speed` simulated
//! seconds per real second, or as fast as the machine goes. Everything in that world (probe
//! timeouts, latencies, the devices' timers, event timestamps) sees the same simulated time, so a
//! story plays out the same at any speed. The views run on the normal runtime and read the events
//! through the usual channel, and steer the scan through the usual `EngineControl`.
//!
//! At `--speed max` there is no real time to keep to: the world and the output share one
//! current-thread runtime with a paused clock (see `run::run_in_paused_runtime`), so the clock
//! moves only when the output has taken every event and sent the detector's sentinels, and a
//! seed always gives the same scan, alarms included.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::DemoSpeed;
use crate::engine::{self, EngineControl, EngineOptions, ScanPlan};
use crate::error::Failure;
use crate::event::{ScanEvent, ScanParams};
use crate::monitor::Monitor;
use crate::sim::{Scenario, Simulated};
use crate::targets::{self, TargetSet};

/// Longest simulated step taken at once, so events keep millisecond resolution at any speed.
const MAX_STEP: Duration = Duration::from_millis(1);

/// What the demo scans, resolved from a scenario.
pub struct DemoPlan {
    pub scenario: Scenario,
    pub targets: TargetSet,
    pub ports: Vec<u16>,
}

impl DemoPlan {
    /// The scenario's targets and ports, checked.
    pub fn new(scenario: Scenario) -> Result<Self, Failure> {
        let origin = format!("scenario `{}`", scenario.name);
        let specs = targets::parse_target_args(&scenario.targets())
            .map_err(|e| Failure::usage(format!("{origin}: targets: {e}")))?;
        let resolved = targets::resolved_without_lookup(specs).map_err(|name| {
            Failure::usage(format!(
                "{origin}: target `{name}` is a hostname; simulated hosts are addresses"
            ))
        })?;
        let ports = crate::ports::parse_port_spec(scenario.port_spec())
            .map_err(|e| Failure::usage(format!("{origin}: ports: {e}")))?;
        Ok(DemoPlan {
            targets: TargetSet::new(resolved, Vec::new()),
            ports,
            scenario,
        })
    }

    /// The scan plan over the scenario's targets and ports, in the port order of `seed`.
    pub fn scan_plan(&self, seed: u64) -> ScanPlan {
        let hosts = u64::try_from(self.targets.upper_bound()).unwrap_or(u64::MAX);
        ScanPlan::new(
            Box::new(self.targets.hosts()),
            Some(hosts),
            self.ports.clone().into(),
            seed,
        )
    }
}

/// Runs a whole simulated scan with `monitor` in lockstep: each event is folded (and handed to
/// `on_event`) and the detector's sentinel requests go back to the engine before the simulated
/// clock moves on, so a scenario and a seed always give the same result. Call it on a
/// current-thread runtime whose clock is paused (`#[tokio::test(start_paused = true)]`).
pub async fn run_lockstep(
    plan: &DemoPlan,
    seed: u64,
    params: ScanParams,
    monitor: &mut Monitor,
    mut on_event: impl FnMut(&ScanEvent),
) {
    let mut running = engine::start(
        Simulated::new(&plan.scenario, seed),
        plan.scan_plan(seed),
        params,
        EngineOptions::default(),
    );
    while let Some(event) = running.events.recv().await {
        monitor.apply(&event);
        monitor.forward_requests(&running.control);
        on_event(&event);
    }
}

/// The pacing a scenario suggests (concurrency, timeout, rate), with one retry and the scan
/// defaults for the rest.
pub fn suggested_params(scenario: &Scenario) -> ScanParams {
    let defaults = crate::config::ScanDefaults::default();
    ScanParams {
        concurrency: scenario
            .suggested_concurrency()
            .unwrap_or(defaults.concurrency),
        max_per_host: defaults.max_per_host,
        timeout: scenario.suggested_timeout().unwrap_or(defaults.timeout),
        retries: defaults.retries,
        rate: scenario.suggested_rate().or(defaults.rate),
        paused: false,
    }
}

/// A running simulated scan.
pub struct SimWorld {
    pub control: EngineControl,
    pub events: mpsc::Receiver<ScanEvent>,
    thread: std::thread::JoinHandle<()>,
}

impl SimWorld {
    /// Starts the simulated world on its own thread.
    pub fn start(
        plan: DemoPlan,
        params: ScanParams,
        seed: u64,
        speed: DemoSpeed,
    ) -> Result<SimWorld, Failure> {
        let (handoff_tx, handoff_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("simulated-world".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .start_paused(true)
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handoff_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let scan_plan = plan.scan_plan(seed);
                    let prober = Simulated::new(&plan.scenario, seed);
                    let running =
                        engine::start(prober, scan_plan, params, EngineOptions::default());
                    if handoff_tx
                        .send(Ok((running.control.clone(), running.events)))
                        .is_err()
                    {
                        return;
                    }
                    drive_clock(running.task, speed).await;
                });
            })
            .map_err(|e| Failure::runtime(format!("cannot start the simulated network: {e}")))?;
        let (control, events) = handoff_rx
            .recv()
            .map_err(|_| Failure::runtime("the simulated network did not start"))?
            .map_err(|e| Failure::runtime(format!("cannot start the simulated network: {e}")))?;
        Ok(SimWorld {
            control,
            events,
            thread,
        })
    }

    /// Waits for the world's thread after the scan finished.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Moves the paused clock forward at `speed`, until the engine is done.
async fn drive_clock(task: tokio::task::JoinHandle<crate::event::FinishReason>, speed: DemoSpeed) {
    let factor = match speed {
        // The paused clock jumps to the next timer whenever the world is idle.
        DemoSpeed::Max => {
            let _ = task.await;
            return;
        }
        DemoSpeed::Factor(x) => x,
    };
    let real_start = std::time::Instant::now();
    let sim_start = tokio::time::Instant::now();
    while !task.is_finished() {
        // Let everything that can run now, run; this task stays runnable, so the runtime never
        // idles and never jumps the clock on its own.
        tokio::task::yield_now().await;
        let target = sim_start + real_start.elapsed().mul_f64(factor);
        let now = tokio::time::Instant::now();
        if target > now {
            tokio::time::advance((target - now).min(MAX_STEP)).await;
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    let _ = task.await;
}
