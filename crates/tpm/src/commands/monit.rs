//! `tpm monit`: a live terminal view of every process, pm2's `monit`.
//!
//! The table (status, CPU and memory with a sparkline of the last minute, restarts, uptime)
//! and the selected process's log tail are read from the store once a second, as `tpm list`
//! and `tpm logs` read them. Keys act on the selected process; an action runs on a thread of
//! its own, so a stop that takes its kill timeout never freezes the view. The terminal is
//! restored on `q`, Ctrl-C and on a panic (ratatui's hook).

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};
use ratatui::{DefaultTerminal, Frame};
use tpm_core::logs::LogLine;
// The one rule for what a terminal shows of text tpm did not write (ratatui would drop
// control characters; shown, a reader sees what the process wrote).
use tpm_core::terminal::shown;
use tpm_core::{Error, ProcessInfo, Status, Stream, Tpm};

use crate::render;

/// How often the store is read again.
const REFRESH: Duration = Duration::from_secs(1);
/// Samples kept per process: a minute at one a second.
const HISTORY: usize = 60;
/// The sparkline's characters, lowest to highest.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn run(tpm: &Tpm) -> tpm_core::Result<i32> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "tpm monit draws on a terminal; for scripts use `tpm list --json` or `tpm events -f`"
                .into(),
        ));
    }
    let mut terminal = ratatui::try_init()
        .map_err(|e| Error::Usage(format!("cannot set up the terminal: {e}")))?;
    let result = Monit::new(tpm.clone()).run(&mut terminal);
    ratatui::restore();
    result.map(|()| 0)
}

/// What an action on a thread reports back: the process, and what became of it.
type Done = (String, String);

struct Monit {
    tpm: Tpm,
    processes: Vec<ProcessInfo>,
    /// CPU percent and resident bytes, oldest first.
    history: HashMap<String, VecDeque<(f64, u64)>>,
    table: TableState,
    logs: Vec<LogLine>,
    /// The last thing said: an action's outcome, or a question.
    message: String,
    /// Delete asked for, waiting for `y`.
    confirm_delete: Option<String>,
    done_tx: Sender<Done>,
    done_rx: Receiver<Done>,
    last_read: Option<Instant>,
}

impl Monit {
    fn new(tpm: Tpm) -> Monit {
        let (done_tx, done_rx) = mpsc::channel();
        Monit {
            tpm,
            processes: Vec::new(),
            history: HashMap::new(),
            table: TableState::default().with_selected(Some(0)),
            logs: Vec::new(),
            message: String::new(),
            confirm_delete: None,
            done_tx,
            done_rx,
            last_read: None,
        }
    }

    fn run(&mut self, terminal: &mut DefaultTerminal) -> tpm_core::Result<()> {
        loop {
            if self.last_read.is_none_or(|t| t.elapsed() >= REFRESH) {
                self.read();
            }
            while let Ok((name, outcome)) = self.done_rx.try_recv() {
                self.message = format!("{name}: {outcome}");
                self.read();
            }
            terminal
                .draw(|frame| self.draw(frame))
                .map_err(|e| Error::Usage(format!("cannot draw: {e}")))?;
            let wait = REFRESH
                .saturating_sub(self.last_read.map_or(REFRESH, |t| t.elapsed()))
                .min(Duration::from_millis(250));
            if event::poll(wait).map_err(|e| Error::Usage(format!("cannot read keys: {e}")))? {
                if let Ok(Event::Key(key)) = event::read() {
                    if key.kind == KeyEventKind::Press && !self.key(key) {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Reads the store: the processes, their samples, the selected one's logs.
    fn read(&mut self) {
        self.last_read = Some(Instant::now());
        match self.tpm.list() {
            Ok(listing) => self.processes = listing.processes,
            Err(e) => self.message = e.to_string(),
        }
        for p in &self.processes {
            let samples = self.history.entry(p.name.clone()).or_default();
            samples.push_back((p.cpu.unwrap_or(0.0), p.mem.unwrap_or(0)));
            while samples.len() > HISTORY {
                samples.pop_front();
            }
        }
        self.history
            .retain(|name, _| self.processes.iter().any(|p| &p.name == name));
        let last = self.processes.len().saturating_sub(1);
        if self.table.selected().is_none_or(|s| s > last) {
            self.table.select(Some(last));
        }
        self.logs = match self.selected() {
            Some(p) => tpm_core::Name::parse(&p.name)
                .ok()
                .and_then(|n| self.tpm.logs(&[n], 200).ok())
                .unwrap_or_default(),
            None => Vec::new(),
        };
    }

    fn selected(&self) -> Option<&ProcessInfo> {
        self.processes.get(self.table.selected()?)
    }

    /// Handles a key; false to quit.
    fn key(&mut self, key: KeyEvent) -> bool {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c
            || key.code == KeyCode::Char('q')
            || key.code == KeyCode::Esc && self.confirm_delete.is_none()
        {
            return false;
        }
        if let Some(name) = self.confirm_delete.take() {
            if key.code == KeyCode::Char('y') {
                self.act(name, Action::Delete);
            } else {
                self.message = format!("{name} kept");
            }
            return true;
        }
        let selected = self.selected().map(|p| p.name.clone());
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.table.select_next(),
            KeyCode::Up | KeyCode::Char('k') => self.table.select_previous(),
            KeyCode::Char(c @ ('r' | 's' | 't' | 'd')) => {
                let Some(name) = selected else { return true };
                match c {
                    'r' => self.act(name, Action::Restart),
                    's' => self.act(name, Action::Stop),
                    't' => self.act(name, Action::Start),
                    _ => {
                        self.message = format!("delete {name}, its record and its logs? y to delete, any other key to keep it");
                        self.confirm_delete = Some(name);
                    }
                }
            }
            _ => {}
        }
        // A new selection shows its logs at once.
        self.read();
        true
    }

    /// Runs `action` on `name` on a thread; its outcome comes back as a message.
    fn act(&mut self, name: String, action: Action) {
        let Ok(parsed) = tpm_core::Name::parse(&name) else {
            return;
        };
        self.message = format!("{name}: {}...", action.doing());
        let (tpm, tx) = (self.tpm.clone(), self.done_tx.clone());
        std::thread::spawn(move || {
            let names = [parsed];
            let result = match action {
                Action::Stop => tpm.stop(&names).pop().map(|(_, r)| r),
                Action::Restart => tpm.restart(&names).pop().map(|(_, r)| r),
                Action::Delete => tpm.delete(&names).pop().map(|(_, r)| r),
                Action::Start => Some(tpm.start(&tpm_core::StartRequest::new(
                    name.clone(),
                    tpm_core::Options::new(),
                ))),
            };
            let outcome = match result {
                Some(Ok(info)) if matches!(action, Action::Delete) => {
                    format!("deleted (it was {})", info.status)
                }
                Some(Ok(info)) => info.status.to_string(),
                Some(Err(e)) => format!("{e}"),
                None => "nothing happened".into(),
            };
            let _ = tx.send((name, outcome));
        });
    }

    fn draw(&mut self, frame: &mut Frame) {
        // The table as tall as its rows (borders and header too), at most 60% of the screen.
        let rows_height = self.processes.len() as u16 + 3;
        let table_height = rows_height.min(frame.area().height * 3 / 5).max(4);
        let [top, table, logs, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(table_height),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let online = self
            .processes
            .iter()
            .filter(|p| p.status == Status::Online)
            .count();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    " tpm monit ",
                    Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
                ),
                Span::raw(format!(
                    "  {} processes, {online} online",
                    self.processes.len()
                )),
            ])),
            top,
        );
        let rows = self.processes.iter().map(|p| {
            let samples = self.history.get(&p.name);
            let cpu_line: Vec<f64> = samples
                .map(|s| s.iter().map(|(c, _)| *c).collect())
                .unwrap_or_default();
            let mem_line: Vec<f64> = samples
                .map(|s| s.iter().map(|(_, m)| *m as f64).collect())
                .unwrap_or_default();
            Row::new(vec![
                Span::raw(render::or_dash(p.id)),
                Span::raw(shown(&p.name).into_owned()),
                Span::styled(p.status.to_string(), status_style(p.status)),
                Span::raw(render::or_dash(p.pid)),
                Span::raw(render::or_dash(p.port)),
                Span::raw(p.cpu.map_or("-".into(), |c| format!("{c:5.1}%"))),
                Span::styled(
                    sparkline(&cpu_line, Some(100.0), 20),
                    Style::new().fg(Color::Cyan),
                ),
                Span::raw(p.mem.map_or("-".into(), render::mem)),
                Span::styled(
                    sparkline(&mem_line, None, 20),
                    Style::new().fg(Color::Magenta),
                ),
                Span::raw(p.restarts.to_string()),
                Span::raw(p.uptime.map_or("-".into(), render::uptime)),
            ])
        });
        let widths = [
            Constraint::Length(4),
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Length(7),
        ];
        let header = Row::new([
            "id",
            "name",
            "status",
            "pid",
            "port",
            "cpu",
            "last minute",
            "mem",
            "last minute",
            "restarts",
            "uptime",
        ])
        .style(Style::new().add_modifier(Modifier::BOLD));
        frame.render_stateful_widget(
            Table::new(rows, widths)
                .header(header)
                .block(Block::new().borders(Borders::ALL).title(" processes "))
                .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
            table,
            &mut self.table,
        );
        let title = match self.selected() {
            Some(p) => format!(" logs of {} ", shown(&p.name)),
            None => " logs ".into(),
        };
        let height = logs.height.saturating_sub(2) as usize;
        let skip = self.logs.len().saturating_sub(height);
        let lines: Vec<Line> = self.logs[skip..]
            .iter()
            .map(|l| {
                let style = match l.stream {
                    Stream::Err => Style::new().fg(Color::Red),
                    Stream::Out => Style::new(),
                };
                let time = l
                    .time
                    .map(|t| t.format("%H:%M:%S ").to_string())
                    .unwrap_or_default();
                Line::from(vec![
                    Span::styled(time, Style::new().fg(Color::DarkGray)),
                    Span::styled(shown(&l.line).into_owned(), style),
                ])
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title(title)),
            logs,
        );
        let keys = "↑↓ select · r restart · s stop · t start · d delete · q quit";
        let text = if self.message.is_empty() {
            keys.to_string()
        } else {
            format!("{}   ({keys})", shown(&self.message))
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::Yellow)),
            bottom,
        );
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Stop,
    Restart,
    Start,
    Delete,
}

impl Action {
    fn doing(self) -> &'static str {
        match self {
            Action::Stop => "stopping",
            Action::Restart => "restarting",
            Action::Start => "starting",
            Action::Delete => "deleting",
        }
    }
}

fn status_style(status: Status) -> Style {
    Style::new().fg(match status {
        Status::Online => Color::Green,
        Status::Errored => Color::Red,
        Status::Stopped => Color::DarkGray,
        _ => Color::Yellow,
    })
}

/// The last `width` samples as bars, scaled to `max` (or to the largest sample).
fn sparkline(samples: &[f64], max: Option<f64>, width: usize) -> String {
    let shown = &samples[samples.len().saturating_sub(width)..];
    let top = max
        .unwrap_or_else(|| shown.iter().cloned().fold(0.0, f64::max))
        .max(f64::EPSILON);
    shown
        .iter()
        .map(|v| {
            let i = ((v / top) * (BARS.len() - 1) as f64)
                .round()
                .clamp(0.0, (BARS.len() - 1) as f64);
            BARS[i as usize]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_and_keep_the_last_samples() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0], Some(100.0), 20), "▁▅█");
        assert_eq!(sparkline(&[1.0, 2.0, 4.0], None, 2), "▅█");
        assert_eq!(sparkline(&[], None, 5), "");
        assert_eq!(sparkline(&[0.0, 0.0], None, 5), "▁▁");
    }
}
