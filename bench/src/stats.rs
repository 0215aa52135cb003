//! Samples, their median and range, the round-robin driver, and the Markdown tables.

use std::fmt::Write as _;

/// Measured values of one contender in one scenario (seconds, or a count).
#[derive(Clone, Debug, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// Adds one measurement.
    pub fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median (mean of the middle two for an even count); NaN when empty.
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// The smallest value; NaN when empty.
    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    /// The largest value; NaN when empty.
    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Calls `run(contender, round)` for every contender in every round, starting each round
/// with the next contender (round-robin), so that no contender always runs first or
/// always follows the same neighbour, and slow drifts of the shared machine hit all alike.
pub fn round_robin(rounds: usize, contenders: usize, mut run: impl FnMut(usize, usize)) {
    for round in 0..rounds {
        for k in 0..contenders {
            run((round + k) % contenders, round);
        }
    }
}

/// A duration in seconds, with a unit that keeps 3 significant digits.
pub fn fmt_time(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// A ratio as `0.93×`.
pub fn fmt_ratio(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}×")
    } else {
        "-".into()
    }
}

/// One row of a scenario table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Who ran.
    pub name: String,
    /// Seconds per sample.
    pub time: Samples,
    /// Minor page faults per sample, where counted.
    pub faults: Option<Samples>,
    /// CPU seconds (user + system) per sample, where measured: on a shared machine a
    /// steadier figure than the wall time for work that does no I/O.
    pub cpu: Option<Samples>,
}

impl Row {
    /// A row with no samples yet.
    pub fn new(name: impl Into<String>) -> Row {
        Row {
            name: name.into(),
            time: Samples::default(),
            faults: None,
            cpu: None,
        }
    }

    /// Adds one CPU time, in seconds.
    pub fn push_cpu(&mut self, s: f64) {
        self.cpu.get_or_insert_with(Samples::default).push(s);
    }

    /// Adds one fault count.
    pub fn push_faults(&mut self, n: u64) {
        self.faults
            .get_or_insert_with(Samples::default)
            .push(n as f64);
    }
}

/// A scenario table: rows, the row every ratio is taken against, further reference rows (a
/// floor, MmapedVec where a peer is compared with it), and optionally a per-item divisor
/// (elements per sample).
#[derive(Clone, Debug)]
pub struct Table {
    /// The heading.
    pub title: String,
    /// The rows, in the order they are printed.
    pub rows: Vec<Row>,
    /// Index of the baseline row.
    pub baseline: usize,
    /// Further reference rows, each with its column label ("vs <label>").
    pub refs: Vec<(usize, &'static str)>,
    /// Items per sample and their name, for a "per item" column.
    pub per: Option<(f64, &'static str)>,
}

impl Table {
    /// The median of the row named `name`.
    pub fn median_of(&self, name: &str) -> f64 {
        self.rows
            .iter()
            .find(|r| r.name == name)
            .map_or(f64::NAN, |r| r.time.median())
    }

    /// The table as Markdown, one line per row.
    pub fn render(&self) -> String {
        let base = self.rows[self.baseline].time.median();
        let refs: Vec<(f64, &str)> = self
            .refs
            .iter()
            .map(|&(i, label)| (self.rows[i].time.median(), label))
            .collect();
        let any_faults = self.rows.iter().any(|r| r.faults.is_some());
        let any_cpu = self.rows.iter().any(|r| r.cpu.is_some());
        let cpu_base = self.rows[self.baseline]
            .cpu
            .as_ref()
            .map_or(f64::NAN, Samples::median);
        let mut head = vec!["contender".to_string(), "median".into(), "min – max".into()];
        if let Some((_, what)) = self.per {
            head.push(format!("per {what}"));
        }
        if any_faults {
            head.push("minor faults".into());
        }
        if any_cpu {
            head.push("CPU (user + sys)".into());
            head.push("CPU vs baseline".into());
        }
        head.push(format!("vs {}", self.rows[self.baseline].name));
        for (_, label) in &refs {
            head.push(format!("vs {label}"));
        }
        let mut lines = vec![head];
        for r in &self.rows {
            let m = r.time.median();
            let mut cells = vec![
                r.name.clone(),
                fmt_time(m),
                format!("{} – {}", fmt_time(r.time.min()), fmt_time(r.time.max())),
            ];
            if let Some((n, _)) = self.per {
                cells.push(fmt_time(m / n));
            }
            if any_faults {
                cells.push(
                    r.faults
                        .as_ref()
                        .map_or("-".into(), |f| format!("{:.0}", f.median())),
                );
            }
            if any_cpu {
                let c = r.cpu.as_ref().map_or(f64::NAN, Samples::median);
                cells.push(fmt_time(c));
                cells.push(fmt_ratio(c / cpu_base));
            }
            cells.push(fmt_ratio(m / base));
            for (f, _) in &refs {
                cells.push(fmt_ratio(m / f));
            }
            lines.push(cells);
        }
        let n = self.rows.first().map_or(0, |r| r.time.len());
        let mut out = format!("\n### {} ({n} samples each)\n\n", self.title);
        out.push_str(&markdown(&lines));
        out
    }
}

/// Renders rows of cells (the first is the header) as an aligned Markdown table.
pub fn markdown(lines: &[Vec<String>]) -> String {
    let cols = lines.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![3usize; cols];
    for l in lines {
        for (i, c) in l.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (k, l) in lines.iter().enumerate() {
        out.push('|');
        for (i, w) in width.iter().enumerate() {
            let c = l.get(i).map_or("", String::as_str);
            let pad = w - c.chars().count();
            let _ = write!(out, " {c}{} |", " ".repeat(pad));
        }
        out.push('\n');
        if k == 0 {
            out.push('|');
            for w in &width {
                let _ = write!(out, "{}|", "-".repeat(w + 2));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[f64]) -> Samples {
        Samples(v.to_vec())
    }

    #[test]
    fn median_min_max() {
        assert_eq!(s(&[3.0, 1.0, 2.0]).median(), 2.0);
        assert_eq!(s(&[4.0, 1.0, 3.0, 2.0]).median(), 2.5);
        assert_eq!(s(&[5.0, 1.0, 9.0]).min(), 1.0);
        assert_eq!(s(&[5.0, 1.0, 9.0]).max(), 9.0);
        assert!(s(&[]).median().is_nan());
    }

    #[test]
    fn round_robin_rotates_the_first_contender() {
        let mut order = Vec::new();
        round_robin(3, 3, |c, r| order.push((r, c)));
        assert_eq!(
            order,
            [
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 1),
                (1, 2),
                (1, 0),
                (2, 2),
                (2, 0),
                (2, 1)
            ]
        );
    }

    #[test]
    fn time_units() {
        assert_eq!(fmt_time(1.5), "1.50 s");
        assert_eq!(fmt_time(0.0123), "12.3 ms");
        assert_eq!(fmt_time(230e-6), "230 µs");
        assert_eq!(fmt_time(4.2e-9), "4.20 ns");
        assert_eq!(fmt_time(f64::NAN), "-");
    }

    #[test]
    fn table_ratios_against_baseline_and_floor() {
        let mut a = Row::new("base");
        a.time = s(&[2.0, 2.0, 2.0]);
        let mut b = Row::new("lib");
        b.time = s(&[1.0, 1.0, 3.0]);
        let mut f = Row::new("floor");
        f.time = s(&[0.5, 0.5, 0.5]);
        let t = Table {
            title: "t".into(),
            rows: vec![a, b, f],
            baseline: 0,
            refs: vec![(2, "floor")],
            per: Some((100.0, "element")),
        };
        assert_eq!(t.median_of("lib") / t.median_of("base"), 0.5);
        let out = t.render();
        assert!(out.contains("| lib "), "{out}");
        assert!(out.contains("0.50×"), "{out}");
        assert!(out.contains("2.00×"), "lib vs floor is 1.0/0.5: {out}");
        assert!(out.contains("10.0 ms"), "per element 1 s / 100: {out}");
    }

    #[test]
    fn markdown_aligns_columns() {
        let t = markdown(&[
            vec!["a".into(), "bb".into()],
            vec!["ccc".into(), "d".into()],
        ]);
        assert_eq!(t, "| a   | bb  |\n|-----|-----|\n| ccc | d   |\n");
    }
}
