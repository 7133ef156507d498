//! supervisord: one Python daemon, driven by `supervisorctl` over a unix socket; programs
//! are sections of its configuration (one file each in `conf.d/`, added with `update`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{exec, pid_file, wait_until, App, Manager};
use crate::procfs;

pub struct Supervisord {
    supervisord: PathBuf,
    supervisorctl: PathBuf,
    dir: PathBuf,
}

impl Supervisord {
    pub fn new(supervisord: PathBuf, supervisorctl: PathBuf, dir: PathBuf) -> Supervisord {
        Supervisord {
            supervisord,
            supervisorctl,
            dir,
        }
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("supervisord.conf")
    }

    fn ctl(&self) -> Command {
        let mut c = Command::new(&self.supervisorctl);
        c.arg("-c").arg(self.conf());
        c
    }

    fn daemon(&self) -> Option<u32> {
        pid_file(&self.dir.join("supervisord.pid"))
            .ok()
            .filter(|&p| procfs::is_running(p))
    }

    fn program_file(&self, app: &App) -> PathBuf {
        self.dir.join("conf.d").join(format!("{}.conf", app.name))
    }

    /// One `[program:x]` section. `startsecs=0`: a started process counts as running at
    /// once, as it does for tpm and pm2 (the default, 1 s, makes `start` wait a second).
    fn write_program(&self, app: &App, autostart: bool) -> Result<(), String> {
        let logs = self.dir.join("logs");
        let command = app
            .argv
            .iter()
            .map(|a| a.replace('%', "%%"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = String::new();
        let _ = write!(
            text,
            "[program:{name}]\ncommand={command}\nautostart={autostart}\nautorestart={restart}\n\
             startsecs=0\nstartretries=1000000\n\
             stdout_logfile={logs}/{name}.out\nstderr_logfile={logs}/{name}.err\n",
            name = app.name,
            restart = app.restart,
            logs = logs.display(),
        );
        let file = self.program_file(app);
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))
    }

    fn statuses(&self) -> Result<Vec<(String, String)>, String> {
        // `status` exits 3 when a program is not running: read the output whatever the code.
        let out = self
            .ctl()
            .arg("status")
            .output()
            .map_err(|e| format!("supervisorctl status: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut cols = l.split_whitespace();
                Some((cols.next()?.to_string(), cols.next()?.to_string()))
            })
            .collect())
    }

    fn update(&self) -> Result<(), String> {
        exec(self.ctl().arg("update")).map(drop)
    }
}

impl Manager for Supervisord {
    fn label(&self) -> &'static str {
        "supervisord"
    }

    fn version(&self) -> String {
        exec(Command::new(&self.supervisord).arg("--version"))
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|e| e)
    }

    fn up(&mut self) -> Result<(), String> {
        for sub in ["conf.d", "logs"] {
            let _ = std::fs::remove_dir_all(self.dir.join(sub));
            std::fs::create_dir_all(self.dir.join(sub)).map_err(|e| e.to_string())?;
        }
        let d = self.dir.display();
        let conf = format!(
            "[unix_http_server]\nfile={d}/supervisor.sock\n\n\
             [supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
             childlogdir={d}/logs\nuser=root\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n\n\
             [include]\nfiles={d}/conf.d/*.conf\n"
        );
        // Not root: supervisord refuses `user=` it cannot switch to; leave it out.
        // SAFETY: geteuid has no preconditions.
        let conf = if unsafe { libc::geteuid() } == 0 {
            conf
        } else {
            conf.replace("user=root\n", "")
        };
        std::fs::write(self.conf(), conf).map_err(|e| e.to_string())?;
        // It daemonizes: the command returns once the daemon is forked.
        exec(Command::new(&self.supervisord).arg("-c").arg(self.conf()))?;
        wait_until("supervisord to answer", Duration::from_secs(20), || {
            Ok(self
                .ctl()
                .arg("pid")
                .output()
                .is_ok_and(|o| o.status.success()))
        })
    }

    fn down(&mut self) -> Result<(), String> {
        let Some(pid) = self.daemon() else {
            return Ok(());
        };
        exec(self.ctl().arg("shutdown"))?;
        wait_until("supervisord to exit", Duration::from_secs(30), || {
            Ok(!procfs::is_running(pid))
        })
    }

    fn launch(&mut self, apps: &[App]) -> Result<(), String> {
        for app in apps {
            self.write_program(app, true)?;
        }
        self.update()
    }

    fn prepare(&mut self, app: &App) -> Result<(), String> {
        self.write_program(app, false)?;
        self.update()
    }

    fn remove(&mut self, app: &App) -> Result<(), String> {
        let file = self.program_file(app);
        std::fs::remove_file(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        self.update() // stops the program and forgets it
    }

    fn online(&self) -> Result<Vec<String>, String> {
        Ok(self
            .statuses()?
            .into_iter()
            .filter(|(_, s)| s == "RUNNING")
            .map(|(n, _)| n)
            .collect())
    }

    fn list(&self) -> Command {
        let mut c = self.ctl();
        c.arg("status");
        c
    }

    fn start(&self, app: &App) -> Command {
        let mut c = self.ctl();
        c.args(["start", &app.name]);
        c
    }

    fn stop(&self, app: &App) -> Command {
        let mut c = self.ctl();
        c.args(["stop", &app.name]);
        c
    }

    fn own_pids(&self) -> Result<Vec<u32>, String> {
        self.daemon()
            .map(|p| vec![p])
            .ok_or_else(|| "supervisord is not running".into())
    }

    fn out_log(&self, app: &App) -> PathBuf {
        self.dir.join("logs").join(format!("{}.out", app.name))
    }
}
