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
        after_help = "Examples:\n  rewind server --state-dir /var/lib/rewind\n  rewind server --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem\n  rewind server --config /etc/rewind/server.yaml\n  rewind server --print-config > server.yaml\n\nStorage is embedded SQLite in <state-dir>/rewind.db unless --database-url\nnames a PostgreSQL server (postgres://user@host/db). Every setting is a flag, a\nREWIND_* variable and a key of the --config file (that order wins); see\ndocs/operations.md. A non-loopback --listen needs --tls-cert/--tls-key, or\n--insecure on a trusted network. Every API route needs a token: make the first\none with `rewind token create --name you --role admin`."
    )]
    Server(ServerArgs),
    /// Make, list and revoke API tokens (directly in the server's database).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Tell the server about deploys (from CI or a deploy hook), or judge recorded ones offline.
    #[command(subcommand)]
    Deploy(DeployCommand),
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
    /// Score a recorded series offline, causally: an anomaly score per row and one alarm per episode.
    #[command(
        after_help = "Examples:\n  rewind detect --input latency.csv --output scores.csv\n  rewind detect --input latency.csv --output scores.csv --rules rules.yaml --rule \"Latency shifted\"\n  rewind detect --input nab/data/realKnownCause/machine_temperature_system_failure.csv \\\n      --output scores.csv --baseline 4h\n\nThe input is CSV `timestamp,value` (a header line is optional; timestamps RFC 3339,\n`2014-04-01 00:00:00` as UTC, or Unix seconds). Rows are scored in file order by\na rolling detector that sees only the rows before (no look-ahead): a robust\nbaseline of the last --baseline (median and spread, learned once it holds 20\nsamples, frozen while a shift is under way) and a two-sided CUSUM on the\ndeviations. The output has one row per usable input row:\n  timestamp,value,anomaly_score,alarm\nanomaly_score is the CUSUM statistic over its limit (1 or more: in alarm);\nalarm is 1 on the first row of an episode only. The file is written whole or not\nat all (a temp file renamed into place).\n\n--rules takes the parameters of a `change` rule (the one named by --rule, else\nthe first): baseline, min_samples, slack (k), limit (h) and direction; see\ndocs/rules.md. A bad row is skipped and named as FILE:LINE on stderr; an input\nwith no usable row is an error.\n\nExit codes: 0 written, 1 the output could not be written, 2 bad arguments, rules\nor input."
    )]
    Detect(DetectArgs),
    /// Read and repair recorder MCAP files: print a file's summary, recover a crashed one.
    #[command(subcommand)]
    Mcap(McapCommand),
    /// List, show and cut the recorder's sessions in a recording directory.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Triage a recorded session: guard outcomes, violations, unresponsive joints, latency outliers.
    #[command(
        after_help = "Examples:\n  rewind triage                                  # the latest session in --dir\n  rewind triage sess_20241210_143022_ab12cd --json\n  rewind triage sess_20241210_143022_ab12cd --compare sess_20241209_090000_known1\n  rewind triage incident.mcap --compare /data/robot/sessions/known_good_000.mcap\n\nReads a session's files (SESSION is a session id in --dir or an .mcap file; by\ndefault the session in --dir written to last) and reports, like the seed's\nmcap_triage.py:\n  - PASS / CLAMP / REJECT / FAULT per guard and per layer (/dam/L0 ... /dam/L3);\n  - the cycles with violations (has_violation, REJECT or FAULT) and their reasons;\n  - joints that received validated commands (/dam/action) that their observed\n    position (/dam/obs) did not follow;\n  - latency outliers per layer (/dam/latency), per guard and per cycle (total_ms);\n  - with --compare, the initial pose, guard statistics and latency against a\n    known-good session (compare only sessions of the same robot, task and\n    calibration: differing config hashes, versions or tasks are warned about).\nFiles still being written, or crashed, are read up to their last complete chunk.\nRead-only: nothing is written or sent. The rules and thresholds are in\ndocs/recorder.md.\n\nExit codes: 0 reported (whatever it found), 1 a file cannot be read, 2 bad\narguments or no such session."
    )]
    Triage(TriageArgs),
    /// Name the likely root cause of an incident bundle: ranked causal chains with their evidence.
    #[command(
        after_help = "Examples:\n  rewind rca incident_20261123T100005Z_cpu-saturated.zip\n  rewind rca incident.zip --json | jq '.analysis.causes[0]'\n  rewind rca incident.zip --chains site-chains.yaml\n\nThe bundle is validated completely, then its series, events and trigger are\nmatched against the built-in chain library (thermal throttling, memory leak to\nOOM restart loop, disk full, network starvation, CPU contention, bad deploy,\nundervoltage, clock jumps) and any --chains file (same names replace built-in\nchains; format in docs/root-cause.md). It prints the ranked causes with their\nchains, confidence, suggested actions and risk, or \"no known cause\" with the\nseries that changed most around the trigger. Every number and name in the\nexplanation comes from the bundle. Read-only.\n\nExit codes: 0 analysed (a cause found or not), 1 not a valid bundle, 2 bad\narguments or an invalid --chains file."
    )]
    Rca(RcaArgs),
    /// Browse what the runtime watchdog of a program captured: captures, run history, contention.
    #[command(subcommand)]
    Watchdog(WatchdogCommand),
}

/// `rewind detect` flags.
#[derive(Debug, Args)]
pub(crate) struct DetectArgs {
    /// The series: CSV `timestamp,value`.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write `timestamp,value,anomaly_score,alarm` (replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// A rules file whose `change` rule sets the detector's parameters.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Which `change` rule of --rules to use [default: the first].
    #[arg(long, value_name = "NAME", requires = "rules")]
    pub rule: Option<String>,
    /// History the baseline is learned from; overrides the rule's `baseline` [default: 30m, or the rule's].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub baseline: Option<Duration>,
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
    /// Upload bundles to an in-process server and time ingest and incident queries.
    #[command(
        after_help = "Examples:\n  rewind bench server                                  # SQLite, then PostgreSQL if it answers\n  rewind bench server --backend sqlite --incidents 10000 --json\n  rewind bench server --backend postgres --postgres-url postgres://postgres@127.0.0.1:5432/test\n\nGenerates demo-sized bundles (100 series of 10 s at 10 Hz, 50 events) from 50\ndevices, uploads them over HTTP on loopback with device tokens from --concurrency\nclients, then seeds the database to --incidents incidents and times the incident\nlist the ways the dashboard asks for it (first page, filters, text search, the\nnext page by cursor). Each backend gets a fresh database (PostgreSQL: a new\nschema). Baselines from the same run: validating the same bundles on one thread\nwithout storing them, and GET /healthz."
    )]
    Server(BenchServerArgs),
    /// Score the release-regression detector on seeded scenarios, or on a NAB-style dataset.
    #[command(
        after_help = "Examples:\n  rewind bench detect                          # 11 scenarios x 1,000 trials\n  rewind bench detect --trials 100 --seed 3 --json\n  rewind bench detect --dataset ~/NAB          # data/**/*.csv, labels/combined_windows.json\n\nGenerates deploys with 10 s samples, a 30 min baseline and a 5 min window:\nhealthy ones (plain, on a daily cycle, low traffic, a traffic spike), error-rate\nand latency steps of 3-6 baseline spreads, gradual degradation, a step under a\ndaily cycle, a regression that began before the deploy, two overlapping deploys\nand a quiet service whose error count rises. Reports TP/FP/TN/FN and the\ndetection latency in samples per scenario against the targets, next to a naive\n3-sigma detector run on the same trials. With --dataset, scores the causal\nsingle-series detector by the Numenta Anomaly Benchmark's method (0 = null\ndetector, 100 = perfect). The method is in docs/benchmarks.md."
    )]
    Detect(BenchDetectArgs),
    /// Measure the control-loop recorder: record() latency, 1 kHz sustained writing, zstd ratio.
    #[command(
        after_help = "Examples:\n  rewind bench record                  # about 15 s: 10 s at 1 kHz\n  rewind bench record --quick --json   # about 3 s\n\nMeasures rewind-recorder on this machine, in a temporary directory: record() on\nthe calling thread with a ~500-byte /dam/cycle payload, idle and during a\nsustained 1 kHz loop of 8 messages a cycle (cycle, obs, action, /dam/L0..L3,\nlatency), against the 2 us p99 target (the seed promises < 20 us); that loop's\ndrops (target: none) and the writer thread's CPU share of one core; and the zstd\nchunk compression of the cycle and guard channels against the seed's 70 %\nreduction. The baseline, measured in the same run, is a bare std sync_channel\ntry_send of payloads of the same size into a thread that polls it every 500 us\nas the writer does: the recorder's queue without the recorder. Payloads come from a fixed seed; see docs/benchmarks.md."
    )]
    Record(BenchRecordArgs),
    /// Measure the runtime watchdog in a busy tokio program: its CPU share and its capture delay.
    #[command(
        after_help = "Examples:\n  rewind bench watchdog\n  rewind bench watchdog --seconds 5 --json\n\nInstalls rewind-watchdog at its default 500 ms interval in a tokio runtime kept\nbusy by spinning tasks, in a temporary directory, and reports the watchdog\nthread's CPU time over the run against the 1 % target, and, for a forced breach,\nthe time from the tick's start to the thread stacks and /proc snapshot being\nwritten against the 500 ms tick. See docs/watchdog.md."
    )]
    Watchdog(BenchWatchdogArgs),
}

/// `rewind bench record` flags.
#[derive(Debug, Args)]
pub(crate) struct BenchRecordArgs {
    /// Seconds of the sustained 1 kHz run [default: 10, or 1 with --quick].
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,
    /// A short run (about 3 s): 20,000 timed calls, 3,000 cycles per ratio.
    #[arg(long)]
    pub quick: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `rewind bench watchdog` flags.
#[derive(Debug, Args)]
pub(crate) struct BenchWatchdogArgs {
    /// Seconds to measure the watchdog's CPU over.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub seconds: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WatchdogCommand {
    /// List a watchdog directory's captures, newest last.
    #[command(
        after_help = "Example:\n  rewind watchdog list /var/lib/checkout/watchdog\n  rewind watchdog list ./watchdog --json | jq '.[].kind'\n\nEach capture is a directory with a manifest.json: what breached, when, and the\nfiles written (stacks, /proc snapshots, profiles). Exit 1 when DIR cannot be read."
    )]
    List {
        /// The watchdog's directory.
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The program's runs: each start, and whether it stopped cleanly, crashed or was killed.
    #[command(
        after_help = "Example:\n  rewind watchdog history ./watchdog\n\nA run is `clean` (shut down), `crashed` (a panic, with its message and crash\nartefact), `killed` (no stop row and the process is gone: SIGKILL, OOM, abort) or\n`running`. Three or more unclean ends within ten minutes are a crash loop,\nmarked `*` and summed up on stderr."
    )]
    History {
        /// The watchdog's directory.
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ask a running watchdog for the contention diagnostic (expensive sampling, bounded).
    Contention {
        /// The watchdog's directory.
        dir: PathBuf,
        /// How long to sample.
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
        window: Duration,
    },
}

/// `rewind bench detect` flags.
#[derive(Debug, Args)]
pub(crate) struct BenchDetectArgs {
    /// Trials per scenario.
    #[arg(long, default_value_t = 1000)]
    pub trials: usize,
    /// Seed of the generated trials: the same seed gives the same figures.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Score a NAB-style dataset instead: DIR/data/**/*.csv (timestamp,value).
    #[arg(long, value_name = "DIR")]
    pub dataset: Option<PathBuf>,
    /// The dataset's anomaly windows [default: DIR/labels/combined_windows.json].
    #[arg(long, value_name = "FILE", requires = "dataset")]
    pub labels: Option<PathBuf>,
    /// Only this NAB application profile [default: all three].
    #[arg(long, value_enum, requires = "dataset")]
    pub profile: Option<NabProfile>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A NAB application profile (weights from NAB's config/profiles.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum NabProfile {
    /// A_TP = 1, A_FP = -0.11, A_FN = -1.
    Standard,
    /// A_FP = -0.22.
    #[value(name = "reward_low_fp")]
    RewardLowFp,
    /// A_FN = -2.
    #[value(name = "reward_low_fn")]
    RewardLowFn,
}

impl NabProfile {
    /// The profile's name in NAB.
    pub(crate) fn nab_name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::RewardLowFp => "reward_low_FP_rate",
            Self::RewardLowFn => "reward_low_FN_rate",
        }
    }
}

/// Which database `rewind bench server` measures.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ServerBackend {
    /// Embedded SQLite in a temp directory.
    Sqlite,
    /// PostgreSQL at --postgres-url, in a new schema.
    Postgres,
    /// SQLite, then PostgreSQL (skipped with a notice when it does not answer).
    Both,
}

/// `rewind bench server` flags.
#[derive(Debug, Args)]
pub(crate) struct BenchServerArgs {
    /// Which database to measure.
    #[arg(long, value_enum, default_value = "both")]
    pub backend: ServerBackend,
    /// PostgreSQL to use (each run makes a new schema in it).
    #[arg(
        long,
        env = "REWIND_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub postgres_url: String,
    /// Bundles uploaded (the ingest figures are over these).
    #[arg(long, default_value_t = 1000)]
    pub bundles: usize,
    /// Concurrent uploading clients.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Incidents in the database when the list is queried.
    #[arg(long, default_value_t = 100_000)]
    pub incidents: u64,
    /// Times each list query runs.
    #[arg(long, default_value_t = 300)]
    pub queries: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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
    /// This device's token (`rewind token create --device ID`); prefer REWIND_TOKEN or `token:` in the config file.
    #[arg(long, env = "REWIND_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Also stream samples to the server live, for its dashboard (`live: true` in the config file).
    #[arg(long)]
    pub live: bool,
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

/// Where the server's database is: shared by `rewind server` and `rewind token`,
/// so both find the same one.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ServerStoreArgs {
    /// Server config file (YAML; see docs/operations.md). Flags and REWIND_* variables override it.
    #[arg(long, env = "REWIND_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and the bundle files [default: .rewind-server].
    #[arg(long, env = "REWIND_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the state dir].
    #[arg(long, env = "REWIND_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

/// `rewind server` settings. Each is a flag, a REWIND_* variable and a key of
/// the --config file, in that order of precedence (docs/operations.md).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ServerArgs {
    #[command(flatten)]
    pub store: ServerStoreArgs,
    /// Address to listen on; port 0 picks a free port (the URL is printed on stdout) [default: 127.0.0.1:8420].
    #[arg(long, env = "REWIND_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Blob store for bundle files: s3://BUCKET/PREFIX (AWS_* variables; an http:// endpoint also needs AWS_ALLOW_HTTP=true, and the credentials ListBucket) or file:///DIR [default: `STATE_DIR/bundles`].
    #[arg(long, env = "REWIND_BLOB_URL", value_name = "URL")]
    pub blob_url: Option<String>,
    /// Largest bundle accepted, in bytes [default: 67108864 (64 MiB)].
    #[arg(long, env = "REWIND_MAX_BUNDLE_BYTES", value_name = "BYTES")]
    pub max_bundle_bytes: Option<u64>,
    /// Largest JSON request body accepted, in bytes [default: 1048576 (1 MiB)].
    #[arg(long, env = "REWIND_MAX_JSON_BYTES", value_name = "BYTES")]
    pub max_json_bytes: Option<usize>,
    /// Sustained requests per second allowed per token [default: 50].
    #[arg(long, env = "REWIND_RATE_LIMIT_PER_SECOND", value_name = "N")]
    pub rate_limit_per_second: Option<u32>,
    /// Requests a token may send in a burst above the sustained rate [default: 200].
    #[arg(long, env = "REWIND_RATE_LIMIT_BURST", value_name = "N")]
    pub rate_limit_burst: Option<u32>,
    /// TLS certificate chain (PEM); with --tls-key the server speaks HTTPS.
    #[arg(long, env = "REWIND_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM, unencrypted), for --tls-cert.
    #[arg(long, env = "REWIND_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (only on a network you trust) [default: false].
    #[arg(
        long,
        env = "REWIND_INSECURE",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure: Option<bool>,
    /// Print the settings in effect (as a config file) and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token and print its secret (once: it cannot be shown again).
    #[command(
        after_help = "Examples:\n  rewind token create --name alice --role admin --state-dir /var/lib/rewind\n  rewind token create --name robot-7 --device robot-7 --expires-in-days 365\n\nWorks directly on the server's database (the same --state-dir, --database-url\nor --config as `rewind server`), so it can make the first admin token before\nany token exists. Only the secret's SHA-256 is stored."
    )]
    Create(TokenCreateArgs),
    /// List every token: name, scope, prefix, created, expires, revoked (never secrets).
    #[command(
        after_help = "Example:\n  rewind token list --state-dir /var/lib/rewind\n  rewind token list --json"
    )]
    List {
        #[command(flatten)]
        store: ServerStoreArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `rewind token list`): it stops working at once.
    #[command(
        after_help = "Example:\n  rewind token revoke 0190f3a2-7c4e-7d1a-9b1e-3f2a8c6d5e4f --state-dir /var/lib/rewind"
    )]
    Revoke {
        /// The token's id (not its secret).
        id: String,
        #[command(flatten)]
        store: ServerStoreArgs,
    },
}

/// `rewind token create` flags.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("scope").required(true).args(["role", "device"]))]
pub(crate) struct TokenCreateArgs {
    #[command(flatten)]
    pub store: ServerStoreArgs,
    /// A name for people (`alice`, `ci-deploys`), 1 to 64 characters; recorded as the actor.
    #[arg(long)]
    pub name: String,
    /// A user token with this role: viewer (read), responder (transitions, notes), admin (tokens).
    #[arg(long, value_parser = parse_role)]
    pub role: Option<rewind_model::Role>,
    /// A device token for this device id instead: it may only ingest for that device.
    #[arg(long, value_name = "DEVICE_ID")]
    pub device: Option<String>,
    /// Days until the token stops working (1 to 3650) [default: never].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
    /// Print JSON (the token and its `secret`) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_role(s: &str) -> Result<rewind_model::Role, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeployCommand {
    /// Record a deploy on the server (POST /api/v1/deploys) and print it.
    #[command(
        after_help = "Examples:\n  rewind deploy notify --server https://rewind.example --service planner --version 2.14.1\n  REWIND_TOKEN=rwd_… rewind deploy notify --service planner --version \"$GIT_TAG\" \\\n      --environment staging --commit \"$GIT_SHA\" --actor ci --json\n\nThe token needs the responder role: `rewind token create --name ci-deploys --role\nresponder`. examples/hooks/deploy-hook.sh wraps this for CI pipelines.\n\nExit codes: 0 recorded, 1 the server refused it or is unreachable, 2 bad arguments."
    )]
    Notify(DeployNotifyArgs),
    /// Judge recorded deploys offline: did each one make its metrics worse? One verdict per deploy.
    #[command(
        after_help = "Examples:\n  rewind deploy analyze --metrics metrics.jsonl --deploys deploy-events.jsonl\n  rewind deploy analyze --metrics m.jsonl --deploys d.jsonl --logs app.log --json | jq '.deploys[].verdict'\n  rewind deploy analyze --metrics m.jsonl --deploys d.jsonl --window 10m --min-effect 10% || echo \"regressed\"\n\nInputs (JSON Lines, one object a line):\n  metrics  {\"timestamp\":\"2026-03-30T19:30:00Z\",\"error_rate\":0.02,\"p95_latency_ms\":190.0,\"request_rate\":1200.0}\n           optional \"service\", \"environment\", \"instance\"; every other numeric field is a series.\n           Kinds from the name: *error* a rate (integer *errors*/*count* a count), *latency*,\n           *duration*, *_ms, p50/p90/p95/p99 a latency, *request*/*rps*/*throughput* a\n           throughput, anything else other. Rates, counts and latencies regress upwards;\n           throughput and others either way.\n  deploys  {\"timestamp\":\"2026-03-30T20:00:00Z\",\"deploy_id\":\"v1.4.2\",\"environment\":\"production\"}\n           optional \"service\", \"version\", \"commit\", \"actor\".\n  logs     plain lines starting with a time (`2026-03-30T20:00:01Z ERROR …`, `2026-03-30 20:00:01 …`)\n           or JSON lines {\"timestamp\",\"level\",\"message\"}; error-ish lines are grouped into\n           signatures, and those new or much more frequent after the deploy are reported.\nTimestamps are RFC 3339 (or Unix seconds in JSON); times without a zone are UTC.\n\nEach deploy's metrics in the --window after it are compared with the --baseline\nbefore it (robust median and spread, CUSUM for when, Mann-Whitney for whether, at\nleast --min-effect). A bad line is skipped, counted and named as FILE:LINE on\nstderr; a file with no usable line at all is an error. See docs/regressions.md.\n\nExit codes: 0 no deploy regressed (inconclusive ones included), 1 at least one\nregression (a CI gate), 2 bad arguments or unusable input."
    )]
    Analyze(DeployAnalyzeArgs),
    /// Follow a deploy's regression check on the server until its verdict, and print it.
    #[command(
        after_help = "Examples:\n  rewind deploy watch 01932c4e-…                      # a deploy recorded earlier\n  REWIND_TOKEN=rwd_… rewind deploy watch --service checkout --version \"$GIT_SHA\"\n      # record the deploy, then wait for its verdict: a CI gate after a rollout\n  rewind deploy watch 01932c4e-… --no-wait --json    # the partial verdict now\n\nThe server judges each recorded deploy over a window after it (5 minutes by\ndefault) against a baseline before it, from the metrics it receives (agents, POST\n/api/v1/metrics, OTLP, followed files, Prometheus). While the window is open this\nshows the verdict so far; then it prints the final verdict with, per metric, the\nbaseline and after medians, the change, p-value, confidence and the smallest\nchange it could have seen, the log signatures new after the deploy, and the\nincident a regression opened. See docs/regressions.md.\n\nExit codes: 0 no regression (or inconclusive, or not watched), 1 regression or\nthe server is unreachable, 2 bad arguments."
    )]
    Watch(DeployWatchArgs),
}

/// `rewind deploy analyze` flags.
#[derive(Debug, Args)]
pub(crate) struct DeployAnalyzeArgs {
    /// Metric samples, JSON Lines (`{"timestamp":…,"error_rate":…,…}`).
    #[arg(long, value_name = "FILE")]
    pub metrics: PathBuf,
    /// Deploy events, JSON Lines (`{"timestamp":…,"deploy_id":…}`).
    #[arg(long, value_name = "FILE")]
    pub deploys: PathBuf,
    /// Log lines to compare around each deploy (plain text or JSON Lines); repeatable.
    #[arg(long = "logs", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// How long after each deploy is judged.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub window: Duration,
    /// How far before each deploy the baseline reaches (it needs 20 samples).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub baseline: Duration,
    /// Smallest change of a median that counts as a regression: `5%` or `0.05`.
    #[arg(long, value_name = "FRACTION", default_value = "5%", value_parser = parse_fraction)]
    pub min_effect: f64,
}

/// `rewind deploy notify` flags (`--version` is the deploy's, not rewind's).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub(crate) struct DeployNotifyArgs {
    /// Base URL of the Rewind server.
    #[arg(long, env = "REWIND_SERVER", default_value = "http://127.0.0.1:8420")]
    pub server: String,
    /// API token with the responder role (prefer REWIND_TOKEN: command lines are visible to others).
    #[arg(long, env = "REWIND_TOKEN", hide_env_values = true)]
    pub token: String,
    /// What was deployed.
    #[command(flatten)]
    pub deploy: DeployFields,
    /// Print the recorded deploy as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rewind deploy watch` flags.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub(crate) struct DeployWatchArgs {
    /// The deploy to watch (its id, as `rewind deploy notify` prints it). Leave it
    /// out and give --service and --version to record a deploy and watch it.
    pub deploy: Option<String>,
    /// Base URL of the Rewind server.
    #[arg(long, env = "REWIND_SERVER", default_value = "http://127.0.0.1:8420")]
    pub server: String,
    /// API token: viewer to watch, responder to also record the deploy (prefer REWIND_TOKEN).
    #[arg(long, env = "REWIND_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The deploy to record first, instead of a deploy id.
    #[command(flatten)]
    pub notify: DeployWatchFields,
    /// How often to ask the server.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Print the check as it is now (partial while the window is open) and exit.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the final check as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What was deployed, for `rewind deploy watch` (optional: a deploy id may be given instead).
#[derive(Debug, Clone, Args)]
pub(crate) struct DeployWatchFields {
    /// The service deployed (`checkout`).
    #[arg(long, requires = "version", conflicts_with = "deploy")]
    pub service: Option<String>,
    /// The version deployed.
    #[arg(long, requires = "service")]
    pub version: Option<String>,
    /// Where [default: production].
    #[arg(long, requires = "service")]
    pub environment: Option<String>,
    /// The source commit.
    #[arg(long, requires = "service")]
    pub commit: Option<String>,
    /// Who deployed.
    #[arg(long, requires = "service")]
    pub actor: Option<String>,
    /// When the deploy happened, RFC 3339 [default: now].
    #[arg(long, requires = "service")]
    pub at: Option<String>,
}

/// What was deployed: the fields of `POST /api/v1/deploys`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DeployFields {
    /// The service deployed (`planner`).
    #[arg(long)]
    pub service: String,
    /// The version deployed (`2.14.1`, a tag or an image digest).
    #[arg(long)]
    pub version: String,
    /// Where: `production`, `staging`, a fleet name [default: production].
    #[arg(long)]
    pub environment: Option<String>,
    /// The source commit.
    #[arg(long)]
    pub commit: Option<String>,
    /// Who deployed (a person or a pipeline) [default: the token's name, as the server records it].
    #[arg(long)]
    pub actor: Option<String>,
    /// When the deploy happened, RFC 3339 (`2026-05-13T14:30:00Z`) [default: now, by the server's clock].
    #[arg(long)]
    pub at: Option<String>,
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

/// `rewind rca` flags.
#[derive(Debug, Args)]
pub(crate) struct RcaArgs {
    /// The incident bundle (zip).
    pub bundle: PathBuf,
    /// More chains (YAML, docs/root-cause.md), added to the built-in library.
    #[arg(long, value_name = "FILE")]
    pub chains: Option<PathBuf>,
    /// Print the analysis and the explanation as JSON.
    #[arg(long)]
    pub json: bool,
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

#[derive(Debug, Subcommand)]
pub(crate) enum McapCommand {
    /// Print an MCAP file's summary: time range, messages per topic, chunks, metadata.
    #[command(
        after_help = "Examples:\n  rewind mcap info /data/robot/sessions/sess_20241210_143022_ab12cd_000.mcap\n  rewind mcap info FILE --json | jq .channels\n\nReads only the summary section (footer, statistics, indexes and the metadata\nrecords they point to), never the messages. A file still being written, or left\nby a killed writer, has no summary yet: this says so, and `rewind mcap recover`\nrewrites it with one.\n\nExit codes: 0 printed (also \"no summary\"), 1 the file cannot be read or its\nsummary is damaged."
    )]
    Info {
        /// The MCAP file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite a file left by a killed writer, with everything up to its last complete chunk.
    #[command(
        after_help = "Examples:\n  rewind mcap recover /data/robot/sessions/sess_20241210_143022_ab12cd_003.mcap\n      # writes sess_20241210_143022_ab12cd_003.recovered.mcap beside it\n  rewind mcap recover crashed.mcap -o /tmp/fixed.mcap --force\n\nReads FILE from its start, record by record, checks each chunk whole (length,\ndecompression, CRC) and stops at the first broken record. Every complete\nmessage, schema, channel (ids kept) and metadata record goes to OUT with a fresh\nsummary, plus a `rewind.recovered` record saying what happened. A recorder\nkilled mid-write loses at most the chunk it was writing (flush_sec, 1 s by\ndefault). FILE is never changed; OUT is written to a temporary file and renamed.\n\nExit codes: 0 FILE was complete (nothing lost), 3 recovered, but data after the\nlast complete chunk was lost, 1 failure, 2 bad arguments or OUT exists (give\n--force to replace it)."
    )]
    Recover {
        /// The damaged MCAP file.
        file: PathBuf,
        /// Where to write [default: <stem>.recovered.mcap beside FILE].
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where the recorder's session files are.
#[derive(Debug, Clone, Args)]
pub(crate) struct SessionsDirArgs {
    /// The recording directory: the recorder's `output_dir`.
    #[arg(
        long,
        value_name = "DIR",
        env = "REWIND_SESSIONS_DIR",
        default_value = "/data/robot/sessions"
    )]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// List the sessions in a recording directory, from the files' summaries.
    #[command(
        after_help = "Examples:\n  rewind sessions ls                           # $REWIND_SESSIONS_DIR or /data/robot/sessions\n  rewind sessions ls --dir ./sessions --json | jq '.sessions[].session_id'\n\nGroups the <session>_<NNN>.mcap files of DIR into sessions, from the files'\nsummaries only (never their messages): files, size, time range, cycles,\nviolation and clamp cycles (as the recorder counted them), images. A file still\nbeing written, or left by a killed writer, has no summary yet: it is counted as\nlive and its messages are not in the figures (`rewind mcap recover` rewrites a\ncrashed one). The default DIR is the seed's output_dir.\n\nExit codes: 0 listed (also when there is none), 1 DIR cannot be read, 2 bad\narguments or no such DIR."
    )]
    Ls {
        #[command(flatten)]
        dir: SessionsDirArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one session: metadata, time range, counts per topic and its files.
    #[command(
        after_help = "Examples:\n  rewind sessions show sess_20241210_143022_ab12cd\n  rewind sessions show sess_20241210_143022_ab12cd --json | jq .channels\n\nPrints the session's rewind.session metadata (program version, control\nfrequency, config path and hash, start time), its time range, cycles, violation\nand clamp cycles, messages per topic, and each file with its size, time range and\nstate (finished, or live: being written or crashed). Read from the summaries\nonly.\n\nExit codes: 0 shown, 1 failure, 2 bad arguments, no such DIR or no such session in it."
    )]
    Show {
        /// The session id (as `rewind sessions ls` prints it).
        id: String,
        #[command(flatten)]
        dir: SessionsDirArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write part of a session (topics, times, cycles) into a new MCAP file.
    #[command(
        after_help = "Examples (ID as `rewind sessions ls` prints it, like sess_20241210_143022_ab12cd):\n  rewind sessions cut ID -o incident.mcap --start-cycle 1200 --end-cycle 1300\n  rewind sessions cut ID -o l2.mcap --topics /dam/cycle,/dam/L2 --start-time 12.5 --end-time 20\n  rewind sessions cut ID -o window.mcap \\\n      --start-time 2024-12-10T14:31:00Z --end-time 2024-12-10T14:31:30Z\n  rewind sessions cut ID -o frames.mcap --topics '/dam/images/*'\n\nKeeps only the messages that pass every bound given: --topics (comma-separated;\na trailing * matches a prefix), [--start-time, --end-time) on log time, and\n[--start-cycle, --end-cycle) on the payload's cycle_id (the end is excluded:\n--start-cycle 0 --end-cycle 100 is 100 cycles). Messages without a cycle_id (user\nchannels) are kept when they fall within the selected cycles' time span. A time\nis RFC 3339, or seconds from the session's first message (the start that\n`sessions ls` shows), like 12.5.\n\nA file still being written (or crashed) is cut up to its last complete chunk,\nwith a warning. OUT is written to a temporary file and renamed into place; an\nexisting OUT is never replaced.\n\nExit codes: 0 written, 1 failure, 2 bad arguments, no such session, or OUT exists."
    )]
    Cut(SessionsCutArgs),
}

/// `rewind sessions cut` flags.
#[derive(Debug, Args)]
pub(crate) struct SessionsCutArgs {
    /// The session id.
    pub id: String,
    #[command(flatten)]
    pub dir: SessionsDirArgs,
    /// The new MCAP file (must not exist).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Keep cycles from this one.
    #[arg(long, value_name = "N")]
    pub start_cycle: Option<u64>,
    /// Keep cycles before this one (excluded).
    #[arg(long, value_name = "N")]
    pub end_cycle: Option<u64>,
    /// Keep messages from this time: RFC 3339, or seconds from the session's first message.
    #[arg(long, value_name = "T")]
    pub start_time: Option<String>,
    /// Keep messages before this time (excluded): RFC 3339, or seconds from the first message.
    #[arg(long, value_name = "T")]
    pub end_time: Option<String>,
    /// Keep only these topics, comma-separated (`/dam/cycle,/dam/L*`).
    #[arg(long, value_name = "A,B")]
    pub topics: Option<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rewind triage` flags.
#[derive(Debug, Args)]
pub(crate) struct TriageArgs {
    /// A session id in --dir, or an .mcap file [default: the session in --dir written to last].
    pub session: Option<String>,
    #[command(flatten)]
    pub dir: SessionsDirArgs,
    /// A known-good session (an id in --dir, or an .mcap file) to compare with.
    #[arg(long, value_name = "KNOWN_GOOD")]
    pub compare: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Parses `5%` or `0.05` as a fraction of 0 or more.
fn parse_fraction(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x / scale),
        _ => Err(format!("`{s}` is not a fraction: write e.g. 5% or 0.05")),
    }
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
