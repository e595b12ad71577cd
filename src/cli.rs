//! Command-line arguments. Every command's `--help` explains it and shows an example.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

/// Rewind: an incident flight recorder for robots and production services.
///
/// An agent keeps the recent past of a machine in memory; when a rule trips
/// it freezes that past (plus a few seconds after) into a bundle and uploads
/// it to a server, which stores it as an incident and shows it on a dashboard.
#[derive(Debug, Parser)]
#[command(name = "rewind", version, propagate_version = true)]
#[command(
    after_help = "Examples:\n  rewind demo                                  # see it work end to end\n  rewind server --state-dir /var/lib/rewind\n  rewind agent --server http://rewind:8420 --rules rules.yaml\n\nExit codes: 0 ok, 1 failure, 2 bad arguments or configuration.\nLogs go to stderr; set REWIND_LOG=debug for more."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the edge agent: sample this machine, evaluate rules, capture and upload bundles.
    #[command(
        after_help = "Example:\n  rewind agent --server http://127.0.0.1:8420 --rules examples/rules/demo.yaml\n\nThe agent samples CPU, memory and load at 10 Hz into a ring buffer of the last\n60 s. When a rule trips it keeps recording for --post-trigger, then writes a\nbundle into <state-dir>/spool and uploads it, retrying until the server has it."
    )]
    Agent(AgentArgs),
    /// Run the server: ingest bundles, store incidents, serve the API and dashboard.
    #[command(
        after_help = "Example:\n  rewind server --listen 0.0.0.0:8420 --state-dir /var/lib/rewind\n\nStorage is embedded SQLite in <state-dir>/rewind.db unless --database-url\nnames a PostgreSQL server (postgres://user@host/db)."
    )]
    Server(ServerArgs),
    /// Run a server and an agent here, cause a short CPU load, and show the incident.
    #[command(
        after_help = "Example:\n  rewind demo                               # then open the printed URL\n  rewind demo --headless --exit-after-incident --port 0\n\nThe load is real but bounded: busy threads on every core for at most 20 s,\nstopped as soon as the rule trips."
    )]
    Demo(DemoArgs),
    /// Work with rules files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Work with incident bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Measure Rewind's own costs; prints a table, or JSON with --json.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Run the agent with the default collectors at 10 Hz and report its costs.
    #[command(
        after_help = "Example:\n  rewind bench agent --seconds 30\n\nReports the agent's CPU share of one core, peak RSS, samples per second, ring\nbytes per sample, the time one collection pass takes, and ring push latency,\neach against a baseline measured in the same run."
    )]
    Agent {
        /// How long to run the agent.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Feed a generated rule set simulated samples and report the detection engine's cost.
    #[command(
        after_help = "Example:\n  rewind bench rules                 # 1,000 rules, 10,000 series, 30 s at 10 Hz\n  rewind bench rules --seconds 5 --json\n\nThe rule set mixes literal and wildcard thresholds (`svc.*.latency_ms`), change,\ntrend, absent and composite rules; the values are pseudo-random but the same on\nevery run. Everything runs on one thread. The table gives samples per second,\nthe cost per sample (mean, and p50/p99 over the 10 Hz ticks), rule evaluations\nper second and the real-time factor (how many times faster than 10,000 series at\n10 Hz arrive), next to a baseline measured in the same run: the same loop doing\none hash-map lookup per sample."
    )]
    Rules(BenchRulesArgs),
    /// Time trigger-to-sealed-bundle: ring snapshot plus bundle write and fsync.
    #[command(
        after_help = "Examples:\n  rewind bench capture                       # 100 series at 10 Hz for 60 s\n  rewind bench capture --seconds 2 --series 5 --json\n\nFills an agent ring with --series series at 10 Hz for --seconds (pseudo-random\nbut the same every run) plus a few hundred events, then repeatedly snapshots\nthe window and writes the bundle (zip, zstd MCAP recording, fsync, rename) into\na temp directory, as the agent does when a rule trips; the post-trigger wait is\nexcluded. Reports p50/p99 times against the 100 ms target, the bundle and\nrecording sizes and bytes per sample, next to a baseline measured in the same\nrun: the raw (timestamp, value) pairs written to one file with fsync."
    )]
    Capture(BenchCaptureArgs),
}

/// `rewind bench capture` flags.
#[derive(Debug, Args)]
pub(crate) struct BenchCaptureArgs {
    /// Seconds of history in the bundle (10 samples a second per series).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Series in the ring (the default collectors produce about 100).
    #[arg(long, default_value_t = 100)]
    pub series: usize,
    /// Bundles written; the figures are over these runs.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `rewind bench rules` flags.
#[derive(Debug, Args)]
pub(crate) struct BenchRulesArgs {
    /// Simulated seconds of samples (10 ticks a second).
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Rules in the generated rule set.
    #[arg(long, default_value_t = 1000)]
    pub rules: usize,
    /// Series sampled at every tick.
    #[arg(long, default_value_t = 10_000)]
    pub series: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AgentArgs {
    #[command(subcommand)]
    pub action: Option<AgentAction>,
    #[command(flatten)]
    pub run: AgentRunArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AgentAction {
    /// Run every enabled collector once (twice where a rate needs it) and print what it sees.
    #[command(
        after_help = "Example:\n  rewind agent snapshot\n  rewind agent snapshot --json | jq '.readings[] | select(.series | startswith(\"pressure.\"))'"
    )]
    Snapshot {
        /// Agent config file (YAML) whose collectors to run [default: the defaults].
        #[arg(long, env = "REWIND_AGENT_CONFIG")]
        config: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the agent's recent starts, stops and crashes, and its watched processes' events.
    #[command(
        after_help = "Example:\n  rewind agent history --state-dir /var/lib/rewind-agent\n  rewind agent history --json | jq '.runs[] | select(.status == \"crashed\")'\n\nEvery agent start appends a row to <state-dir>/history.jsonl and a clean stop\ncloses it; a run never closed crashed (or was killed). The second table lists\nwatched processes that went missing or restarted. Newest first."
    )]
    History {
        #[command(flatten)]
        at: StateDirArgs,
        /// Rows shown per table, newest first (0 shows every row kept).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Check the spooled bundles; move damaged ones to quarantine/ and delete stale temp files.
    #[command(
        after_help = "Example:\n  rewind agent fsck --state-dir /var/lib/rewind-agent\n\nEvery bundle in <state-dir>/spool and spool/rejected is validated like the server\ndoes (zip, manifest, sizes and SHA-256 of every file). A damaged one is moved to\nspool/quarantine/, never deleted. Temp files of bundles being written\n(.rewind-bundle-*) older than a minute are left over from a crash and are deleted.\nSafe while the agent runs.\n\nExit codes: 0 everything whole, 1 something was quarantined (or could not be\nmoved), 2 bad arguments or no state directory."
    )]
    Fsck {
        #[command(flatten)]
        at: StateDirArgs,
        /// Print JSON instead of a list.
        #[arg(long)]
        json: bool,
    },
}

/// Where an agent keeps its state, for commands that read it.
#[derive(Debug, Args)]
pub(crate) struct StateDirArgs {
    /// The agent's state directory [default: `state_dir` of --config, else .rewind-agent].
    #[arg(long, env = "REWIND_AGENT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The agent's config file, to find its state directory.
    #[arg(long, env = "REWIND_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AgentRunArgs {
    /// Agent config file (YAML); flags below override it. See examples/agent.yaml.
    #[arg(long, env = "REWIND_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the documented default config file and exit.
    #[arg(long)]
    pub print_default_config: bool,
    /// Base URL of the Rewind server; without it bundles stay in the spool.
    #[arg(long, env = "REWIND_SERVER")]
    pub server: Option<String>,
    /// Rules file (YAML); see docs/rules.md. Required here or in the config file.
    #[arg(long, env = "REWIND_RULES")]
    pub rules: Option<PathBuf>,
    /// This machine's name in incidents [default: the host name].
    #[arg(long, env = "REWIND_DEVICE_ID")]
    pub device_id: Option<String>,
    /// Where the agent keeps its spool of bundles [default: .rewind-agent].
    #[arg(long, env = "REWIND_AGENT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Time between two samples of the system collectors [default: 100ms].
    #[arg(long, value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// History kept, and covered by a bundle before its trigger (at most 300s) [default: 60s].
    #[arg(long, value_parser = parse_duration)]
    pub window: Option<Duration>,
    /// Recording kept after a trigger, before the bundle is written (at most 300s) [default: 3s].
    #[arg(long, value_parser = parse_duration)]
    pub post_trigger: Option<Duration>,
    /// Root of the proc filesystem (for tests and containers).
    #[arg(long, hide = true)]
    pub proc_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Address to listen on (port 0 picks a free port; the URL is printed on stdout).
    #[arg(long, env = "REWIND_LISTEN", default_value = "127.0.0.1:8420")]
    pub listen: SocketAddr,
    /// Directory for the embedded database and the bundle files.
    #[arg(long, env = "REWIND_STATE_DIR", default_value = ".rewind-server")]
    pub state_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the state dir].
    #[arg(long, env = "REWIND_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest bundle accepted, in bytes.
    #[arg(long, env = "REWIND_MAX_BUNDLE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_bundle_bytes: u64,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory for the demo's database, bundles and spool.
    #[arg(long, default_value = ".rewind-demo")]
    pub state_dir: PathBuf,
    /// Port for the dashboard on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8420)]
    pub port: u16,
    /// Print no instructions for a person; just report what happens.
    #[arg(long)]
    pub headless: bool,
    /// Exit 0 as soon as the incident is stored (for tests and scripts).
    #[arg(long)]
    pub exit_after_incident: bool,
    /// Give up (exit 1) when no incident is stored within this time.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Check a rules file and list its rules; exit 2 with every problem found.
    #[command(
        after_help = "Example:\n  rewind rules check examples/rules/demo.yaml\n\nAlso warns (exit 0) when a rule names a series the agent does not collect but\nthat is close to one it does: `cpu.total.busy_pc` for `cpu.total.busy_pct`."
    )]
    Check {
        /// The rules file.
        file: PathBuf,
    },
    /// Print every rule of a rules file in plain words: when it fires and what it captures.
    #[command(
        after_help = "Example:\n  rewind rules explain examples/rules/demo.yaml\n\nFor each rule: its severity and type, the condition in words, how long it must\nhold, hysteresis, dry_run, cooldown, max_bundles, what its bundles capture and\nits labels; then the budgets over all rules."
    )]
    Explain {
        /// The rules file.
        file: PathBuf,
    },
    /// Replay recorded bundles through a rules file and show what would fire, when, and why.
    #[command(
        after_help = "Examples:\n  rewind rules test rules.yaml --bundle incident_20261123T100005Z_cpu-saturated.zip\n  rewind rules test rules.yaml --bundle a.zip --bundle b.zip --expect-fire \"CPU saturated\"\n  rewind rules test rules.yaml --bundle a.zip --json\n\nTest a rule change on real incidents before it reaches a robot. Each bundle's\nsamples are fed, in time order, to a fresh engine, which is then advanced to the\nend of the bundle's window. The table lists every state change (pending, firing,\nresolved, cancelled) with its time relative to the bundle's recorded trigger and\nwhat the agent would do; then whether the rule that originally fired still fires,\nand when compared with the recording. What the agent would do is one of: capture\n(a bundle), pre-record (the rule captures from pending on, so recording starts\nearly), dry run, suppressed (by its cooldown or the warning budget), - (nothing).\n\nThe bundle's series and events (logs, process and node events, deploys) are\nreplayed in time order. A bundle holds only its window: the history before it is\nunknown.\nReplaying an MCAP recording (--recording) is planned.\n\nExit codes: 0 replayed (whether or not anything fired), 1 an --expect-fire rule\ndid not fire in some bundle, 2 a bad rules file or bundle."
    )]
    Test {
        /// The rules file.
        file: PathBuf,
        /// A bundle (zip) to replay; give several to replay each in turn.
        #[arg(long = "bundle", value_name = "BUNDLE", required = true)]
        bundles: Vec<PathBuf>,
        /// Exit 1 unless this rule fires in every bundle (repeatable; for CI).
        #[arg(long, value_name = "RULE")]
        expect_fire: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BundleCommand {
    /// Verify a bundle (manifest, hashes, sizes, contents) and summarise it.
    #[command(
        after_help = "Example:\n  rewind bundle verify .rewind-agent/spool/incident_20261123T100005Z_cpu-saturated.zip"
    )]
    Verify {
        /// The bundle zip.
        file: PathBuf,
        /// Print the manifest as JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Summarise a bundle: trigger, window, device, counts, losses, notes and its files.
    #[command(
        after_help = "Examples:\n  rewind bundle inspect incident_20261123T100005Z_cpu-saturated.zip\n  rewind bundle inspect incident.zip --json | jq .counts\n\nThe bundle is validated completely first (like `rewind bundle verify`); a bad one\nis named with its error code and the command exits 1."
    )]
    Inspect {
        /// The bundle zip.
        file: PathBuf,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Validate a bundle, then unpack its files into a new or empty directory.
    #[command(
        after_help = "Example:\n  rewind bundle extract incident.zip ./incident\n\nNothing is written unless the whole bundle is valid. Only the files its manifest\nlists are written, each under DIR by its relative path; none may replace an\nexisting file. DIR must not exist or be empty. On any error everything written\nis removed again. Exit 1 on a bad bundle or a write failure."
    )]
    Extract {
        /// The bundle zip.
        file: PathBuf,
        /// Directory to write into (created if missing; must be empty).
        dir: PathBuf,
    },
    /// Print the bundle's key metrics and events side by side, one row per step, around T+0.
    #[command(
        after_help = "Examples:\n  rewind bundle timeline incident.zip\n  rewind bundle timeline incident.zip --step 0.5 --series 'cpu.*' --series memory.available_bytes\n\nRows are spaced --step seconds apart, aligned on the trigger (T+0.0s). Each\nmetric cell is the last sample at or before the row's time; the events column\nlists the events since the previous row. Default columns: the trigger's evidence\nseries, cpu.total.busy_pct, memory.available_bytes, then topic.*.rate_hz and\nnode.*.alive; at most 6."
    )]
    Timeline {
        /// The bundle zip.
        file: PathBuf,
        /// Seconds between rows.
        #[arg(long, default_value_t = 1.0)]
        step: f64,
        /// Series to show (`*` matches any run of characters); repeatable.
        #[arg(long = "series", value_name = "PATTERN")]
        series: Vec<String>,
    },
}

/// Parses `100ms`, `2s`, `1m30s`, `1.5s` (the same forms as the config file).
fn parse_duration(s: &str) -> Result<Duration, String> {
    rewind_agent::config::duration::parse(s)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("-1s").unwrap_err().contains("-1s"));
        assert!(parse_duration("soon").unwrap_err().contains("write e.g."));
    }
}
