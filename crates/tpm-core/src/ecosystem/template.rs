//! The starter files `tpm init` writes: the same two apps in each format, a script with
//! its settings and a command string, commented where the format allows. A test reads
//! each back and checks all four give the same apps.

use super::Format;

/// The commented starter file `tpm init` writes.
pub fn starter(format: Format) -> &'static str {
    match format {
        Format::Js => JS,
        Format::Json => JSON,
        Format::Yaml => YAML,
        Format::Toml => TOML,
    }
}

const JS: &str = r#"// tpm ecosystem file: `tpm start` with this file starts every app in it.
// Field names are pm2's, so a pm2 file works as it is; tpm adds `port` and, for logs,
// `max_log_size`, `log_keep`, `log_rotate` (hourly, daily), `log_max_age`, `log_max_total`
// and `log_compress`. Also: `interpreter` (instead of the one the script's extension
// picks) and `env_<name>` for other environments. This file is
// JavaScript, run by node in its folder: `process.env` and `require` work.
module.exports = {
  apps: [
    {
      name: "api",                        // with its port, the process is named api-3000
      script: "server.js",                // a script (run by its interpreter) or a command
      args: [],                           // arguments given to the script
      cwd: ".",                           // relative to this file's folder
      port: 3000,                         // the PORT the app is given
      env: { NODE_ENV: "development" },
      env_production: { NODE_ENV: "production" }, // merged over env with --env production
      autorestart: true,                  // restart it when it exits
      max_restarts: 10,                   // quick crashes in a row before it is errored
      min_uptime: 1000,                   // ms: a shorter run is a quick crash; 3x this of them: errored
      // Also: wait_ready, listen_timeout, ready_line, ready_http, stop_signal,
      // stop_exit_codes, max_memory_restart ("300M"), cron_restart, watch, ignore_watch.
      restart_delay: 100,                 // milliseconds before a restart
      kill_timeout: 3000,                 // milliseconds from TERM to KILL on stop
    },
    {
      name: "web",
      // A command string: split as a shell would, then run without a shell.
      script: "python3 -m http.server 8080",
    },
  ],
};
"#;

const JSON: &str = r#"{
  "apps": [
    {
      "name": "api",
      "script": "server.js",
      "args": [],
      "cwd": ".",
      "port": 3000,
      "env": { "NODE_ENV": "development" },
      "env_production": { "NODE_ENV": "production" },
      "autorestart": true,
      "max_restarts": 10,
      "min_uptime": 1000,
      "restart_delay": 100,
      "kill_timeout": 3000
    },
    {
      "name": "web",
      "script": "python3 -m http.server 8080"
    }
  ]
}
"#;

const YAML: &str = r#"# tpm ecosystem file: `tpm start` with this file starts every app in it.
# Field names are pm2's, so a pm2 file works as it is; tpm adds `port` and, for logs,
# `max_log_size`, `log_keep`, `log_rotate` (hourly, daily), `log_max_age`, `log_max_total`
# and `log_compress`. Also: `interpreter` (instead of the one the script's extension
# picks) and `env_<name>` for other environments.
apps:
  - name: api                   # with its port, the process is named api-3000
    script: server.js           # a script (run by its interpreter) or a command
    args: []                    # arguments given to the script
    cwd: "."                    # relative to this file's folder
    port: 3000                  # the PORT the app is given
    env:
      NODE_ENV: development
    env_production:             # merged over env with --env production
      NODE_ENV: production
    autorestart: true           # restart it when it exits
    max_restarts: 10            # quick crashes in a row before it is errored
    min_uptime: 1000            # ms: a shorter run is a quick crash; 3x this of them: errored
    restart_delay: 100          # milliseconds before a restart
    kill_timeout: 3000          # milliseconds from TERM to KILL on stop

  - name: web
    # A command string: split as a shell would, then run without a shell.
    script: python3 -m http.server 8080
"#;

const TOML: &str = r#"# tpm ecosystem file: `tpm start` with this file starts every app in it.
# Field names are pm2's, so a pm2 file works as it is; tpm adds `port` and, for logs,
# `max_log_size`, `log_keep`, `log_rotate` (hourly, daily), `log_max_age`, `log_max_total`
# and `log_compress`. Also: `interpreter` (instead of the one the script's extension
# picks) and `env_<name>` for other environments. Each [[apps]] starts an app; the tables after it belong to it.

[[apps]]
name = "api"                    # with its port, the process is named api-3000
script = "server.js"            # a script (run by its interpreter) or a command
args = []                       # arguments given to the script
cwd = "."                       # relative to this file's folder
port = 3000                     # the PORT the app is given
autorestart = true              # restart it when it exits
max_restarts = 10               # quick crashes in a row before it is errored
min_uptime = 1000               # ms: a shorter run is a quick crash; 3x this of them: errored
restart_delay = 100             # milliseconds before a restart
kill_timeout = 3000             # milliseconds from TERM to KILL on stop

[apps.env]
NODE_ENV = "development"

[apps.env_production]           # merged over env with --env production
NODE_ENV = "production"

[[apps]]
name = "web"
# A command string: split as a shell would, then run without a shell.
script = "python3 -m http.server 8080"
"#;
