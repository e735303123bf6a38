//! Line charts of training curves as SVG: one panel per quantity, one polyline per series.
//!
//! SVG is plain text, opens in any browser, and needs no plotting dependency; the charts are
//! deliberately simple (axes, end values, series names), enough to see whether a curve rises,
//! falls or oscillates.

use std::fmt::Write as _;
use std::path::Path;

use crate::files::write_bytes_atomically;

/// Panel size in SVG units.
const PANEL_WIDTH: f64 = 360.0;
const PANEL_HEIGHT: f64 = 260.0;
/// Margins around each panel's plotting area: left, right, top, bottom.
const MARGIN: (f64, f64, f64, f64) = (60.0, 15.0, 30.0, 40.0);
/// Colours of successive series.
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// One curve: `(x, y)` points in order; non-finite points are skipped (they break the line).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the panel's legend.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// One chart: a title, an x-axis label, and its curves.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Shown above the chart.
    pub title: String,
    /// Shown under the x axis.
    pub x_label: String,
    /// The curves, drawn in the order given.
    pub series: Vec<Series>,
}

/// Errors of [`save_panels_svg`].
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// There is nothing to draw.
    #[error("nothing to plot: {0}")]
    Empty(String),
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] rbm_burn::RbmError),
}

/// Renders `panels` side by side as one SVG document.
///
/// # Errors
/// [`PlotError::Empty`] when there are no panels or a panel has no finite point.
pub fn panels_svg(panels: &[Panel]) -> Result<String, PlotError> {
    if panels.is_empty() {
        return Err(PlotError::Empty("no panels".into()));
    }
    let width = PANEL_WIDTH * panels.len() as f64;
    let mut svg = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{PANEL_HEIGHT}" viewBox="0 0 {width} {PANEL_HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="{width}" height="{PANEL_HEIGHT}" fill="white"/>"#
    );
    for (index, panel) in panels.iter().enumerate() {
        draw_panel(&mut svg, panel, index as f64 * PANEL_WIDTH)?;
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// Writes [`panels_svg`] to `path` atomically.
///
/// # Errors
/// As [`panels_svg`], and [`PlotError::Write`].
pub fn save_panels_svg(path: &Path, panels: &[Panel]) -> Result<(), PlotError> {
    let svg = panels_svg(panels)?;
    Ok(write_bytes_atomically(path, svg.as_bytes())?)
}

fn draw_panel(svg: &mut String, panel: &Panel, x0: f64) -> Result<(), PlotError> {
    let finite = |&&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite();
    let points = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter(finite))
    };
    let bounds = points().fold(None, |acc: Option<(f64, f64, f64, f64)>, &(x, y)| {
        Some(match acc {
            None => (x, x, y, y),
            Some((x_lo, x_hi, y_lo, y_hi)) => (x_lo.min(x), x_hi.max(x), y_lo.min(y), y_hi.max(y)),
        })
    });
    let Some((x_lo, x_hi, y_lo, y_hi)) = bounds else {
        return Err(PlotError::Empty(format!(
            "panel `{}` has no finite point",
            panel.title
        )));
    };
    // A flat range is widened so that the line sits in the middle.
    let (x_lo, x_hi) = if x_hi > x_lo {
        (x_lo, x_hi)
    } else {
        (x_lo - 0.5, x_hi + 0.5)
    };
    let (y_lo, y_hi) = if y_hi > y_lo {
        (y_lo, y_hi)
    } else {
        (y_lo - 0.5, y_hi + 0.5)
    };
    let (left, right, top, bottom) = MARGIN;
    let (plot_x0, plot_x1) = (x0 + left, x0 + PANEL_WIDTH - right);
    let (plot_y0, plot_y1) = (top, PANEL_HEIGHT - bottom);
    let sx = |x: f64| plot_x0 + (x - x_lo) / (x_hi - x_lo) * (plot_x1 - plot_x0);
    let sy = |y: f64| plot_y1 - (y - y_lo) / (y_hi - y_lo) * (plot_y1 - plot_y0);

    let title = escape(&panel.title);
    let x_label = escape(&panel.x_label);
    let mid = x0 + PANEL_WIDTH / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="{mid}" y="18" text-anchor="middle" font-size="13">{title}</text>"#
    );
    let _ = writeln!(
        svg,
        r#"<rect x="{plot_x0}" y="{plot_y0}" width="{}" height="{}" fill="none" stroke="black"/>"#,
        plot_x1 - plot_x0,
        plot_y1 - plot_y0
    );
    for (value, y) in [(y_hi, plot_y0 + 4.0), (y_lo, plot_y1)] {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{y}" text-anchor="end">{}</text>"#,
            plot_x0 - 4.0,
            number(value)
        );
    }
    for (value, x, anchor) in [(x_lo, plot_x0, "start"), (x_hi, plot_x1, "end")] {
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{}" text-anchor="{anchor}">{}</text>"#,
            plot_y1 + 14.0,
            number(value)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{x_label}</text>"#,
        (plot_x0 + plot_x1) / 2.0,
        plot_y1 + 30.0
    );
    for (k, series) in panel.series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        // Non-finite points split the curve into separate polylines.
        for run in series.points.split(|p| !finite(&p)) {
            if run.is_empty() {
                continue;
            }
            let coordinates: Vec<String> = run
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                coordinates.join(" ")
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{colour}">{}</text>"#,
            plot_x0 + 6.0,
            plot_y0 + 14.0 + 13.0 * k as f64,
            escape(&series.name)
        );
    }
    Ok(())
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e6 {
        format!("{value:.0}")
    } else if value != 0.0 && (value.abs() >= 1e4 || value.abs() < 1e-2) {
        format!("{value:.2e}")
    } else {
        format!("{value:.3}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
        svg.lines()
            .filter_map(|line| line.split("points=\"").nth(1))
            .map(|rest| {
                rest.split('"')
                    .next()
                    .unwrap()
                    .split(' ')
                    .map(|pair| {
                        let (x, y) = pair.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn curves_map_into_their_panels() {
        let panel = |title: &str, points| Panel {
            title: title.into(),
            x_label: "epoch".into(),
            series: vec![Series {
                name: "train <&>".into(),
                points,
            }],
        };
        let svg = panels_svg(&[
            panel("falling", vec![(1.0, 4.0), (2.0, 2.0), (3.0, 1.0)]),
            panel(
                "gap",
                vec![(1.0, 0.0), (2.0, f64::NAN), (3.0, 1.0), (4.0, 2.0)],
            ),
        ])
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("train &lt;&amp;&gt;"));
        // Whole numbers (epochs) are printed without decimals.
        assert!(svg.contains(">3</text>") && !svg.contains("3.000"));
        let lines = polylines(&svg);
        // The NaN splits the second curve in two.
        assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [3, 1, 2]);
        let (left, right, top, bottom) = MARGIN;
        // First panel: x from 1 to 3 spans the plotting area; y = 4 is the top, 1 the bottom.
        assert_eq!(lines[0][0], (left, top));
        assert_eq!(lines[0][2], (PANEL_WIDTH - right, PANEL_HEIGHT - bottom));
        // A falling curve goes down the page (SVG y grows downwards).
        assert!(lines[0][1].1 > lines[0][0].1);
        // Second panel is offset by one panel width.
        assert!(lines[1][0].0 >= PANEL_WIDTH + left);
        assert!(lines[2].iter().all(|&(x, _)| x <= 2.0 * PANEL_WIDTH));
    }

    #[test]
    fn nothing_to_plot_is_an_error() {
        assert!(matches!(panels_svg(&[]), Err(PlotError::Empty(_))));
        let nan = Panel {
            title: "t".into(),
            x_label: "x".into(),
            series: vec![Series {
                name: "s".into(),
                points: vec![(f64::NAN, 1.0)],
            }],
        };
        assert!(matches!(panels_svg(&[nan]), Err(PlotError::Empty(_))));
    }
}
