//! The results as a picture (issue 13): grouped bars of ns per element for each contender
//! and size in the push, extend, scan and random-read scenarios, as hand-written SVG text.
//!
//! One panel per scenario, each with its own linear scale (gridlines labelled in ns), its
//! value on every bar, and a legend. In the push and extend panels a bar is the whole way to
//! durable data (append + the one sync; vecdb: push + flush + fsync); its solid lower part is
//! the append phase alone and its pale upper part the rest. std `Vec` (RAM only) has the
//! append phase only.

use std::fmt::Write as _;

use crate::common::{fmt_bytes, fmt_count, names::*, Ctx, Report};
use crate::scan::names as scan;

/// One bar: its contender, its height, and the height of its solid lower part.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The contender.
    pub name: String,
    /// The whole bar (ns).
    pub value: f64,
    /// The solid lower part (ns), where the bar has two.
    pub lower: Option<f64>,
}

/// Bars of one size.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The size, as shown under the group.
    pub label: String,
    /// The bars, in legend order.
    pub bars: Vec<Bar>,
}

/// One scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The heading.
    pub title: String,
    /// The y axis label.
    pub unit: String,
    /// A line under the heading.
    pub note: String,
    /// The groups (sizes).
    pub groups: Vec<Group>,
}

/// Colours for contenders no rule of [`color`] names, by position.
const PALETTE: [&str; 6] = [
    "#bcbd22", "#e7ba52", "#637939", "#843c39", "#7b4173", "#3182bd",
];

/// A contender's colour, the same in every panel: MmapedVec blue, MmapedSlice teal, vecdb
/// orange, the memmap2 baselines red, std `Vec` grey.
pub fn color(name: &str, i: usize) -> &'static str {
    let rules: [(&str, &str); 14] = [
        ("(diagnosis)", "#e377c2"),
        ("MmapedVec, written by extend", "#08519c"),
        ("MmapedVec", "#1f77b4"),
        ("MmapedSlice, written by extend", "#0e8a96"),
        ("MmapedSlice", "#17becf"),
        ("vecdb BytesVec", "#ff7f0e"),
        ("vecdb ZeroCopyVec", "#fdae6b"),
        ("memmap2, plainly", "#d62728"),
        ("plain memmap2", "#d62728"),
        ("std Vec", "#7f7f7f"),
        ("Vec + File", "#98df8a"),
        ("BufWriter", "#2ca02c"),
        ("hand-rolled", "#9467bd"),
        ("memvec", "#8c564b"),
    ];
    rules
        .iter()
        .find(|(p, _)| name.starts_with(p))
        .map_or(PALETTE[i % PALETTE.len()], |(_, c)| c)
}

/// The panels this run has data for.
pub fn panels(ctx: &Ctx, r: &Report) -> Vec<Panel> {
    let mut out = Vec::new();
    for (label, num) in [("push", 1), ("extend", 2)] {
        let mut groups = Vec::new();
        for &n in &ctx.append_sizes {
            let (Some(phase), Some(total)) = (
                r.get(&format!("{label} {n}")),
                r.get(&format!("{label}+sync {n}")),
            ) else {
                continue;
            };
            let per = |s: f64| s / n as f64 * 1e9;
            let mut bars: Vec<Bar> = [
                VEC,
                VEC_WRITE,
                BUFW,
                HAND,
                MEMVEC,
                VDB_BYTES,
                VDB_ZERO,
                LIB,
                LIB_NO_EARLY,
            ]
            .iter()
            .map(|&c| {
                let p = per(phase.median_of(c));
                let t = per(total.median_of(total_row(c)));
                if t.is_finite() {
                    Bar {
                        name: legend_name(c).into(),
                        value: t,
                        lower: Some(p),
                    }
                } else {
                    Bar {
                        name: legend_name(c).into(),
                        value: p,
                        lower: None,
                    }
                }
            })
            .filter(|b| b.value.is_finite())
            .collect();
            // The floor of "append, then durable": the larger of the append phase alone and
            // one sequential write of the same bytes + fdatasync (issue 21).
            let write = total.median_of(VEC_WRITE) - phase.median_of(VEC);
            let floor = per(phase.median_of(LIB).max(write));
            if floor.is_finite() {
                bars.push(Bar {
                    name: "floor: max(append, write + fdatasync)".into(),
                    value: floor,
                    lower: None,
                });
            }
            groups.push(Group {
                label: format!("{} u64", fmt_count(n)),
                bars,
            });
        }
        if !groups.is_empty() {
            out.push(Panel {
                title: if num == 1 {
                    "S1 push n × u64, then make it durable".into()
                } else {
                    "S2 extend_from_slice (64 Ki chunks) n u64, then make it durable".into()
                },
                unit: "ns per element".into(),
                note: "solid: the append phase; pale: the rest until durable (sync; vecdb: \
                       flush + fsync). std Vec: RAM only."
                    .into(),
                groups,
            });
        }
    }
    let key = format!("scan {}", ctx.scan_elems);
    if let Some(t) = r.get(&key) {
        out.push(Panel {
            title: "S7 reopen and sum every element, page cache warm".into(),
            unit: "ns per element".into(),
            note: "minor page faults decide it: see the results file".into(),
            groups: vec![Group {
                label: format!(
                    "{} u64 ({})",
                    fmt_count(ctx.scan_elems),
                    fmt_bytes(8.0 * ctx.scan_elems as f64)
                ),
                bars: t
                    .rows
                    .iter()
                    .map(|row| Bar {
                        name: scan_legend(&row.name).into(),
                        value: row.time.median() / ctx.scan_elems as f64 * 1e9,
                        lower: None,
                    })
                    .collect(),
            }],
        });
    }
    if let Some(t) = r.get("random") {
        let big = ctx.file_sizes.last().copied().unwrap_or(0);
        out.push(Panel {
            title: format!("S6 {} random reads", fmt_count(ctx.random_reads)),
            unit: "ns per read".into(),
            note: "pages mapped beforehand".into(),
            groups: vec![Group {
                label: format!(
                    "in {} u64 ({})",
                    fmt_count(big),
                    fmt_bytes(8.0 * big as f64)
                ),
                bars: t
                    .rows
                    .iter()
                    .map(|row| Bar {
                        name: row.name.clone(),
                        value: row.time.median() / ctx.random_reads as f64 * 1e9,
                        lower: None,
                    })
                    .collect(),
            }],
        });
    }
    out
}

/// The row in the "+ one sync" table that belongs to append-phase row `c`.
fn total_row(c: &str) -> &str {
    match c {
        VDB_BYTES => VDB_BYTES_SYNC,
        VDB_ZERO => VDB_ZERO_SYNC,
        other => other,
    }
}

fn legend_name(c: &str) -> &str {
    match c {
        VEC => "std Vec<u64> (RAM only)",
        VDB_BYTES => "vecdb BytesVec (push, flush, fsync)",
        VDB_ZERO => "vecdb ZeroCopyVec (push, flush, fsync)",
        other => other,
    }
}

fn scan_legend(row: &str) -> &str {
    match row {
        scan::PLAIN => "memmap2, plainly written file",
        scan::LIB_PUSH => "MmapedVec, written by push",
        scan::LIB_EXTEND => "MmapedVec, written by extend_from_slice",
        scan::SLICE_PUSH => "MmapedSlice, written by push",
        scan::SLICE_EXTEND => "MmapedSlice, written by extend_from_slice",
        scan::MAP_LIB_PUSH => "(diagnosis) memmap2 of MmapedVec's push file",
        scan::VDB_BYTES => "vecdb BytesVec",
        scan::VDB_ZERO => "vecdb ZeroCopyVec",
        other => other,
    }
}

/// The smallest "nice" number (1, 2, 2.5 or 5 times a power of ten) at least `v`.
pub fn nice_ceil(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= v * (1.0 - 1e-12) {
            return m * p;
        }
    }
    10.0 * p
}

/// A value with 3 significant digits at most.
fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A gridline label: no trailing zeros (`0`, `0.5`, `2.5`, `40`).
fn tick(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.into()
    }
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const WIDTH: f64 = 1100.0;
const PANEL_H: f64 = 330.0;
const PLOT_L: f64 = 80.0;
const PLOT_R: f64 = 690.0;
const LEGEND_X: f64 = 710.0;

/// The chart as SVG text, with a heading line.
pub fn svg(heading: &str, panels: &[Panel]) -> String {
    let height = 60.0 + PANEL_H * panels.len() as f64;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(
        o,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        o,
        r#"<text x="20" y="30" font-size="17" font-weight="bold">{}</text>"#,
        esc(heading)
    );
    let _ = writeln!(
        o,
        r##"<text x="20" y="50" font-size="12" fill="#444">Medians of the run; lower is better. Each panel has its own scale.</text>"##
    );
    for (k, p) in panels.iter().enumerate() {
        panel(&mut o, p, 60.0 + PANEL_H * k as f64);
    }
    o.push_str("</svg>\n");
    o
}

fn panel(o: &mut String, p: &Panel, y0: f64) {
    let top = y0 + 62.0;
    let bottom = y0 + PANEL_H - 48.0;
    let h = bottom - top;
    let _ = writeln!(
        o,
        r#"<text x="20" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        y0 + 22.0,
        esc(&p.title)
    );
    let _ = writeln!(
        o,
        r##"<text x="20" y="{}" font-size="12" fill="#444">{}</text>"##,
        y0 + 40.0,
        esc(&p.note)
    );
    let max = p
        .groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.value))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let top_v = nice_ceil(max * 1.12);
    let y = |v: f64| bottom - v / top_v * h;
    // Gridlines and their labels.
    for i in 0..=5 {
        let v = top_v * i as f64 / 5.0;
        let _ = writeln!(
            o,
            r##"<line x1="{PLOT_L}" y1="{yy:.1}" x2="{PLOT_R}" y2="{yy:.1}" stroke="{}" stroke-width="1"/>"##,
            if i == 0 { "#000" } else { "#ddd" },
            yy = y(v)
        );
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"#,
            PLOT_L - 6.0,
            y(v) + 4.0,
            tick(v)
        );
    }
    let _ = writeln!(
        o,
        r#"<line x1="{PLOT_L}" y1="{top}" x2="{PLOT_L}" y2="{bottom}" stroke="black"/>"#
    );
    let _ = writeln!(
        o,
        r#"<text transform="translate({},{:.1}) rotate(-90)" font-size="12" text-anchor="middle">{}</text>"#,
        PLOT_L - 50.0,
        (top + bottom) / 2.0,
        esc(&p.unit)
    );
    // Bars.
    let groups = p.groups.len().max(1) as f64;
    let gw = (PLOT_R - PLOT_L) / groups;
    for (gi, g) in p.groups.iter().enumerate() {
        let n = g.bars.len().max(1) as f64;
        let inner = gw * 0.86;
        let bw = inner / n;
        let x0 = PLOT_L + gw * gi as f64 + (gw - inner) / 2.0;
        for (bi, b) in g.bars.iter().enumerate() {
            let color = color(&b.name, bi);
            let x = x0 + bw * bi as f64 + 1.0;
            let w = (bw - 2.0).max(1.0);
            let v = b.value.min(top_v);
            match b.lower {
                Some(l) if l.is_finite() && l < b.value => {
                    let l = l.min(top_v);
                    let _ = writeln!(
                        o,
                        r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}" fill-opacity="0.4"/>"#,
                        y(v),
                        y(l) - y(v)
                    );
                    let _ = writeln!(
                        o,
                        r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}"/>"#,
                        y(l),
                        bottom - y(l)
                    );
                }
                _ => {
                    let _ = writeln!(
                        o,
                        r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}"/>"#,
                        y(v),
                        bottom - y(v)
                    );
                }
            }
            let cx = x + w / 2.0;
            if w >= 26.0 {
                let _ = writeln!(
                    o,
                    r#"<text x="{cx:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                    y(v) - 3.0,
                    num(b.value)
                );
            } else {
                let _ = writeln!(
                    o,
                    r#"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="10">{}</text>"#,
                    cx + 3.5,
                    y(v) - 3.0,
                    num(b.value)
                );
            }
        }
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            PLOT_L + gw * (gi as f64 + 0.5),
            bottom + 18.0,
            esc(&g.label)
        );
    }
    // Legend: the bars of the first group name them all.
    if let Some(g) = p.groups.first() {
        for (bi, b) in g.bars.iter().enumerate() {
            let ly = top - 8.0 + 18.0 * bi as f64;
            let _ = writeln!(
                o,
                r#"<rect x="{LEGEND_X}" y="{ly:.1}" width="12" height="12" fill="{}"/>"#,
                color(&b.name, bi)
            );
            let _ = writeln!(
                o,
                r#"<text x="{}" y="{:.1}" font-size="11.5">{}</text>"#,
                LEGEND_X + 18.0,
                ly + 10.5,
                esc(&b.name)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_contender_not_the_position() {
        assert_eq!(
            color("MmapedVec<u64>", 0),
            color("MmapedVec, written by push", 5)
        );
        assert_ne!(
            color("MmapedVec, written by push", 0),
            color("MmapedVec, written by extend_from_slice", 0)
        );
        assert_eq!(
            color("vecdb BytesVec reader().get_at", 1),
            color("vecdb BytesVec", 7)
        );
        assert_eq!(color("unknown", 0), PALETTE[0]);
    }

    #[test]
    fn nice_scale() {
        assert_eq!(nice_ceil(0.87), 1.0);
        assert_eq!(nice_ceil(1.3), 2.0);
        assert_eq!(nice_ceil(2.2), 2.5);
        assert_eq!(nice_ceil(3.0), 5.0);
        assert_eq!(nice_ceil(13.0), 20.0);
        assert_eq!(nice_ceil(0.0), 1.0);
        assert_eq!(nice_ceil(f64::NAN), 1.0);
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(40.0), "40");
        assert_eq!(tick(0.25), "0.25");
    }

    #[test]
    fn svg_has_bars_values_legend_and_axes() {
        let p = Panel {
            title: "S1 push <n>".into(),
            unit: "ns per element".into(),
            note: "note".into(),
            groups: vec![
                Group {
                    label: "10 M u64".into(),
                    bars: vec![
                        Bar {
                            name: "std Vec & co".into(),
                            value: 4.5,
                            lower: None,
                        },
                        Bar {
                            name: "MmapedVec<u64>".into(),
                            value: 8.0,
                            lower: Some(2.5),
                        },
                    ],
                },
                Group {
                    label: "100 M u64".into(),
                    bars: vec![],
                },
            ],
        };
        let s = svg("heading", &[p]);
        assert!(s.starts_with("<svg "), "{s}");
        assert!(s.trim_end().ends_with("</svg>"));
        assert!(s.contains("S1 push &lt;n&gt;"), "text is escaped");
        assert!(s.contains("std Vec &amp; co"));
        assert!(s.contains("MmapedVec&lt;u64&gt;"), "legend entry");
        assert!(s.contains(">8.00<"), "value on the bar");
        assert!(s.contains(">4.50<"));
        assert!(s.contains("fill-opacity=\"0.4\""), "stacked upper part");
        assert!(s.contains(">ns per element<"), "y axis label");
        assert!(
            s.contains(">10 M u64<") && s.contains(">100 M u64<"),
            "group labels"
        );
        // Scale: max 8.0 * 1.12 -> 10, gridline labels 0 .. 10.
        assert!(
            s.contains(">10<") && s.contains(">0<") && s.contains(">2<"),
            "{s}"
        );
        // Every element opened is closed (no stray tags).
        assert_eq!(s.matches("<text").count(), s.matches("</text>").count());
    }
}
